/**
 * GEMM benchmark: tsparallel/ndarray's matmul backends side by side with numpy in one run.
 *
 * numpy runs in a persistent Python subprocess (`.venv/bin/python` if present, else `python3`)
 * with OPENBLAS_NUM_THREADS=1; measurements alternate between numpy and our backends, round by
 * round, so machine noise hits both. Each number is the best time over the rounds; GFLOP/s is
 * 2n³ / time.
 *
 *   node dist/bench/gemm.js                     # n = 512, 1024, 2048; float64 and float32
 *   node dist/bench/gemm.js --sizes=1024 --json # JSON on stdout
 *   node dist/bench/gemm.js --backends=native,wasm --dtypes=float64 --no-numpy
 *
 * `runGemmBench()` is the programmatic entry for an `npm run bench` harness; its `metrics` carry
 * `gemm_f64_1024_gflops` and `gemm_f32_1024_gflops` (the default backend).
 * @module
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as nd from "../ndarray/index.js";

type FloatDType = "float64" | "float32";

/** Options of `runGemmBench`. */
export interface GemmBenchOptions {
  /** Matrix sizes (square n x n). Default [512, 1024, 2048]. */
  sizes?: number[];
  /** Default ["float64", "float32"]. */
  dtypes?: FloatDType[];
  /** Our backends to run; default: every available one. */
  backends?: nd.BackendName[];
  /** Compare with numpy (default true). */
  numpy?: boolean;
  /** Python interpreter; default `.venv/bin/python` when present, else `python3`. */
  python?: string;
  /** Alternating rounds per (dtype, n) (default 2). */
  rounds?: number;
  /** Time budget per measurement in one round, in ms (default 1000); at least one call is always timed. */
  budgetMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** One measured cell. */
export interface GemmBenchRow {
  dtype: FloatDType;
  n: number;
  backend: nd.BackendName | "numpy";
  /** Best wall time of one matmul, ms. */
  ms: number;
  gflops: number;
  /** gflops / numpy's gflops at the same dtype and n (null without numpy). */
  vsNumpy: number | null;
}

/** Everything `runGemmBench` measured. */
export interface GemmBenchResult {
  rows: GemmBenchRow[];
  /** Flat metrics for a harness: `gemm_f64_1024_gflops`, `gemm_f64_1024_wasm_gflops`, `numpy_f64_1024_gflops`, … */
  metrics: Record<string, number>;
  /** The backend `matmul` uses by default in this process. */
  defaultBackend: nd.BackendName;
  numpy: { python: string; version: string } | null;
}

const PY_SCRIPT = `
import sys, time, json
import numpy as np
print(json.dumps({"version": np.__version__}), flush=True)
rng = np.random.default_rng(0)
cache = {}
for line in sys.stdin:
    dtype, n, budget = line.split()
    n = int(n); budget = float(budget) / 1000.0
    key = (dtype, n)
    if key not in cache:
        cache.clear()
        A = rng.random((n, n)).astype(dtype); B = rng.random((n, n)).astype(dtype)
        np.dot(A, B)
        cache[key] = (A, B)
    A, B = cache[key]
    best = float("inf"); spent = 0.0; reps = 0
    while reps < 1 or spent < budget:
        t = time.perf_counter(); np.dot(A, B); dt = time.perf_counter() - t
        best = min(best, dt); spent += dt; reps += 1
    print(json.dumps({"ms": best * 1000.0, "reps": reps}), flush=True)
`;

class NumpyWorker {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;

  constructor(python: string) {
    const env = { ...process.env, OPENBLAS_NUM_THREADS: "1", OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1" };
    this.proc = spawn(python, ["-c", PY_SCRIPT], { env, stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stderr.resume();
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }

  async next(): Promise<Record<string, unknown>> {
    const r = await this.lines.next();
    if (r.done) throw new Error("numpy subprocess exited");
    return JSON.parse(r.value) as Record<string, unknown>;
  }

  async time(dtype: FloatDType, n: number, budgetMs: number): Promise<number> {
    this.proc.stdin.write(`${dtype} ${n} ${budgetMs}\n`);
    return (await this.next()).ms as number;
  }

  close(): void {
    this.proc.stdin.end();
    this.proc.kill();
  }
}

function defaultPython(): string {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  for (const p of [`${process.cwd()}/.venv/bin/python`, `${root}.venv/bin/python`])
    if (existsSync(p)) return p;
  return "python3";
}

async function startNumpy(python: string): Promise<{ worker: NumpyWorker; version: string } | null> {
  const worker = new NumpyWorker(python);
  try {
    const hello = await Promise.race([
      worker.next(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timeout")), 30000).unref()),
    ]);
    return { worker, version: String(hello.version) };
  } catch {
    worker.close();
    return null;
  }
}

function timeOurs(a: nd.NDArray, b: nd.NDArray, budgetMs: number): number {
  let best = Number.POSITIVE_INFINITY;
  let spent = 0;
  for (let reps = 0; reps < 1 || spent < budgetMs; reps++) {
    const t = performance.now();
    nd.matmul(a, b);
    const dt = performance.now() - t;
    best = Math.min(best, dt);
    spent += dt;
  }
  return best;
}

const short = (d: FloatDType): string => (d === "float64" ? "f64" : "f32");

/** Runs the benchmark and returns rows and metrics. Restores the backend selection afterwards. */
export async function runGemmBench(options: GemmBenchOptions = {}): Promise<GemmBenchResult> {
  const sizes = options.sizes ?? [512, 1024, 2048];
  const dtypes = options.dtypes ?? ["float64", "float32"];
  const backends = options.backends ?? nd.availableBackends();
  const rounds = options.rounds ?? 2;
  const budget = options.budgetMs ?? 1000;
  const log = options.log ?? (() => {});
  const defaultBackend = nd.backend();
  const python = options.python ?? defaultPython();
  const np = options.numpy === false ? null : await startNumpy(python);
  if (options.numpy !== false && !np) log(`numpy not available via ${python}; reporting our backends only`);
  const rows: GemmBenchRow[] = [];
  try {
    const rng = nd.random.defaultRng(0);
    // Warm up every kernel (JIT and wasm compilation) on a small problem first.
    for (const backend of backends) {
      nd.setBackend(backend);
      for (const dtype of dtypes) {
        const w = rng.random([128, 128], dtype);
        for (let i = 0; i < 3; i++) nd.matmul(w, w);
      }
    }
    for (const dtype of dtypes) {
      for (const n of sizes) {
        const a = rng.random([n, n], dtype);
        const b = rng.random([n, n], dtype);
        const best = new Map<string, number>();
        let check: number | null = null;
        for (let round = 0; round < rounds; round++) {
          if (np)
            best.set(
              "numpy",
              Math.min(best.get("numpy") ?? Number.POSITIVE_INFINITY, await np.worker.time(dtype, n, budget)),
            );
          for (const backend of backends) {
            nd.setBackend(backend);
            if (round === 0) {
              // One sanity check per backend: the same product up to rounding.
              const s = nd.matmul(a.slice(":64"), b).sum();
              check ??= s;
              if (Math.abs(s - check) > 1e-3 * Math.abs(check))
                throw new Error(`${backend} disagrees: ${s} vs ${check}`);
            }
            best.set(
              backend,
              Math.min(best.get(backend) ?? Number.POSITIVE_INFINITY, timeOurs(a, b, budget)),
            );
          }
        }
        const flops = 2 * n ** 3;
        const numpyG = best.has("numpy") ? flops / best.get("numpy")! / 1e6 : null;
        for (const [backend, ms] of best) {
          const gflops = flops / ms / 1e6;
          const row: GemmBenchRow = {
            dtype,
            n,
            backend: backend as GemmBenchRow["backend"],
            ms,
            gflops,
            vsNumpy: numpyG === null ? null : gflops / numpyG,
          };
          rows.push(row);
          log(formatRow(row));
        }
      }
    }
  } finally {
    nd.setBackend("auto");
    np?.worker.close();
  }
  const metrics: Record<string, number> = {};
  for (const r of rows) {
    const base = `${short(r.dtype)}_${r.n}`;
    if (r.backend === "numpy") metrics[`numpy_${base}_gflops`] = r.gflops;
    else {
      metrics[`gemm_${base}_${r.backend}_gflops`] = r.gflops;
      if (r.backend === defaultBackend) metrics[`gemm_${base}_gflops`] = r.gflops;
    }
  }
  return { rows, metrics, defaultBackend, numpy: np ? { python, version: np.version } : null };
}

/**
 * One metric for a repeat-based harness (shaped like bench/metric.ts's MetricSpec): each call of
 * `ours`/`theirs` times one n x n matmul and returns GFLOP/s.
 */
export interface GemmMetricSpec {
  name: string;
  unit: string;
  better: "higher";
  peer: string;
  ours: () => Promise<number>;
  theirs: (() => Promise<number>) | { none: string };
}

/**
 * Metric specs `gemm_f64_<n>_gflops` and `gemm_f32_<n>_gflops` (default n = 1024) on the default
 * backend against numpy in a subprocess. Call `close()` when done to stop the subprocess.
 */
/**
 * Each repetition of a GEMM row is the best product of this many ms (about ten at n = 1024): one
 * product of ~20 ms on this shared VM wandered by ±5%, more than the difference being measured.
 */
const REPETITION_BUDGET_MS = 250;

export async function gemmMetricSpecs(
  options: { n?: number; python?: string } = {},
): Promise<{ specs: GemmMetricSpec[]; close: () => void }> {
  const n = options.n ?? 1024;
  const python = options.python ?? defaultPython();
  const np = await startNumpy(python);
  const rng = nd.random.defaultRng(0);
  const flops = 2 * n ** 3;
  const specs = (["float64", "float32"] as const).map((dtype): GemmMetricSpec => {
    const a = rng.random([n, n], dtype);
    const b = rng.random([n, n], dtype);
    nd.matmul(a, b); // warm-up (JIT / wasm compilation / BLAS buffers)
    return {
      name: `gemm_${short(dtype)}_${n}_gflops`,
      unit: "GFLOP/s",
      better: "higher",
      peer: "numpy",
      ours: async () => flops / timeOurs(a, b, REPETITION_BUDGET_MS) / 1e6,
      theirs: np
        ? async () => flops / (await np.worker.time(dtype, n, REPETITION_BUDGET_MS)) / 1e6
        : { none: `numpy not available via ${python}` },
    };
  });
  return { specs, close: () => np?.worker.close() };
}

function formatRow(r: GemmBenchRow): string {
  const ratio = r.vsNumpy === null ? "" : `${r.vsNumpy.toFixed(2)}x`;
  return [
    r.dtype.padEnd(8),
    String(r.n).padStart(5),
    r.backend.padEnd(7),
    r.ms.toFixed(2).padStart(10),
    r.gflops.toFixed(1).padStart(8),
    ratio.padStart(9),
  ].join("  ");
}

/** The result as a text table. */
export function formatGemmTable(result: GemmBenchResult): string {
  const head = [
    "dtype".padEnd(8),
    "n".padStart(5),
    "backend".padEnd(7),
    "ms".padStart(10),
    "GFLOP/s".padStart(8),
    "vs numpy".padStart(9),
  ].join("  ");
  const np = result.numpy
    ? `numpy ${result.numpy.version} (${result.numpy.python}, OPENBLAS_NUM_THREADS=1)`
    : "numpy: not run";
  return [
    `GEMM C = A·B, square n x n, best of rounds; default backend: ${result.defaultBackend}; ${np}`,
    head,
    ...result.rows.map(formatRow),
  ].join("\n");
}

function parseArgs(argv: string[]): GemmBenchOptions & { json: boolean } {
  const out: GemmBenchOptions & { json: boolean } = { json: false };
  for (const arg of argv) {
    const [k, v = ""] = arg.split("=") as [string, string?];
    if (k === "--json") out.json = true;
    else if (k === "--no-numpy") out.numpy = false;
    else if (k === "--sizes") out.sizes = v.split(",").map(Number);
    else if (k === "--dtypes") out.dtypes = v.split(",") as FloatDType[];
    else if (k === "--backends") out.backends = v.split(",") as nd.BackendName[];
    else if (k === "--python") out.python = v;
    else if (k === "--rounds") out.rounds = Number(v);
    else if (k === "--budget-ms") out.budgetMs = Number(v);
    else throw new Error(`unknown argument ${arg}`);
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const opts = parseArgs(process.argv.slice(2));
  const result = await runGemmBench({ ...opts, log: opts.json ? undefined : (l) => console.error(l) });
  console.log(opts.json ? JSON.stringify(result, null, 2) : formatGemmTable(result));
}
