/**
 * What a test needs from the machine that `npm test` cannot provide by itself (Debian packages,
 * root), named the same way everywhere so the run's summary can group the skips and say what to
 * install. The groups and their packages are in scripts/system-packages.txt, the one list that
 * scripts/install-system-packages.sh installs from.
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { venvPython } from "../../kernel/lab/python-env.js";
import { backendError } from "../../ndarray/index.js";

/** A group of scripts/system-packages.txt, or `root` for tests that must run as root. */
export type SystemNeed =
  | "compiler"
  | "openblas"
  | "python-venv"
  | "chromium"
  | "sshd"
  | "slurm"
  | "mpi"
  | "netns"
  | "setpriv"
  | "root";

const LIST = fileURLToPath(new URL("../../../scripts/system-packages.txt", import.meta.url));

/** Group → Debian packages, from scripts/system-packages.txt. */
export function systemPackages(): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const line of readFileSync(LIST, "utf8").split("\n")) {
    if (line.startsWith("#")) continue;
    const [group, packages] = line.split("|").map((s) => s.trim());
    if (group && packages) groups.set(group, packages.split(/\s+/));
  }
  return groups;
}

/**
 * The skip reason of a test that cannot run without `need`: `SKIP[system:sshd] sshd is not
 * installed`. The tag is what scripts/run-tests.mjs groups by (and what CI refuses to skip).
 */
export function needs(need: SystemNeed, detail: string): string {
  return `SKIP[system:${need}] ${detail}`;
}

/**
 * Why .venv cannot import `modules`, as a skip reason, or undefined when it can. `npm test` makes
 * and fills .venv before the run (scripts/run-tests.mjs), so a miss here means it could not: no
 * python3, or no venv module (Debian's python3-venv).
 */
export function venvMissing(modules: readonly string[]): string | undefined {
  if (!existsSync(venvPython))
    return needs(
      "python-venv",
      `no Python environment at ${venvPython} (npm test makes it with python3 -m venv)`,
    );
  const r = spawnSync(venvPython, ["-c", `import ${modules.join(", ")}`], { encoding: "utf8" });
  if (r.status === 0) return undefined;
  return needs(
    "python-venv",
    `${venvPython} cannot import ${modules.join(", ")}: ${r.stderr.trim().split("\n").pop()}`,
  );
}

/** Why the native GEMM backend cannot run here, as a skip reason, or undefined when it can. */
export function nativeBackendMissing(): string | undefined {
  const why = backendError("native");
  if (!why) return undefined;
  return needs(/addon is not built/.test(why) ? "compiler" : "openblas", why);
}
