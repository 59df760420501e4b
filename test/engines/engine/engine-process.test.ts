import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Publisher, Router } from "zeromq";
import { withHugePages } from "../../../engines/launchers/huge-pages.js";
import { startTestCluster, stopTestClusters } from "../cluster-fixture.js";

const ENGINE_MAIN = fileURLToPath(new URL("../../../engines/engine/main.js", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "tsp-engine-"));
after(async () => {
  await stopTestClusters();
  rmSync(scratch, { recursive: true, force: true });
});

/** Runs an engine on `file`; resolves with its exit code and stderr (or null if still running after `ms`). */
function runEngine(file: string, ms: number): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [ENGINE_MAIN, file], {
    env: { ...process.env, TSPARALLEL_REGISTRATION_TIMEOUT_MS: "800" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (c) => {
    stderr += c;
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve({ code: null, stderr });
    }, ms);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

test("an engine whose controller never answers exits with the reason (its heart stopped first)", async () => {
  // A controller that binds everything and says nothing.
  const engines = new Router();
  const hearts = new Router();
  const pings = new Publisher();
  await Promise.all([engines, hearts, pings].map((s) => s.bind("tcp://127.0.0.1:*")));
  const file = join(scratch, "silent.json");
  const info = {
    name: "silent",
    key: "k",
    signature_scheme: "hmac-sha256",
    client_url: engines.lastEndpoint,
    engine_url: engines.lastEndpoint,
    heartbeat_url: hearts.lastEndpoint,
    ping_url: pings.lastEndpoint,
    controller_pid: process.pid,
    controller_host: hostname(),
    created: new Date().toISOString(),
    scheme: "leastload",
  };
  try {
    writeFileSync(file, JSON.stringify(info));
    const silent = await runEngine(file, 10_000);
    assert.equal(silent.code, 1, `exited (not hung): ${silent.stderr}`);
    assert.match(silent.stderr, /no registration reply from .* within 800 ms/);
    // A file written by an older controller (no ping_url) gets a clear answer, not a hang.
    writeFileSync(file, JSON.stringify({ ...info, ping_url: undefined }));
    const old = await runEngine(file, 10_000);
    assert.equal(old.code, 1);
    assert.match(old.stderr, /older tsparallel .* restart the cluster/);
  } finally {
    for (const s of [engines, hearts, pings]) s.close();
  }
});

test("user code on an engine keeps four libuv pool threads beside the heart's", async (t) => {
  const mkfifo = (() => {
    try {
      return execFileSync("sh", ["-c", "command -v mkfifo"], { encoding: "utf8" }).trim();
    } catch {
      return "";
    }
  })();
  if (!mkfifo) return t.skip("mkfifo is missing");
  const fifos = [0, 1, 2, 3].map((i) => join(scratch, `fifo-${i}`));
  for (const f of fifos) execFileSync(mkfifo, [f]);
  const cluster = await startTestCluster({ n: 1 });
  const e = cluster.client!.at(0);
  // Opening a FIFO for reading blocks a pool thread until a writer comes. With four blocked, a
  // fifth pool job (stat) only runs if the pool has a thread left.
  const blocked = e.apply(async (paths: string[]) => {
    const fs = require("node:fs") as typeof import("node:fs");
    const opens = paths.map((p) => fs.promises.open(p, "r"));
    const t0 = Date.now();
    const stat = await Promise.race([
      fs.promises.stat(paths[0]!).then(() => "ran"),
      new Promise((r) => setTimeout(() => r("starved"), 1500)),
    ]);
    for (const h of await Promise.all(opens)) await h.close();
    return [stat, Date.now() - t0, process.env.UV_THREADPOOL_SIZE];
  }, fifos);
  await new Promise((r) => setTimeout(r, 2000));
  // Release the readers: open each FIFO for writing.
  for (const f of fifos) writeFileSync(f, "");
  const [stat, , size] = (await blocked) as [string, number, string];
  assert.equal(size, "5");
  assert.equal(stat, "starved", "four blocked opens take every user thread (the heart holds the fifth)");
  // Three blocked opens leave one: stat runs.
  const three = e.apply(
    async (paths: string[]) => {
      const fs = require("node:fs") as typeof import("node:fs");
      const opens = paths.map((p) => fs.promises.open(p, "r"));
      const stat = await Promise.race([
        fs.promises.stat(paths[0]!).then(() => "ran"),
        new Promise((r) => setTimeout(() => r("starved"), 1500)),
      ]);
      for (const h of await Promise.all(opens)) await h.close();
      return stat;
    },
    fifos.slice(0, 3),
  );
  await new Promise((r) => setTimeout(r, 500));
  for (const f of fifos.slice(0, 3)) writeFileSync(f, "");
  assert.equal(await three, "ran");
});

test("engines ask glibc for huge pages, so a large received array takes few page faults", async () => {
  assert.equal(withHugePages({}), "glibc.malloc.hugetlb=1");
  assert.equal(
    withHugePages({ GLIBC_TUNABLES: "glibc.malloc.arena_max=2" }),
    "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1",
  );
  assert.equal(
    withHugePages({ GLIBC_TUNABLES: "glibc.malloc.hugetlb=0" }),
    "glibc.malloc.hugetlb=0",
    "the user's choice stands",
  );
  assert.equal(withHugePages({ TSPARALLEL_HUGEPAGES: "0" }), undefined, "opted out");
  // Over a lane: an array that comes through the shared-memory store is a mapping of its block.
  process.env.TSPARALLEL_STORE = "0";
  let e: Awaited<ReturnType<typeof startTestCluster>>["client"];
  try {
    e = (await startTestCluster({ n: 1 })).client;
  } finally {
    delete process.env.TSPARALLEL_STORE;
  }
  const e0 = e!.at(0);
  await e0.push({ received: new Float64Array(8 * 2 ** 20).fill(1) }); // 64 MiB, lands in fresh memory
  const [tunables, hugeKB, sum] = (await e0.apply(() => {
    const fs = require("node:fs") as typeof import("node:fs");
    const huge = /AnonHugePages:\s+(\d+) kB/.exec(fs.readFileSync("/proc/self/smaps_rollup", "utf8"));
    const r = (globalThis as unknown as { received: Float64Array }).received;
    return [process.env.GLIBC_TUNABLES, Number(huge?.[1] ?? 0), r.reduce((a, b) => a + b, 0)];
  })) as [string, number, number];
  assert.equal(sum, 8 * 2 ** 20);
  assert.match(tunables, /glibc\.malloc\.hugetlb=1/);
  // Where the kernel offers THP ("madvise" or "always", as on Debian's default) and glibc knows
  // the tunable (2.35 and later), the array got huge pages.
  let mode = "never";
  try {
    mode = /\[(\w+)\]/.exec(readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8"))?.[1] ?? mode;
  } catch {
    // no THP on this kernel (or not visible in this container)
  }
  const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header
    ?.glibcVersionRuntime;
  const [major = 0, minor = 0] = (glibc ?? "0.0").split(".").map(Number);
  if (mode !== "never" && (major > 2 || (major === 2 && minor >= 35)))
    assert.ok(hugeKB >= 32 * 1024, `AnonHugePages ${hugeKB} kB in the engine after a 64 MiB push`);
});
