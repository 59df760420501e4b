import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { pipInstall } from "./pip-progress.js";

/** The package's root folder (where package.json and .venv live). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/**
 * The Python environment `tsparallel lab` and the tests use: `.venv` in a checkout of the
 * repository; for an installed package (inside node_modules, which may be shared or read-only) a
 * per-user one under $XDG_DATA_HOME/tsparallel; `TSPARALLEL_VENV` overrides both.
 */
export const venvDir =
  process.env.TSPARALLEL_VENV ??
  (packageRoot.split(sep).includes("node_modules")
    ? join(process.env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "tsparallel", "venv")
    : join(packageRoot, ".venv"));

/** Its interpreter. */
export const venvPython = join(venvDir, "bin", "python");

/** A Python environment could not be made; the message says what to install. */
export class PythonEnvError extends Error {
  override readonly name = "PythonEnvError";
  readonly code = "PYTHON_ENV" as const;
}

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.error || r.status !== 0) {
    throw new PythonEnvError(
      `${what} failed (${cmd} ${args.join(" ")}): ${r.error?.message ?? `exit ${r.status}`}`,
    );
  }
}

function hasModules(python: string, modules: string[]): boolean {
  const r = spawnSync(python, ["-c", `import ${modules.join(", ")}`], { stdio: "ignore" });
  return r.status === 0;
}

/**
 * The venv sits inside this package, whose package.json says "type": "module"; Node tools that
 * Python packages ship (JupyterLab's yarn.js) would then load as ES modules and fail. A
 * package.json of the venv's own makes them CommonJS again.
 */
function markCommonJs(): void {
  const file = join(venvDir, "package.json");
  if (!existsSync(file)) writeFileSync(file, '{ "type": "commonjs" }\n');
}

/**
 * Returns a Python interpreter that can import `modules`: the project's .venv, made (and filled
 * from python/requirements*.txt) when missing, with pip's progress on stderr (see pip-progress.ts).
 * `dev` adds the test and benchmark packages.
 */
export async function ensurePythonEnv(
  modules: string[],
  opts: { dev?: boolean; quiet?: boolean } = {},
): Promise<string> {
  if (existsSync(venvPython) && hasModules(venvPython, modules)) {
    markCommonJs();
    return venvPython;
  }
  const log = (s: string) => {
    if (!opts.quiet) process.stderr.write(`${s}\n`);
  };
  if (!existsSync(venvPython)) {
    const python = ["python3", "python"].find(
      (p) => spawnSync(p, ["--version"], { stdio: "ignore" }).status === 0,
    );
    if (!python) {
      throw new PythonEnvError(
        "no python3 found: install Python 3.9 or newer (e.g. apt-get install python3 python3-venv)",
      );
    }
    log(`tsparallel: creating a Python environment in ${venvDir} …`);
    run(
      python,
      ["-m", "venv", venvDir],
      "creating the virtual environment (on Debian: apt-get install python3-venv)",
    );
  }
  markCommonJs();
  const req = join(packageRoot, "python", opts.dev ? "requirements-dev.txt" : "requirements.txt");
  log(
    `tsparallel: installing ${opts.dev ? "JupyterLab and the test packages" : "JupyterLab"} (${req}) into ${venvDir}; once only, about half a minute on a fast network`,
  );
  try {
    await pipInstall(venvPython, ["-r", req], opts.quiet ? { write: () => {} } : process.stderr);
  } catch (e) {
    throw new PythonEnvError(
      `${(e as Error).message}\nCheck the network (or a proxy: pip reads HTTPS_PROXY), then run again.`,
    );
  }
  if (!hasModules(venvPython, modules)) {
    throw new PythonEnvError(`${venvPython} still cannot import ${modules.join(", ")} after pip install`);
  }
  return venvPython;
}
