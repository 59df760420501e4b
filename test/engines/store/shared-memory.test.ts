/**
 * The same-host object store with a real cluster: arrays of 256 KiB or more go to engines on this
 * host as shared memory, come back the same way, and the memory goes when its last holder does,
 * whoever that is and however it ends.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { after, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type Client, StoreError } from "../../../engines/index.js";
import * as nd from "../../../ndarray/index.js";
import { nativeBackendMissing } from "../../helpers/system-needs.js";
import { startTestCluster, stopTestClusters, until, useTempClusterDir } from "../cluster-fixture.js";

after(() => stopTestClusters());

const MiB = 1 << 20;
/** The store needs the native addon; its tests skip (as system-package tests) without it. */
const noAddon = (() => {
  const why = nativeBackendMissing();
  return why && /addon is not built/.test(why) ? why : undefined;
})();

let rc: Client;
const cluster = async () => {
  rc ??= (await startTestCluster({ n: 2 })).client!;
  return rc;
};

/** Blocks of the client's store in use (0 once everything it placed was let go). */
const blocks = () => rc.storeInfo()?.blocks ?? -1;

test("a push to every engine places the array once; what one engine writes stays its own", {
  skip: noAddon,
}, async () => {
  await cluster();
  const a = new Float64Array(MiB).map((_, i) => i); // 8 MiB
  await rc.view().push({ a });
  assert.equal(blocks(), 1, "one block for both engines");
  assert.ok(rc.storeInfo()!.used >= 8 * MiB);
  assert.deepEqual(await rc.view().apply(() => [a.length, a[12_345]]), [
    [MiB, 12_345],
    [MiB, 12_345],
  ]);
  await rc.at(0).apply(() => {
    a[0] = -1;
  });
  assert.deepEqual(await rc.view().apply(() => a[0]), [-1, 0], "engine 1 still sees what was pushed");
  a[1] = 99;
  assert.deepEqual(
    await rc.view().apply(() => a[1]),
    [1, 1],
    "the client's array after the push is not sent",
  );
});

test("engines give blocks back once they drop what they were sent", { skip: noAddon }, async () => {
  await cluster();
  await rc.view().execute("a = undefined");
  assert.ok(await until(() => blocks() === 0, 10_000), `still ${blocks()} blocks in use`);
});

test("engines map pushed blocks without V8 counting them, so large pushes make no engine collect mid-task", {
  skip: noAddon,
}, async () => {
  await cluster();
  // V8 runs a full collection, flagged as for external memory, each time the external memory it
  // counts grows by 64 MiB: before, every push of 64 MiB made every engine collect while decoding.
  await rc.view().apply(() => {
    const { PerformanceObserver, constants } = require("node:perf_hooks");
    const seen = { pressure: 0 };
    (globalThis as unknown as { seen: typeof seen }).seen = seen;
    new PerformanceObserver((list: { getEntries(): { detail?: { kind?: number; flags?: number } }[] }) => {
      for (const { detail } of list.getEntries())
        if (
          detail &&
          detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR &&
          (detail.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_ALL_EXTERNAL_MEMORY
        )
          seen.pressure++;
    }).observe({ entryTypes: ["gc"] });
  });
  const external = () =>
    rc
      .view()
      .apply(() => require("node:v8").getHeapStatistics().external_memory as number) as unknown as Promise<
      number[]
    >;
  const before = await external();
  const big = new Float64Array(8 * MiB); // 64 MiB
  for (let round = 0; round < 5; round++) {
    big[0] = round;
    await rc.view().push({ big });
  }
  const grown = (await external()).map((bytes, i) => bytes - before[i]!);
  assert.ok(
    grown.every((b) => b < 16 * MiB),
    `engines' external memory grew by ${grown.map((b) => (b / MiB).toFixed(0))} MiB`,
  );
  assert.deepEqual(
    await rc
      .view()
      .apply(() => [big[0], (globalThis as unknown as { seen: { pressure: number } }).seen.pressure]),
    [
      [4, 0],
      [4, 0],
    ],
  );
  // The engines still give the blocks back: after every 256 MiB they map, and when quiet.
  assert.ok(await until(() => blocks() === 1, 10_000), `still ${blocks()} blocks in use`);
  await rc.view().execute("big = undefined");
  assert.ok(await until(() => blocks() === 0, 10_000), `still ${blocks()} blocks in use`);
});

test("the client's store and the gathers it joins are not counted by V8, so large gathers make it collect only when the store needs memory", {
  skip: noAddon,
}, async () => {
  await cluster();
  const x = new Float64Array(8 * MiB); // 64 MiB, 32 for each engine (V8 counts this one)
  x[x.length - 1] = 7;
  await rc.view().scatter("part", x);
  const { getHeapStatistics } = await import("node:v8");
  const { PerformanceObserver, constants } = await import("node:perf_hooks");
  let pressure = 0;
  const watch = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const detail = (e as unknown as { detail?: { kind?: number; flags?: number } }).detail;
      if (
        detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR &&
        (detail.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_ALL_EXTERNAL_MEMORY
      )
        pressure++;
    }
  });
  watch.observe({ entryTypes: ["gc"] });
  // Gathered in a function of its own: a suspended async frame may keep its last locals alive.
  const gatherLast = async () => {
    const g = (await rc.view().gather("part")) as Float64Array;
    return g[g.length - 1];
  };
  try {
    const before = getHeapStatistics().external_memory;
    const lasts: unknown[] = [];
    for (let round = 0; round < 5; round++) lasts.push(await gatherLast());
    const grown = getHeapStatistics().external_memory - before;
    await new Promise((r) => setTimeout(r, 50)); // gc entries are delivered asynchronously
    assert.deepEqual(lasts, [7, 7, 7, 7, 7]);
    // Before: each 64 MiB mapped here counted, and V8 collected on its own every 64 MiB.
    assert.ok(grown < 16 * MiB, `the client's external memory grew by ${(grown / MiB).toFixed(0)} MiB`);
    assert.equal(pressure, 0, "no collection for external memory in the client");
    // The store still reuses its memory: it collects before taking fresh memory.
    assert.ok((rc.storeInfo()?.bytes ?? 0) <= 640 * MiB, `store at ${rc.storeInfo()?.bytes} bytes`);
  } finally {
    watch.disconnect();
    await rc.view().execute("part = undefined");
    setFlagsFromString("--expose-gc");
    (runInNewContext("gc") as () => void)();
    assert.ok(await until(() => blocks() === 0, 10_000), `still ${blocks()} blocks in use`);
  }
});

test("put places an array once for many tasks, and engines get it copy-on-write", {
  skip: noAddon,
}, async () => {
  await cluster();
  const m = nd
    .arange(MiB / 4)
    .reshape([512, 512])
    .astype("float64");
  const h = await rc.view().put(m);
  assert.match(String(h), /StoreHandle\(2097152 bytes/);
  assert.deepEqual(h.value.shape, [512, 512]);
  const lb = rc.loadBalancedView();
  const sums = await Promise.all(Array.from({ length: 6 }, () => lb.apply((x: nd.NDArray) => x.sum(), h)));
  assert.deepEqual(sums, Array(6).fill(m.sum()));
  assert.equal(blocks(), 1, "six tasks, one block");
  await lb.apply((x: nd.NDArray) => x.set([0, 0], -5), h);
  assert.equal(
    await lb.apply((x: nd.NDArray) => x.get(0, 0), h),
    0,
    "a task's writes stay in its own mapping",
  );
});

test("nd.shared: engines write into the notebook's array in place", { skip: noAddon }, async () => {
  await cluster();
  const C = nd.shared([2, 3]);
  assert.equal(C.sum(), 0);
  await rc.view().scatter("rank", rc.ids, { flatten: true });
  await rc.view().apply((c: nd.NDArray) => {
    const r = (globalThis as unknown as { rank: number }).rank;
    c.set([r, 0], 10 + r);
    c.set([r, 2], 20 + r);
  }, C);
  assert.ok(
    nd.arrayEqual(
      C,
      nd.array(
        [
          [10, 0, 20],
          [11, 0, 21],
        ],
        { dtype: "float64" },
      ),
    ),
    C.toString(),
  );
});

test("pull and gather come back through the stores, a known-size gather into one block", {
  skip: noAddon,
}, async () => {
  await cluster();
  const x = new Float64Array(4 * MiB).map((_, i) => i % 977); // 32 MiB
  await rc.view().scatter("x", x);
  const first = await rc.at(1).pull("x");
  assert.equal((first as Float64Array)[5], x[2 * MiB + 5]);
  for (let round = 0; round < 2; round++) {
    const back = (await rc.view().gather("x")) as Float64Array;
    assert.equal(back.length, x.length);
    assert.equal(back[3 * MiB + 17], x[3 * MiB + 17]);
    assert.equal(back.buffer.byteLength, x.byteLength, "the result is one block, not a copy of parts");
  }
  const g = nd.random.defaultRng(1).random([1024, 256]);
  await rc.view().scatter("g", g);
  const joined = (await rc.view().gather("g")) as nd.NDArray;
  assert.ok(nd.arrayEqual(joined, g));
});

test("an engine that dies lets go of every block it held", { skip: noAddon }, async () => {
  useTempClusterDir();
  const own = (await startTestCluster({ n: 2 })).client!;
  const inUse = () => own.storeInfo()?.blocks ?? -1;
  await own.view().push({ shared: new Float64Array(MiB) });
  await own.at(-1).push({ held: new Float64Array(MiB) });
  assert.equal(inUse(), 2);
  await own.signal(own.ids.at(-1)!, "SIGKILL");
  assert.ok(
    await until(() => inUse() === 1, 10_000),
    `${inUse()} blocks in use: the killed engine's is not free`,
  );
  assert.equal(
    await own.at(0).apply(() => (globalThis as unknown as { shared: Float64Array }).shared.length),
    MiB,
  );
});

test("put is refused with STORE_FULL when the store has no room; pushes then take a socket", {
  skip: noAddon,
}, async () => {
  useTempClusterDir();
  const small = (await startTestCluster({ n: 1, storeBytes: 4 * MiB })).client!;
  await assert.rejects(small.put(new Float64Array(MiB)), (e: unknown) => {
    assert.ok(e instanceof StoreError && e.code === "STORE_FULL", String(e));
    assert.match((e as Error).message, /TSPARALLEL_STORE_BYTES/);
    return true;
  });
  await small.at(0).push({ big: new Float64Array(MiB).fill(3) });
  assert.equal(
    await small.at(0).apply(() => (globalThis as unknown as { big: Float64Array }).big[1048575]),
    3,
  );
});

test("without a store, arrays travel over sockets as before and put says why not", async () => {
  useTempClusterDir();
  const plain = (await startTestCluster({ n: 2, store: false })).client!;
  assert.equal(plain.storeInfo(), undefined);
  const x = new Float64Array(MiB).map((_, i) => i);
  await plain.view().scatter("x", x);
  assert.equal(((await plain.view().gather("x")) as Float64Array)[MiB - 1], MiB - 1);
  await assert.rejects(plain.put(x), { code: "STORE_UNAVAILABLE" });
});

/** Processes whose memory maps a store segment. */
function storeMappers(): number[] {
  const out: number[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/maps`, "utf8").includes("memfd:tsparallel-store")) out.push(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

test("SIGKILL of the client, the controller and every engine leaves no shared memory behind", {
  skip: noAddon,
}, async () => {
  const shmBefore = new Set(readdirSync("/dev/shm"));
  const mappersBefore = new Set(storeMappers());
  const script = `
    const { Cluster } = await import(${JSON.stringify(new URL("../../../engines/index.js", import.meta.url).href)});
    const rc = await Cluster.start({ n: 2 });
    await rc.view().push({ a: new Float64Array(${2 * MiB}) });
    const h = await rc.put(new Float64Array(${MiB}));
    const ids = [...rc.engines.values()].map((e) => e.pid);
    process.stdout.write(JSON.stringify({ client: process.pid, engines: ids }) + "\\n");
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, TSPARALLEL_DIR: useTempClusterDir().dir },
  });
  const line = await new Promise<string>((resolve, reject) => {
    let text = "";
    child.stdout.on("data", (d: Buffer) => {
      text += d.toString();
      if (text.includes("\n")) resolve(text.split("\n")[0]!);
    });
    child.on("exit", (code) => reject(new Error(`the client exited with ${code}`)));
  });
  const { client, engines } = JSON.parse(line) as { client: number; engines: number[] };
  const controller = Number(
    JSON.parse(
      readFileSync(
        `${process.env.TSPARALLEL_DIR}/clusters/${readdirSync(`${process.env.TSPARALLEL_DIR}/clusters`)[0]}`,
        "utf8",
      ),
    ).controller_pid,
  );
  const involved = [client, controller, ...engines];
  assert.ok(
    storeMappers().some((p) => involved.includes(p)),
    "the store is in use before the kill",
  );
  for (const pid of involved) process.kill(pid, "SIGKILL");
  assert.ok(
    await until(() => !storeMappers().some((p) => !mappersBefore.has(p)), 10_000),
    `processes still map a store segment: ${storeMappers()}`,
  );
  const left = readdirSync("/dev/shm").filter((f) => !shmBefore.has(f));
  assert.deepEqual(left, [], "nothing new in /dev/shm");
});
