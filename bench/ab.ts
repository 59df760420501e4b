/**
 * A/B of two builds of the runtime in one run: `node dist/bench/ab.js --base REF [--rounds N]`.
 *
 * Builds `REF` (a commit) in a temporary git worktree, then alternates rounds between the base and
 * this checkout: each round starts a fresh 2-engine cluster in a child process that imports that
 * build's `dist/engines/index.js` and measures the runtime's core paths (round trips, a flood,
 * transfers), so machine noise hits both sides alike. Reports each metric's median per side, the
 * side's run-to-run spread (min–max) and whether this checkout falls outside the base's spread on
 * the wrong side. Only API both builds share is used (Cluster.start, views, `await` on results).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { median } from "./metric.js";

/** What a metric measures and which way is better. */
interface Metric {
  unit: string;
  better: "lower" | "higher";
}

const METRICS: Record<string, Metric> = {
  apply_rtt_direct_1_ms: { unit: "ms", better: "lower" },
  apply_rtt_direct_all_ms: { unit: "ms", better: "lower" },
  apply_rtt_lb_ms: { unit: "ms", better: "lower" },
  lb_flood_tasks_per_s: { unit: "tasks/s", better: "higher" },
  push_64MiB_GBps: { unit: "GB/s", better: "higher" },
  pull_64MiB_GBps: { unit: "GB/s", better: "higher" },
  scatter_64MiB_GBps: { unit: "GB/s", better: "higher" },
  gather_64MiB_GBps: { unit: "GB/s", better: "higher" },
};

/** One round in a child process: the metrics of the build whose engines/index.js is `entry`. */
async function round(entry: string): Promise<Record<string, number>> {
  type Api = {
    Cluster: {
      start(o: { n: number }): Promise<{
        ids: number[];
        at(i: number): View;
        view(): View;
        loadBalancedView(): View;
        cluster?: { stop(): Promise<void> };
      }>;
    };
  };
  type View = {
    apply<R>(f: (...a: never[]) => R, ...args: unknown[]): PromiseLike<unknown>;
    push(ns: Record<string, unknown>): PromiseLike<unknown>;
    pull(name: string): PromiseLike<unknown>;
    scatter(name: string, v: unknown): PromiseLike<unknown>;
    gather(name: string): PromiseLike<unknown>;
    execute(code: string): PromiseLike<unknown>;
  };
  const { Cluster } = (await import(entry)) as Api;
  const rc = await Cluster.start({ n: 2 });
  const out: Record<string, number> = {};
  try {
    const rtt = async (view: View, warm: number, calls: number) => {
      const f = () => 0;
      for (let i = 0; i < warm; i++) await view.apply(f);
      const times: number[] = [];
      for (let i = 0; i < calls; i++) {
        const t = performance.now();
        await view.apply(f);
        times.push(performance.now() - t);
      }
      return median(times);
    };
    out.apply_rtt_direct_1_ms = await rtt(rc.at(0), 3000, 400);
    out.apply_rtt_direct_all_ms = await rtt(rc.view(), 3000, 400);
    const lb = rc.loadBalancedView();
    out.apply_rtt_lb_ms = await rtt(lb, 1000, 400);
    const tasks = 10_000;
    const g = (x: number) => x;
    for (let i = 0; i < 1000; i++) await lb.apply(g, i);
    let t = performance.now();
    const ars: PromiseLike<unknown>[] = [];
    for (let i = 0; i < tasks; i++) ars.push(lb.apply(g, i));
    const flood = (await Promise.all(ars)) as number[];
    out.lb_flood_tasks_per_s = tasks / ((performance.now() - t) / 1000);
    if (!flood.every((v, i) => v === i)) throw new Error("flood results out of order");
    const n = (64 << 20) / 8;
    const a = new Float64Array(n).map((_, i) => i);
    const gb = (64 << 20) / 1e9;
    const e0 = rc.at(0);
    const all = rc.view();
    const rate = async (move: () => PromiseLike<unknown>, reps = 3) => {
      const rates: number[] = [];
      for (let i = 0; i < reps; i++) {
        t = performance.now();
        await move();
        rates.push(gb / ((performance.now() - t) / 1000));
      }
      return median(rates);
    };
    out.push_64MiB_GBps = await rate(() => e0.push({ ab: a }));
    out.pull_64MiB_GBps = await rate(() => e0.pull("ab"));
    out.scatter_64MiB_GBps = await rate(() => all.scatter("abs", a));
    out.gather_64MiB_GBps = await rate(() => all.gather("abs"));
    const back = (await all.gather("abs")) as Float64Array;
    if (back.length !== n || back[n - 1] !== n - 1) throw new Error("gather came back wrong");
  } finally {
    await rc.cluster?.stop();
  }
  return out;
}

/** Builds commit `ref` in a temporary worktree sharing this checkout's node_modules; returns its root. */
function buildBase(root: string, ref: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tsp-ab-"));
  execFileSync("git", ["-C", root, "worktree", "add", "--detach", dir, ref], { stdio: "ignore" });
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  if (existsSync(join(root, "native", "build")))
    execFileSync("cp", ["-r", join(root, "native", "build"), join(dir, "native", "build")], {
      stdio: "ignore",
    });
  execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", dir], {
    stdio: "inherit",
  });
  return dir;
}

function spread(xs: number[]): string {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const p = (v: number) => (v >= 100 ? v.toFixed(0) : v.toPrecision(3));
  return `${p(lo)}–${p(hi)}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      base: { type: "string" },
      rounds: { type: "string", default: "5" },
      round: { type: "string" },
    },
  });
  if (values.round) {
    process.stdout.write(`${JSON.stringify(await round(pathToFileURL(values.round).href))}\n`);
    return 0;
  }
  if (!values.base) {
    process.stderr.write("usage: node dist/bench/ab.js --base REF [--rounds N]\n");
    return 2;
  }
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const baseRoot = buildBase(root, values.base);
  const sides = {
    base: join(baseRoot, "dist", "engines", "index.js"),
    head: join(root, "dist", "engines", "index.js"),
  };
  const results: Record<"base" | "head", Record<string, number[]>> = { base: {}, head: {} };
  try {
    const rounds = Number(values.rounds);
    for (let r = 0; r < rounds; r++) {
      // Alternate which side goes first, so neither always follows the other's load.
      const order = r % 2 ? (["head", "base"] as const) : (["base", "head"] as const);
      for (const side of order) {
        const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--round", sides[side]], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "inherit"],
          timeout: 300_000,
        });
        if (child.status !== 0)
          throw new Error(`${side} round ${r} failed (${child.status ?? child.signal})`);
        const m = JSON.parse(child.stdout.trim().split("\n").pop()!) as Record<string, number>;
        for (const [k, v] of Object.entries(m)) {
          results[side][k] ??= [];
          results[side][k].push(v);
        }
        process.stderr.write(`  round ${r + 1}/${rounds} ${side} done\n`);
      }
    }
  } finally {
    execFileSync("git", ["-C", root, "worktree", "remove", "--force", baseRoot], { stdio: "ignore" });
    rmSync(baseRoot, { recursive: true, force: true });
  }
  const rows = [
    `A/B: base ${values.base} vs this checkout, ${values.rounds} interleaved rounds, 2 engines`,
    "| metric | unit | base median | base spread | head median | head spread | head vs base |",
    "|---|---|---|---|---|---|---|",
  ];
  let worse = 0;
  for (const [name, m] of Object.entries(METRICS)) {
    const b = results.base[name] ?? [];
    const h = results.head[name] ?? [];
    const mb = median(b);
    const mh = median(h);
    const outside = m.better === "lower" ? mh > Math.max(...b) : mh < Math.min(...b);
    if (outside) worse++;
    const ratio = m.better === "lower" ? mb / mh : mh / mb;
    rows.push(
      `| ${name} | ${m.unit} | ${mb.toPrecision(4)} | ${spread(b)} | ${mh.toPrecision(4)} | ${spread(h)} | ${ratio.toFixed(2)}×${outside ? " (worse than every base round)" : ""} |`,
    );
  }
  process.stdout.write(`${rows.join("\n")}\n`);
  return worse ? 1 : 0;
}

process.exitCode = await main();
