import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { BenchContext } from "../bench-context.js";
import { fmt, type MetricResult, median, summarize } from "../metric.js";
import { installTslab } from "../tslab-peer.js";

interface KernelTiming {
  kernel_start_s: number;
  /** The first cell sent as soon as kernel_info is answered: start-up and first cell at once. */
  kernel_first_cell_s: number;
  kernel_warm_cell_ms: number;
  /** The first cell sent 1 s after kernel_info, as a user would: what warming up in the background gives. */
  kernel_first_cell_after_idle_s: number;
}

/** Runs one kernel timing repeat (start, first cell, warm cells, first cell after idle) through jupyter_client. */
function timeKernel(
  ctx: BenchContext,
  kernel: string,
  jupyterPath: string,
  notebookDir: string,
): Promise<KernelTiming> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      ctx.python,
      [join(ctx.root, "bench", "peers", "kernel_timing.py"), kernel, "1", "20"],
      {
        // Kernels start in an empty notebook folder, as a user's: the repository's tsconfig.json
        // would otherwise be the cells' configuration.
        cwd: notebookDir,
        env: { ...process.env, JUPYTER_PATH: jupyterPath },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let err = "";
    let result: KernelTiming | undefined;
    child.stderr.on("data", (d: Buffer) => {
      err = (err + d.toString()).slice(-2000);
    });
    createInterface({ input: child.stdout }).on("line", (l) => {
      if (l.startsWith("{")) result = JSON.parse(l) as KernelTiming;
    });
    child.on("exit", (code) => {
      if (code === 0 && result) resolve(result);
      else
        reject(new Error(`${kernel} timing failed (${code}): ${err.trim().split("\n").slice(-4).join(" ")}`));
    });
  });
}

/** kernel_start_s, kernel_first_cell_s (at once and after idle), kernel_warm_cell_ms: tsparallel against tslab. */
export async function kernelSuite(ctx: BenchContext): Promise<MetricResult[]> {
  const jupyterPath = mkdtempSync(join(tmpdir(), "tsparallel-bench-kernels-"));
  execFileSync(
    process.execPath,
    [join(ctx.root, "bin", "tsparallel.js"), "install", "--prefix", jupyterPath],
    {
      stdio: "ignore",
    },
  );
  const oursPath = join(jupyterPath, "share", "jupyter");
  const tslab = installTslab(join(ctx.root, "bench", ".peers"), oursPath);
  // One process run gives all four numbers (two kernel starts), so each repeat runs both kernels
  // once, interleaved, and the metrics read from the same repeats.
  const ours: KernelTiming[] = [];
  const theirs: KernelTiming[] = [];
  const repeats = ctx.full ? 7 : 3;
  // One retry: a kernel start can time out when the shared machine stalls.
  const notebookDir = mkdtempSync(join(tmpdir(), "tsparallel-bench-notebook-"));
  const once = (kernel: string) =>
    timeKernel(ctx, kernel, oursPath, notebookDir).catch(() =>
      timeKernel(ctx, kernel, oursPath, notebookDir),
    );
  try {
    for (let r = -1; r < repeats; r++) {
      const o = await once("tsparallel");
      const t = await once(tslab);
      if (r >= 0) {
        ours.push(o);
        theirs.push(t);
      }
    }
  } finally {
    rmSync(notebookDir, { recursive: true, force: true });
    rmSync(jupyterPath, { recursive: true, force: true });
  }
  // Start-up and a first cell sent at once, as one number: what a notebook run by nbclient waits.
  const atOnce = (t: KernelTiming) => t.kernel_start_s + t.kernel_first_cell_s;
  const total = (ts: KernelTiming[]) => fmt(median(ts.map(atOnce)));
  const row = (name: keyof KernelTiming, unit: string) => {
    const notes =
      name === "kernel_first_cell_s"
        ? [`start + first cell: ${total(ours)} s, tslab ${total(theirs)} s (medians)`]
        : [];
    const r = summarize(
      { name, unit, better: "lower", peer: "tslab" },
      ours.map((o) => o[name]),
      theirs.map((t) => t[name]),
      notes,
    );
    ctx.log(`${name}: ours ${fmt(r.ours)} ${unit}, tslab ${fmt(r.theirs)}, ${r.ratio?.toFixed(2)}×`);
    return r;
  };
  return [
    row("kernel_start_s", "s"),
    row("kernel_first_cell_s", "s"),
    row("kernel_first_cell_after_idle_s", "s"),
    row("kernel_warm_cell_ms", "ms"),
  ];
}
