/**
 * `npm run bench [-- --full] [--only NAME,…] [--json FILE]`: tsparallel side by side with its
 * peers (ipyparallel + numpy, tslab) in one run, reported as ratios (> 1: we are better).
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { withHugePages } from "../engines/launchers/huge-pages.js";
import { KERNEL_NODE_FLAGS } from "../kernel/kernelspec.js";
import { ensurePythonEnv } from "../kernel/lab/python-env.js";
import type { BenchContext } from "./bench-context.js";
import { machineFacts } from "./machine.js";
import { fmt, type MetricResult } from "./metric.js";
import { suites } from "./suites/index.js";

const USAGE = `usage: npm run bench -- [--full] [--only SUITE_OR_METRIC,…] [--json FILE]

  --full         larger sizes and more repeats (the quick run takes a few minutes)
  --only LIST    run only these suites (${Object.keys(suites).join(", ")}) or metrics (prefix match)
  --json FILE    also write the results as JSON`;

function table(rows: MetricResult[]): string {
  const head =
    "| metric | unit | tsparallel | peer | peer's | ratio (>1: ours better) | note |\n|---|---|---|---|---|---|---|";
  const body = rows.map(
    (r) =>
      `| ${r.name} | ${r.unit} | ${fmt(r.ours)} | ${r.peer} | ${fmt(r.theirs)} | ${r.ratio === null ? "—" : `${r.ratio.toFixed(2)}×`} | ${r.note ?? ""} |`,
  );
  return [head, ...body].join("\n");
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      options: {
        full: { type: "boolean" },
        only: { type: "string" },
        json: { type: "string" },
        help: { type: "boolean" },
      },
    }).values;
  }
  try {
    args = parse();
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const only = args.only
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only?.filter(
    (o) => !(o in suites) && !Object.values(suites).some((s) => s.metrics.some((m) => m.startsWith(o))),
  );
  if (unknown?.length) {
    process.stderr.write(`unknown suite or metric: ${unknown.join(", ")}\n${USAGE}\n`);
    return 2;
  }
  const python = await ensurePythonEnv(["numpy", "ipyparallel", "jupyter_client"], { dev: true });
  const ctx: BenchContext = {
    root,
    python,
    full: Boolean(args.full),
    log: (line) => process.stderr.write(`  ${line}\n`),
  };
  const rows: MetricResult[] = [];
  const extra: Record<string, string> = {};
  for (const [name, suite] of Object.entries(suites)) {
    const wanted =
      !only || only.includes(name) || suite.metrics.some((m) => only.some((o) => m.startsWith(o)));
    if (!wanted) continue;
    process.stderr.write(`== ${name}\n`);
    const started = performance.now();
    try {
      const out = await suite.run(ctx, only && !only.includes(name) ? only : undefined);
      rows.push(...out.rows);
      Object.assign(extra, out.versions ?? {});
    } catch (e) {
      process.stderr.write(`  ${name} failed: ${(e as Error).stack ?? e}\n`);
      for (const m of suite.metrics) {
        rows.push({
          name: m,
          unit: "",
          better: "lower",
          ours: null,
          peer: "",
          theirs: null,
          ratio: null,
          oursBest: null,
          theirsBest: null,
          repeats: 0,
          note: `suite failed: ${(e as Error).message}`,
        });
      }
    }
    process.stderr.write(`  (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
  }
  const machine = machineFacts(extra);
  const text = `${table(rows)}\n\nMachine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, load ${machine.loadAverage.join(" ")}; ${Object.entries(
    machine.libraries,
  )
    .map(([k, v]) => `${k} ${v}`)
    .join(", ")}; ${machine.date}\n`;
  process.stdout.write(text);
  if (args.json) writeFileSync(args.json, `${JSON.stringify({ machine, metrics: rows }, null, 2)}\n`);
  const failed = rows.filter((r) => r.ours === null);
  return failed.length ? 1 : 0;
}

/**
 * The runtime suite's client stands for the kernel, which Jupyter starts with kernel.json's
 * environment and node flags (huge pages for large arrays, see engines/launchers/huge-pages.ts;
 * a young generation that holds a flood, see kernel/kernelspec.ts): run with the same, restarting
 * once if this process was started without them.
 */
const tunables = withHugePages(process.env);
const missingFlags = KERNEL_NODE_FLAGS.filter((f) => !process.execArgv.includes(f));
if (tunables !== process.env.GLIBC_TUNABLES || missingFlags.length) {
  const r = spawnSync(process.execPath, [...missingFlags, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, GLIBC_TUNABLES: tunables },
  });
  process.exit(r.status ?? 1);
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
