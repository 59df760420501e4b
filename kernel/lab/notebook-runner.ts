import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { installKernelspec, KERNEL_NAME } from "../kernelspec.js";
import { ensurePythonEnv, packageRoot } from "./python-env.js";

/** How one notebook ran. */
export interface NotebookRun {
  notebook: string;
  /** The executed copy (with outputs and any error). */
  output: string;
  seconds: number;
  ok: boolean;
  error: string | null;
}

/**
 * Executes notebooks headless through nbclient with this package's kernel (installed into a
 * temporary Jupyter path, so the user's own kernelspecs are left alone). Writes the executed
 * copies to `outDir`; `onResult` hears about each notebook as soon as it finishes.
 */
export async function executeNotebooks(
  notebooks: readonly string[],
  outDir: string,
  opts: { env?: NodeJS.ProcessEnv; onResult?: (r: NotebookRun) => void } = {},
): Promise<NotebookRun[]> {
  const python = await ensurePythonEnv(["nbclient", "nbformat", "jupyter_client"], { dev: true });
  const prefix = mkdtempSync(join(tmpdir(), "tsparallel-nb-"));
  try {
    await installKernelspec({ kind: "prefix", dir: prefix });
    const script = join(packageRoot, "python", "execute_notebooks.py");
    const child = spawn(python, [script, KERNEL_NAME, outDir, ...notebooks], {
      env: { ...process.env, ...opts.env, JUPYTER_PATH: join(prefix, "share", "jupyter") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8000);
    });
    const results: NotebookRun[] = [];
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (!line.startsWith("{")) return;
      const r = JSON.parse(line) as NotebookRun;
      results.push(r);
      opts.onResult?.(r);
    });
    const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
    if (results.length < notebooks.length) {
      throw new Error(
        `the notebook runner stopped early (exit ${code}): ${stderr.trim().split("\n").slice(-5).join("\n")}`,
      );
    }
    return results;
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
}
