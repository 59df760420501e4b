/**
 * Parallel-runtime benchmarks, as functions a `npm run bench` harness can call. Each returns
 * plain numbers; `node dist/bench/runtime.js [name…]` runs them and prints one JSON line.
 *
 * The machine is shared: report medians over repeats and the load average with them.
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { Cluster, type ClusterOptions } from "../engines/index.js";
import { median } from "./metric.js";

const MiB = 1024 * 1024;

async function withCluster<T>(opts: ClusterOptions, f: (c: Cluster) => Promise<T>): Promise<T> {
  const c = await Cluster.launch(opts);
  try {
    return await f(c);
  } finally {
    await c.stop();
  }
}

/** `applySync(() => 0)` round trip on one engine: median and p90 in ms. */
export async function applyLatency(iters = 1000): Promise<{ medianMs: number; p90Ms: number }> {
  return withCluster({ n: 1 }, async (c) => {
    const e = c.client!.at(0);
    for (let i = 0; i < 100; i++) await e.applySync(() => 0);
    const times: number[] = [];
    for (let i = 0; i < iters; i++) {
      const t = performance.now();
      await e.applySync(() => 0);
      times.push(performance.now() - t);
    }
    const s = [...times].sort((a, b) => a - b);
    return { medianMs: median(times), p90Ms: s[Math.floor(s.length * 0.9)]! };
  });
}

/**
 * A flood of tiny load-balanced tasks on 2 engines: tasks per second (best of `repeats`).
 * `hwm` is the scheduler's high-water mark (default 2; a flood wants more in flight).
 */
export async function loadBalancedFlood(
  tasks = 10_000,
  repeats = 3,
  hwm = 2,
): Promise<{ tasksPerSec: number; runs: number[]; hwm: number }> {
  return withCluster({ n: 2, hwm }, async (c) => {
    const lb = c.client!.loadBalancedView();
    const f = (x: number) => x;
    await Promise.all(Array.from({ length: 500 }, (_, i) => lb.apply(f, i)));
    const runs: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t = performance.now();
      const ars = [];
      for (let i = 0; i < tasks; i++) ars.push(lb.apply(f, i));
      await Promise.all(ars);
      runs.push(tasks / ((performance.now() - t) / 1000));
    }
    return { tasksPerSec: Math.max(...runs), runs, hwm };
  });
}

/** push and pull of a Float64Array to one engine: GB/s (10^9 B/s), median of `repeats`. */
export async function pushPull(
  bytes = 512 * MiB,
  repeats = 3,
): Promise<{ pushGBps: number; pullGBps: number }> {
  return withCluster({ n: 1 }, async (c) => {
    const e = c.client!.at(0);
    const a = new Float64Array(bytes / 8).fill(1.5);
    const push: number[] = [];
    const pull: number[] = [];
    for (let r = 0; r < repeats; r++) {
      let t = performance.now();
      await e.push({ a });
      push.push(bytes / ((performance.now() - t) / 1000) / 1e9);
      t = performance.now();
      const back = await e.pull<Float64Array>("a");
      pull.push(bytes / ((performance.now() - t) / 1000) / 1e9);
      if (back.length !== a.length) throw new Error("pull returned the wrong length");
    }
    return { pushGBps: median(push), pullGBps: median(pull) };
  });
}

/** scatter and gather of a Float64Array over 2 engines: GB/s, median of `repeats`. */
export async function scatterGather(
  bytes = 512 * MiB,
  repeats = 3,
): Promise<{ scatterGBps: number; gatherGBps: number }> {
  return withCluster({ n: 2 }, async (c) => {
    const v = c.client!.view();
    const a = new Float64Array(bytes / 8).fill(2.5);
    const sc: number[] = [];
    const ga: number[] = [];
    for (let r = 0; r < repeats; r++) {
      let t = performance.now();
      await v.scatter("x", a);
      sc.push(bytes / ((performance.now() - t) / 1000) / 1e9);
      t = performance.now();
      const back = (await v.gather("x")) as Float64Array;
      ga.push(bytes / ((performance.now() - t) / 1000) / 1e9);
      if (back.length !== a.length) throw new Error("gather returned the wrong length");
    }
    return { scatterGBps: median(sc), gatherGBps: median(ga) };
  });
}

/** Private (anonymous) resident memory of a local process in MB, from /proc (Linux). */
function privateRssMB(pid: number): number {
  try {
    const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1000 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * `Cluster.start({ n: 2 })` until both engines are registered, and idle engine memory: RSS as
 * the engine reports it (includes ~45 MB of the node binary's file pages, shared by every node
 * process) and the private (anonymous) part.
 */
export async function startupAndRss(
  repeats = 3,
): Promise<{ startMs: number; idleEngineRssMB: number; idleEnginePrivateMB: number }> {
  const starts: number[] = [];
  let rss = 0;
  let priv = 0;
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    const c = await Cluster.launch({ n: 2 });
    starts.push(performance.now() - t);
    await new Promise((res) => setTimeout(res, 1000)); // let heartbeats report settled memory
    const qs = await c.client!.queueStatus();
    rss = Math.max(...Object.values(qs.engines).map((e) => e.rss)) / 1e6;
    const pids = await c.client!.view().apply(() => process.pid);
    priv = Math.max(...pids.map(privateRssMB));
    await c.stop();
  }
  return { startMs: median(starts), idleEngineRssMB: rss, idleEnginePrivateMB: priv };
}

/** The flood with 16 tasks in flight per engine. */
export const loadBalancedFloodHwm16 = () => loadBalancedFlood(10_000, 3, 16);

/** Every runtime benchmark by name; each runs with its defaults. */
export const RUNTIME_BENCHMARKS = {
  applyLatency: () => applyLatency(),
  loadBalancedFlood: () => loadBalancedFlood(),
  loadBalancedFloodHwm16,
  pushPull: () => pushPull(),
  scatterGather: () => scatterGather(),
  startupAndRss: () => startupAndRss(),
} as const;

if (import.meta.url === `file://${process.argv[1]}`) {
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(RUNTIME_BENCHMARKS);
  const results: Record<string, unknown> = { loadavg: loadavg()[0] };
  for (const name of names) {
    const f = RUNTIME_BENCHMARKS[name as keyof typeof RUNTIME_BENCHMARKS];
    if (!f) {
      process.stderr.write(`unknown benchmark ${name}: use ${Object.keys(RUNTIME_BENCHMARKS).join(", ")}\n`);
      process.exit(2);
    }
    results[name] = await f();
    process.stderr.write(`${name}: ${JSON.stringify(results[name])}\n`);
  }
  process.stdout.write(`JSON: ${JSON.stringify(results)}\n`);
}
