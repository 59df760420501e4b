import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { tableFromArrays } from "apache-arrow";
import {
  type Client,
  ClusterError,
  CompositeError,
  RemoteError,
  SerializationError,
  TaskTimeout,
} from "../../../engines/index.js";
import { startTestCluster, stopTestClusters } from "../cluster-fixture.js";

declare const a: number;
declare const rank: number;
declare const helper: (x: number) => number;

// A program may give engine names types itself, as the kernel does for the names a notebook sends.
declare module "../../../engines/index.js" {
  interface RemoteNames {
    mergedCount: number;
  }
}

/** True only when A and B are the same type (checked when the tests compile). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

let rc: Client;
before(async () => {
  rc = (await startTestCluster({ n: 2 })).client!;
});
after(stopTestClusters);

test("apply runs on every engine, in separate processes", async () => {
  const pids = await rc.view().apply(() => process.pid);
  assert.equal(pids.length, 2);
  assert.notEqual(pids[0], pids[1]);
  assert.notEqual(pids[0], process.pid);
  assert.equal(typeof (await rc.at(0).apply((x: number, y: number) => x + y, 2, 3)), "number");
});

test("execute defines globals that later functions see: the namespace persists", async () => {
  const all = rc.view();
  await all.execute("var a = 10; function helper(x) { return x * a; }");
  assert.deepEqual(await all.apply((x: number) => helper(x) + 1, 2), [21, 21]);
  await all.execute("let counter = 0;");
  await all.execute("counter += 5;");
  assert.deepEqual(await all.pull("counter"), [5, 5]);
});

test("execute returns the last value when not silent", async () => {
  const ar = rc.at(1).execute("6 * 7", { silent: false });
  await ar;
  assert.equal(ar.outputs[0]![0]!.type, "execute_result");
  assert.equal(ar.outputs[0]![0]!.data["text/plain"], "42");
});

test("push/pull and set/get move values, typed arrays included", async () => {
  const all = rc.view();
  await all.push({ a: 3, cfg: { k: [1, 2] } });
  assert.deepEqual(await all.pull(["a", "cfg"]), [
    [3, { k: [1, 2] }],
    [3, { k: [1, 2] }],
  ]);
  const big = new Float64Array(200_000).map((_, i) => i);
  await rc.at(0).set("big", big);
  const back = await rc.at(0).get<Float64Array>("big");
  assert.ok(back instanceof Float64Array);
  assert.deepEqual(back, big);
  await assert.rejects(
    async () => await rc.at(0).get("neverDefined"),
    (e: unknown) =>
      e instanceof RemoteError && e.ename === "NameError" && /push it or define it/.test(e.message),
  );
});

test("pull, get and gather are unknown unless a type argument or RemoteNames gives the name a type", async () => {
  const all = rc.view();
  const e0 = rc.at(0);
  await all.push({ mergedCount: 4, untyped: "u" });
  const many = await all.pull("mergedCount");
  const one = await e0.get("mergedCount");
  const joined = await all.gather("mergedCount");
  const other = await e0.pull("untyped");
  const gatheredOther = await all.gather("untyped");
  const given = await e0.pull<string>("untyped");
  const types: [
    Same<typeof many, number[]>,
    Same<typeof one, number>,
    Same<typeof joined, number[]>,
    Same<typeof other, unknown>,
    Same<typeof gatheredOther, unknown>,
    Same<typeof given, string>,
  ] = [true, true, true, true, true, true];
  assert.equal(types.length, 6);
  assert.deepEqual(
    [many, one, joined, other, gatheredOther, given],
    [[4, 4], 4, [4, 4], "u", ["u", "u"], "u"],
  );
});

test("scatter splits into blocks and gather reassembles typed arrays, arrays and Arrow tables", async () => {
  const all = rc.view();
  const f = new Float64Array(100_001).map((_, i) => i * 2);
  await all.scatter("part", f);
  assert.deepEqual(
    await all.apply(() => (globalThis as unknown as { part: Float64Array }).part.length),
    [50_001, 50_000],
  );
  assert.deepEqual(await all.gather("part"), f);
  await all.scatter("xs", [1, 2, 3, 4, 5]);
  assert.deepEqual(await all.gather("xs"), [1, 2, 3, 4, 5]);
  await all.scatter("rank", all.targets, { flatten: true });
  assert.deepEqual(await all.apply(() => rank), all.targets);
  const t = tableFromArrays({ v: new Int32Array([1, 2, 3, 4, 5]) });
  await all.scatter("tbl", t);
  const g = (await all.gather("tbl")) as typeof t;
  assert.deepEqual([...g.getChild("v")!], [1, 2, 3, 4, 5]);
});

test("map applies element-wise over blocks and keeps order", async () => {
  const all = rc.view();
  assert.deepEqual(
    await all.map((x: number, y: number) => x * y, [1, 2, 3, 4, 5], [10, 20, 30, 40, 50]),
    [10, 40, 90, 160, 250],
  );
  const seen: unknown[] = [];
  for await (const v of all.imap((x: number) => x + 1, [1, 2, 3])) seen.push(v);
  assert.deepEqual(seen, [2, 3, 4]);
  assert.deepEqual(await all.mapSync(async (x: number) => x * 2, new Int32Array([1, 2])), [2, 4]);
});

test("views by id list and slice address the right engines", async () => {
  const ids = rc.ids;
  assert.deepEqual(rc.view({ step: 2 }).targets, [ids[0]]);
  assert.deepEqual(rc.view({ start: -1 }).targets, [ids[1]]);
  assert.deepEqual(rc.view([ids[1]!]).targets, [ids[1]]);
  assert.equal(rc.at(-1).targets[0], ids[1]);
});

test("AsyncResult exposes msgIds, per-engine output, progress and timings", async () => {
  const ar = rc.view().apply(() => {
    console.log("hello", 1);
    console.error("warn");
    (globalThis as unknown as { display: (v: unknown) => void }).display({ x: 1 });
    return 5;
  });
  assert.equal(ar.msgIds.length, 2);
  assert.equal(ar.ready(), false);
  const arr: number[] = [];
  for await (const v of ar) arr.push(v as number);
  assert.deepEqual(arr, [5, 5]);
  assert.equal(ar.ready(), true);
  assert.equal(ar.successful(), true);
  assert.equal(ar.progress, 2);
  assert.deepEqual(ar.stdout, ["hello 1\n", "hello 1\n"]);
  assert.deepEqual(ar.stderr, ["warn\n", "warn\n"]);
  assert.equal(ar.outputs[0]![0]!.type, "display_data");
  assert.ok(ar.wallTime >= 0 && ar.serialTime >= 0 && ar.elapsed >= 0);
  assert.deepEqual(
    ar.metadata.map((m) => m.engineId),
    rc.ids,
  );
  assert.equal(ar.displayOutputs().filter((o) => o.type === "stdout").length, 2);
  assert.equal(await ar.wait({ timeout: 0 }), true);
});

test("remote exceptions become RemoteError (one engine) or CompositeError (several)", async () => {
  await assert.rejects(
    async () => await rc.at(0).apply(() => JSON.parse("{")),
    (e: unknown) => {
      assert.ok(e instanceof RemoteError);
      assert.equal(e.code, "REMOTE_ERROR");
      assert.equal(e.ename, "SyntaxError");
      assert.equal(e.engineId, rc.ids[0]);
      return true;
    },
  );
  await assert.rejects(
    async () =>
      await rc.view().apply(() => {
        throw new RangeError("bad range");
      }),
    (e: unknown) => {
      assert.ok(e instanceof CompositeError);
      assert.equal(e.errors.length, 2);
      assert.match(e.render(), /RangeError: bad range/);
      return true;
    },
  );
});

test("a function that uses a local variable fails on the engine with a hint to push it", async () => {
  const local = 5;
  await assert.rejects(
    async () => await rc.at(0).apply(() => local * 2),
    /local is not defined.*push the value/,
  );
});

test("timeouts stop synchronous and asynchronous tasks and the engine stays usable", async () => {
  const v = rc.at(0);
  v.timeout = 200;
  await assert.rejects(
    async () =>
      await v.apply(() => {
        for (;;) {}
      }),
    TaskTimeout,
  );
  await assert.rejects(
    async () => await v.apply(() => new Promise(() => {})),
    (e: unknown) => e instanceof TaskTimeout && e.code === "TASK_TIMEOUT",
  );
  v.timeout = undefined;
  assert.equal(await v.apply(() => "alive"), "alive");
});

test("bad input gets clear errors and loses nothing", async () => {
  assert.throws(
    () => rc.view([99]).apply(() => 1),
    (e: unknown) =>
      e instanceof ClusterError && e.code === "INVALID_TARGET" && /engine 99 does not exist/.test(e.message),
  );
  assert.throws(() => rc.at(7), /no engine at position 7/);
  await assert.rejects(
    async () => await rc.at(0).apply((f: unknown) => f, { cb: () => 1 } as never),
    (e: unknown) => e instanceof SerializationError && e.path === "args[0].cb",
  );
  await assert.rejects(
    async () => await rc.at(0).apply(() => ({ f: () => 1 })),
    (e: unknown) =>
      e instanceof RemoteError && e.ename === "SerializationError" && /result\.f/.test(e.message),
  );
  assert.throws(() => rc.view().push([1] as never), /push\(\) takes an object/);
  assert.equal(await rc.at(0).apply(() => "still fine"), "still fine");
});

test("get with a timeout rejects while the task keeps running", async () => {
  const ar = rc.at(1).apply(() => new Promise((r) => setTimeout(() => r("late"), 300)));
  await assert.rejects(
    ar.get({ timeout: 10 }),
    (e: unknown) => e instanceof ClusterError && e.code === "WAIT_TIMEOUT",
  );
  assert.equal(await ar.get(), "late");
});

test("getResult returns a finished task by msg_id, also through the controller's table", async () => {
  const ar = rc.at(0).apply(() => 99);
  await ar;
  assert.equal(await rc.getResult(ar.msgIds[0]!), 99);
  const { Client } = await import("../../../engines/index.js");
  const other = await Client.connect(rc.info);
  try {
    assert.equal(await other.getResult(ar.msgIds[0]!), 99);
    await assert.rejects(other.getResult("no-such-id").get(), /unknown to the controller/);
  } finally {
    await other.close();
  }
});

test("a large pulled value is freed once the user drops it (the client does not keep it for getResult)", async () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  await rc.at(0).execute("var big = new Float64Array(2 ** 20).fill(3)"); // 8 MiB
  // Pulled in a function of its own: a suspended async frame may keep its last locals alive.
  const pullOnce = async () => {
    const ar = rc.at(0).pull<Float64Array>("big");
    const v = await ar;
    assert.equal(v[12345], 3);
    return { ref: new WeakRef(v), msgId: ar.msgIds[0]! };
  };
  const pulled: WeakRef<object>[] = [];
  let msgId = "";
  for (let i = 0; i < 3; i++) {
    const p = await pullOnce();
    pulled.push(p.ref);
    msgId = p.msgId;
  }
  for (let i = 0; i < 5 && pulled.some((w) => w.deref()); i++) {
    await new Promise((r) => setTimeout(r, 10));
    gc();
  }
  assert.deepEqual(
    pulled.map((w) => w.deref() === undefined),
    [true, true, true],
    "every pulled 8 MiB array was garbage collected",
  );
  // Gone from the client too, so getResult asks the controller, which kept no copy that large.
  await assert.rejects(rc.getResult(msgId).get(), /too large for the controller to keep/);
  const small = rc.at(0).apply(() => 7);
  await small;
  gc();
  assert.equal(await rc.getResult(small.msgIds[0]!), 7);
});
