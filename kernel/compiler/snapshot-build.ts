import { execFileSync, spawn } from "node:child_process";
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { setPriority, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ownPackage } from "../protocol/kernel-info.js";
import { kernelLog } from "../protocol/log.js";
import type { SnapshotRequest } from "./snapshot-handoff.js";
import { snapshotFitted } from "./snapshot-handoff.js";

/**
 * The kernel's V8 startup snapshot: a heap image holding TypeScript and the parsed, bound
 * libraries (lib.es2023, @types/node), which Node restores in ~0.15 s. Without it a kernel
 * spends ~0.7 s of one core loading TypeScript and parsing those libraries before it can check
 * a first cell; it does so in the background after `kernel_info`, which serves a person who
 * types, but not nbclient or papermill, which send the first cell at once.
 *
 * `tsparallel install` builds the blob next to kernel.json, and kernel.json starts the kernel
 * through bin/tsparallel-kernel, which uses the blob only while it fits the node binary. A kernel
 * that finds its snapshot stale (Node or the libraries changed) rebuilds it in the background.
 */

/** How long a rebuild a kernel started keeps others from starting one, in ms. */
const REBUILD_LOCK_MS = 120_000;

/** The blob's name in the kernelspec folder. */
export const SNAPSHOT_BLOB = "kernel-snapshot.blob";

/** This package's folder (the module stays light: the kernelspec code imports it). */
function packageRoot(): string {
  return dirname(ownPackage().path);
}

/** The launcher kernel.json runs: it picks the snapshot or the plain start. */
export function kernelLauncher(): string {
  return join(packageRoot(), "bin", "tsparallel-kernel");
}

/** The snapshot could not be built; the kernel starts without one (only more slowly). */
export class SnapshotBuildError extends Error {
  override readonly name = "SnapshotBuildError";
  readonly code = "SNAPSHOT_BUILD";
}

function stderrOf(err: unknown): string {
  const stderr = (err as { stderr?: Buffer | string }).stderr?.toString() ?? "";
  const lines = stderr.split("\n").filter((l) => l.trim() && !l.includes("ExperimentalWarning"));
  return lines.slice(-3).join(" ") || String(err);
}

/** What the blob says of itself when restored in check mode. */
interface SnapshotReport {
  libraries: number;
  fits: boolean;
  packageVersion: string;
}

function nodeWithSnapshot(
  blob: string,
  nodeFlags: readonly string[],
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv },
): string {
  return execFileSync(process.execPath, [...nodeFlags, "--snapshot-blob", blob, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 120_000,
  }).toString();
}

function fingerprint(blob: string): string {
  return execFileSync("/bin/sh", [kernelLauncher(), "--fingerprint", process.execPath, blob]).toString();
}

/** Restores `blob` in check mode; throws when it does not load. */
function checkSnapshot(blob: string, nodeFlags: readonly string[]): SnapshotReport {
  const out = nodeWithSnapshot(blob, nodeFlags, [], { env: { TSPARALLEL_SNAPSHOT_CHECK: "1" } });
  return JSON.parse(out) as SnapshotReport;
}

/** What `blob` holds, when it fits this node binary, this package and the files it was made from. */
function fittingSnapshot(blob: string, nodeFlags: readonly string[]): SnapshotReport | undefined {
  try {
    if (readFileSync(`${blob}.stamp`, "utf8") !== fingerprint(blob)) return undefined;
    const report = checkSnapshot(blob, nodeFlags);
    return report.fits && report.packageVersion === ownPackage().version ? report : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes sure `blob` holds a startup snapshot for this node binary and `nodeFlags` (V8 refuses a
 * blob made under other flags): an existing one that still fits is kept (a check takes ~0.2 s,
 * a build ~3 s); otherwise one is built, checked that it loads, and `blob.stamp` written for
 * the launcher. The blob is written beside its final name and renamed into place, so a kernel
 * never sees half of one.
 */
export async function ensureStartupSnapshot(
  blob: string,
  nodeFlags: readonly string[],
): Promise<{ libraries: number; built: boolean }> {
  const kept = existsSync(blob) ? fittingSnapshot(blob, nodeFlags) : undefined;
  if (kept) {
    rmSync(`${blob}.rebuilding`, { force: true });
    return { libraries: kept.libraries, built: false };
  }
  // The cells' options come from the compiler, which loads TypeScript: only when building.
  const { cellCompilerSettings } = await import("./compiler-options.js");
  const cwd = mkdtempSync(join(tmpdir(), "tsparallel-snapshot-"));
  const partial = `${blob}.${process.pid}.partial`;
  try {
    const request: SnapshotRequest = {
      typescriptFile: createRequire(import.meta.url).resolve("typescript"),
      options: cellCompilerSettings(cwd).options,
      cwd,
      entryFile: fileURLToPath(new URL("./startup-snapshot-entry.cjs", import.meta.url)),
      script: join(packageRoot(), "bin", "tsparallel.js"),
      packageVersion: ownPackage().version,
    };
    // The snapshot builder runs a script without `exports`, which the compiled entry uses, so a
    // bootstrap runs it the way Node's CommonJS loader would.
    const bootstrap = join(cwd, "bootstrap.cjs");
    writeFileSync(
      bootstrap,
      `const entry = ${JSON.stringify(request.entryFile)};
const source = require("node:fs").readFileSync(entry, "utf8");
const wrapper = require("node:vm").runInThisContext(
  "(function (exports, require, module, __filename, __dirname) {" + source + "\\n})",
  { filename: entry },
);
const module = { exports: {} };
wrapper.call(module.exports, module.exports, require, module, entry, require("node:path").dirname(entry));
`,
    );
    try {
      nodeWithSnapshot(partial, nodeFlags, ["--build-snapshot", bootstrap], {
        cwd,
        env: { TSPARALLEL_SNAPSHOT_REQUEST: JSON.stringify(request) },
      });
    } catch (err) {
      throw new SnapshotBuildError(`building the startup snapshot failed: ${stderrOf(err)}`);
    }
    let report: SnapshotReport;
    try {
      report = checkSnapshot(partial, nodeFlags);
    } catch (err) {
      throw new SnapshotBuildError(`the startup snapshot does not load: ${stderrOf(err)}`);
    }
    renameSync(partial, blob);
    writeFileSync(`${blob}.stamp`, fingerprint(blob));
    return { libraries: report.libraries, built: true };
  } finally {
    rmSync(partial, { force: true });
    rmSync(cwd, { recursive: true, force: true });
    rmSync(`${blob}.rebuilding`, { force: true });
  }
}

/**
 * Called once a kernel has warmed up: when kernel.json named a snapshot (TSPARALLEL_SNAPSHOT,
 * set by the launcher) that this process could not use, rebuilds it in a detached process at low
 * priority, so the next kernel starts from a fitting one.
 */
export function rebuildStaleSnapshot(): void {
  const blob = process.env.TSPARALLEL_SNAPSHOT;
  if (!blob || snapshotFitted()) return;
  try {
    accessSync(dirname(blob), constants.W_OK);
  } catch {
    kernelLog(
      `the startup snapshot ${blob} does not fit this Node or these libraries, and its folder is not writable: run \`tsparallel install\` again to rebuild it`,
    );
    return;
  }
  // One rebuild at a time: kernels started together after a Node upgrade would each start one.
  const lock = `${blob}.rebuilding`;
  try {
    if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs < REBUILD_LOCK_MS) {
      kernelLog(
        `the startup snapshot ${blob} does not fit this Node or these libraries; a rebuild is under way`,
      );
      return;
    }
    writeFileSync(lock, String(process.pid));
  } catch {
    return;
  }
  kernelLog(`the startup snapshot ${blob} does not fit this Node or these libraries: rebuilding it`);
  try {
    const child = spawn(process.execPath, [join(packageRoot(), "bin", "tsparallel.js"), "snapshot", blob], {
      detached: true,
      stdio: "ignore",
      env: { ...process.env, TSPARALLEL_SNAPSHOT: "" },
    });
    child.on("error", () => {});
    child.unref();
    // Below the notebook's own work: the rebuild takes a few seconds of one core.
    if (child.pid) setPriority(child.pid, 10);
  } catch {
    // The next start tries again.
  }
}
