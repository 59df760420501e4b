import { join } from "node:path";
import { Cluster } from "../../engines/index.js";
import type { BenchContext } from "../bench-context.js";
import { type MetricResult, type MetricSpec, measure, median, ratioOf } from "../metric.js";
import { PeerProcess } from "../peer-process.js";

const MiB = 1 << 20;
/** Engine counts of the quick run (ipyparallel runs them too) and the extra one of `--full`. */
const QUICK_COUNTS = [16, 64];
const FULL_ONLY = 256;

/** The metrics for one engine count. */
function metricsFor(n: number): string[] {
  return [
    `cluster_start_${n}_s`,
    `apply_rtt_all_${n}_ms`,
    `lb_flood_${n}_tasks_per_s`,
    `scatter_64MiB_${n}_first_ms`,
    `scatter_64MiB_${n}_ms`,
    `gather_64MiB_${n}_ms`,
    `push_all_64MiB_${n}_ms`,
  ];
}

/** Every metric this suite may produce (256 engines only with `--full`). */
export const SCALE_METRICS = [...QUICK_COUNTS, FULL_ONLY].flatMap(metricsFor);

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`wrong result: ${what}`);
}

async function msOf(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

/** A row measured once on each side (starting a cluster, its first scatter). */
function once(name: string, unit: string, ours: number, theirs: number | null, note: string): MetricResult {
  return {
    name,
    unit,
    better: "lower",
    ours,
    peer: "ipyparallel",
    theirs,
    ratio: theirs === null ? null : ratioOf(ours, theirs, "lower"),
    oursBest: ours,
    theirsBest: theirs,
    repeats: 1,
    note,
  };
}

/**
 * Many engines on one host: starting them, a call to all, a load-balanced flood, scatter, gather
 * and a push of one array to all, at 16 and 64 engines against ipyparallel with as many, and at
 * 256 (ours alone) with `--full`.
 */
export async function scaleSuite(ctx: BenchContext, only?: string[]): Promise<{ rows: MetricResult[] }> {
  const rows: MetricResult[] = [];
  const counts = ctx.full ? [...QUICK_COUNTS, FULL_ONLY] : QUICK_COUNTS;
  const reps = ctx.full ? 5 : 3;
  const wantedCount = (n: number) => !only || metricsFor(n).some((m) => only.some((o) => m.startsWith(o)));
  const x = new Float64Array((64 * MiB) / 8);
  for (let i = 0; i < x.length; i++) x[i] = i;
  for (const n of counts.filter(wantedCount)) {
    const withPeer = n !== FULL_ONLY;
    const peer = withPeer
      ? new PeerProcess(ctx.python, [join(ctx.root, "bench", "peers", "ipyparallel_peer.py")], {
          ...process.env,
          OPENBLAS_NUM_THREADS: "1",
        })
      : undefined;
    let cluster: Cluster | undefined;
    try {
      ctx.log(`${n} engines: starting both clusters`);
      const t0 = performance.now();
      cluster = await Cluster.launch({ n, timeout: 300_000 });
      const ourStart = (performance.now() - t0) / 1000;
      const rc = cluster.client!;
      check(rc.ids.length === n, `${n} engines registered`);
      const theirStart = peer ? (await peer.call<{ seconds: number }>({ op: "start", n })).seconds : null;
      const peerNote = peer
        ? "one start each"
        : "ipyparallel is not run at 256 engines: starting them takes minutes here";
      rows.push(once(`cluster_start_${n}_s`, "s", ourStart, theirStart, peerNote));
      const peerRun =
        (metric: string, args: Record<string, unknown> = {}) =>
        async () =>
          (await peer!.call<{ value: number }>({ op: "run", metric, args })).value;
      const theirs = (metric: string, args: Record<string, unknown> = {}): MetricSpec["theirs"] =>
        peer ? peerRun(metric, args) : { none: "not run at 256 engines" };

      // The first scatter to engines that have had no task yet: what a notebook's first cell pays.
      const all = rc.view();
      const firstOurs = await msOf(() => all.scatter("x", x));
      const parts = (await all.apply(() => (globalThis as { x?: Float64Array }).x?.length ?? 0)) as number[];
      check(parts.reduce((a, b) => a + b, 0) === x.length, "first scatter");
      const firstTheirs = peer ? await peerRun("scatter_ms", { mib: 64 })() : null;
      rows.push(
        once(
          `scatter_64MiB_${n}_first_ms`,
          "ms",
          firstOurs,
          firstTheirs,
          "the first call to engines that had no task yet",
        ),
      );

      const calls = 30;
      const specs: MetricSpec[] = [
        {
          name: `apply_rtt_all_${n}_ms`,
          unit: "ms",
          better: "lower",
          peer: "ipyparallel",
          ours: async () => {
            const times: number[] = [];
            for (let i = 0; i < calls; i++) {
              let out: unknown;
              times.push(await msOf(async () => (out = await all.apply(() => 0))));
              check(Array.isArray(out) && out.length === n && out.every((v) => v === 0), "apply to all");
            }
            return median(times);
          },
          theirs: theirs("apply_rtt_direct_all", { calls }),
        },
        {
          name: `lb_flood_${n}_tasks_per_s`,
          unit: "tasks/s",
          better: "higher",
          peer: "ipyparallel",
          order: "blocks",
          ours: async () => {
            const tasks = 20_000;
            const lb = rc.loadBalancedView();
            const f = (i: number) => i;
            const s = await msOf(async () => {
              const ars = [];
              for (let i = 0; i < tasks; i++) ars.push(lb.apply(f, i));
              const out = await Promise.all(ars);
              check(
                out.every((v, i) => v === i),
                "flood results in order",
              );
            });
            return tasks / (s / 1000);
          },
          theirs: theirs("lb_flood_tasks_per_s", { tasks: 2000 }),
        },
        {
          name: `scatter_64MiB_${n}_ms`,
          unit: "ms",
          better: "lower",
          peer: "ipyparallel",
          ours: () => msOf(() => all.scatter("x", x)),
          theirs: theirs("scatter_ms", { mib: 64 }),
        },
        {
          name: `gather_64MiB_${n}_ms`,
          unit: "ms",
          better: "lower",
          peer: "ipyparallel",
          ours: async () => {
            await all.scatter("x", x);
            let back: unknown;
            const ms = await msOf(async () => (back = await all.gather("x")));
            const b = back as Float64Array;
            check(b.length === x.length && b[x.length - 1] === x.length - 1, "gather");
            return ms;
          },
          theirs: theirs("gather_ms", { mib: 64 }),
        },
        {
          name: `push_all_64MiB_${n}_ms`,
          unit: "ms",
          better: "lower",
          peer: "ipyparallel",
          ours: async () => {
            const ms = await msOf(() => all.push({ y: x }));
            // Shipped functions see the engine's globals only: the last element, read there.
            const last = (await all.apply(() => {
              const y = (globalThis as { y?: Float64Array }).y;
              return y ? y[y.length - 1] : -1;
            })) as number[];
            check(
              last.every((v) => v === x.length - 1),
              "push to all",
            );
            return ms;
          },
          theirs: theirs("push_all_ms", { mib: 64 }),
        },
      ];
      for (const s of specs)
        if (!only || only.some((o) => s.name.startsWith(o))) rows.push(await measure(s, reps, ctx.log));
    } finally {
      await cluster?.stop();
      await peer?.close();
    }
  }
  return { rows };
}
