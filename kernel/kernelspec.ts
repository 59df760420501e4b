import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { withHugePages } from "../engines/launchers/huge-pages.js";
import { ensureStartupSnapshot, kernelLauncher, SNAPSHOT_BLOB } from "./compiler/snapshot-build.js";
import { ownPackage } from "./protocol/kernel-info.js";

/** Where `tsparallel install` puts the kernelspec. */
export type InstallTarget = { kind: "user" } | { kind: "sys-prefix" } | { kind: "prefix"; dir: string };

/** The kernelspec could not be placed; the message says which option to use instead. */
export class KernelspecError extends Error {
  override readonly name = "KernelspecError";
  readonly code = "KERNELSPEC_LOCATION";
}

/** The kernel's name in Jupyter (`jupyter kernelspec list`, `--kernel tsparallel`). */
export const KERNEL_NAME = "tsparallel";

/** Jupyter's kernel.json for this installation. */
export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: "message" | "signal";
  kernel_protocol_version: string;
  env: Record<string, string>;
  metadata: Record<string, unknown>;
}

/**
 * V8 flags of the kernel process. Its cluster client keeps every task of a flood in flight at once
 * (10,000 `apply`s go out before the first reply is read), far more than V8's default 16 MiB young
 * generation holds, so scavenges copied and promoted them again and again: a quarter of the
 * client's CPU. With semi-spaces of up to 64 MiB instead of 16, a flood of 10,000 tiny tasks went from a median of
 * ~25,000 to ~27,500 tasks/s (three runs of six floods each, quiet machine). The young generation
 * grows only in a process that allocates that fast.
 */
export const KERNEL_NODE_FLAGS = ["--max-semi-space-size=64"] as const;

/**
 * The kernelspec: absolute paths to this node and this package's launcher. With `snapshotBlob`,
 * the kernel starts through bin/tsparallel-kernel, which restores it from that startup snapshot
 * while the snapshot fits this node binary (see compiler/snapshot-build.ts).
 */
export function kernelSpec(snapshotBlob?: string): KernelSpec {
  const root = dirname(ownPackage().path);
  const script = join(root, "bin", "tsparallel.js");
  // Pulled and gathered arrays land in the kernel: huge pages for them, as engines get.
  const tunables = withHugePages(process.env);
  const args = ["kernel", "{connection_file}"];
  return {
    argv: snapshotBlob
      ? [
          "/bin/sh",
          kernelLauncher(),
          process.execPath,
          snapshotBlob,
          script,
          KERNEL_NODE_FLAGS.join(" "),
          ...args,
        ]
      : [process.execPath, ...KERNEL_NODE_FLAGS, script, ...args],
    display_name: "TypeScript (parallel)",
    language: "typescript",
    interrupt_mode: "message",
    kernel_protocol_version: "5.3",
    env: tunables ? { GLIBC_TUNABLES: tunables } : {},
    metadata: { debugger: false },
  };
}

/** Jupyter's per-user data dir, by jupyter_core's rules (JUPYTER_DATA_DIR wins). */
export function userDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.JUPYTER_DATA_DIR) return resolve(env.JUPYTER_DATA_DIR);
  const home = homedir();
  if (process.platform === "darwin") return join(home, "Library", "Jupyter");
  if (process.platform === "win32") return join(env.APPDATA ?? join(home, "AppData", "Roaming"), "jupyter");
  return join(env.XDG_DATA_HOME || join(home, ".local", "share"), "jupyter");
}

function findOnPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

/** The Python environment's prefix: an active venv or conda env, else the python3 on PATH. */
export function sysPrefix(env: NodeJS.ProcessEnv = process.env): string {
  if (env.VIRTUAL_ENV) return resolve(env.VIRTUAL_ENV);
  if (env.CONDA_PREFIX) return resolve(env.CONDA_PREFIX);
  const python = findOnPath("python3", env);
  if (python) {
    try {
      // Ask the interpreter when it is there: a Homebrew or pyenv python3 lives outside its prefix.
      return execFileSync(python, ["-c", "import sys; print(sys.prefix)"], { encoding: "utf8" }).trim();
    } catch {
      return dirname(dirname(python));
    }
  }
  throw new KernelspecError(
    "--sys-prefix: no VIRTUAL_ENV or CONDA_PREFIX is set and there is no python3 on PATH; activate the environment or use --prefix DIR",
  );
}

/** The kernels/ folder a target stands for. */
export function kernelsDir(target: InstallTarget, env: NodeJS.ProcessEnv = process.env): string {
  switch (target.kind) {
    case "user":
      return join(userDataDir(env), "kernels");
    case "sys-prefix":
      return join(sysPrefix(env), "share", "jupyter", "kernels");
    case "prefix":
      return join(resolve(target.dir), "share", "jupyter", "kernels");
  }
}

const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
<rect width="64" height="64" rx="8" fill="#3178c6"/>
<text x="8" y="44" font-family="Helvetica, Arial, sans-serif" font-size="30" font-weight="bold" fill="#fff">TS</text>
<path d="M48 14v36M56 14v36" stroke="#fff" stroke-width="4"/>
</svg>
`;

/** What `installKernelspec` did. */
export interface KernelspecInstall {
  dir: string;
  /** The startup snapshot's blob, or why there is none. */
  snapshot: { blob: string; libraries: number; built: boolean; seconds: number } | { skipped: string };
}

/**
 * Writes kernel.json (and a logo) for `target`, with a startup snapshot unless `snapshot` is
 * false or the platform has no POSIX shell for the launcher. A snapshot that cannot be built
 * leaves a kernelspec that starts the kernel plainly.
 */
export async function installKernelspec(
  target: InstallTarget,
  env: NodeJS.ProcessEnv = process.env,
  options: { snapshot?: boolean } = {},
): Promise<KernelspecInstall> {
  const dir = join(kernelsDir(target, env), KERNEL_NAME);
  await mkdir(dir, { recursive: true });
  const blob = join(dir, SNAPSHOT_BLOB);
  let snapshot: KernelspecInstall["snapshot"];
  if (options.snapshot === false) snapshot = { skipped: "--no-snapshot" };
  else if (process.platform === "win32") snapshot = { skipped: "not on Windows" };
  else {
    const started = performance.now();
    try {
      const { libraries, built } = await ensureStartupSnapshot(blob, KERNEL_NODE_FLAGS);
      snapshot = { blob, libraries, built, seconds: (performance.now() - started) / 1000 };
    } catch (err) {
      snapshot = { skipped: err instanceof Error ? err.message : String(err) };
    }
  }
  if ("skipped" in snapshot) await rm(blob, { force: true }).then(() => rm(`${blob}.stamp`, { force: true }));
  const spec = kernelSpec("blob" in snapshot ? snapshot.blob : undefined);
  await writeFile(join(dir, "kernel.json"), `${JSON.stringify(spec, null, 2)}\n`);
  await writeFile(join(dir, "logo-svg.svg"), LOGO_SVG);
  return { dir, snapshot };
}
