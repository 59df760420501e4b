import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { backendInfo } from "../ndarray/index.js";

/** What the numbers were measured on. */
export interface MachineFacts {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  loadAverage: number[];
  node: string;
  libraries: Record<string, string>;
}

function packageVersion(name: string): string {
  // Read from node_modules: not every package exports its package.json.
  const root = fileURLToPath(new URL("../../", import.meta.url));
  for (const file of [join(root, "node_modules", name, "package.json"), join(root, "package.json")]) {
    try {
      const manifest = JSON.parse(readFileSync(file, "utf8")) as { name: string; version: string };
      if (manifest.name === name) return manifest.version;
    } catch {
      // try the next place
    }
  }
  return "unknown";
}

/** The BLAS under the native backend: Debian's package version when known, and the kernel it runs. */
function openblas(): string {
  const blas = backendInfo().blas;
  if (!blas) return "";
  let version = blas.version ?? "?";
  try {
    const line = execFileSync("dpkg-query", ["-W", "libopenblas0-pthread"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    version = line.toString().split("\t")[1]?.trim() || version;
  } catch {
    // not a Debian system: the library's own version
  }
  const forced = blas.coreType
    ? `, OPENBLAS_CORETYPE=${blas.coreType.value} set by ${blas.coreType.chosenBy}`
    : "";
  return `${version} (kernel ${blas.kernel ?? "?"}${forced})`;
}

export function machineFacts(extra: Record<string, string> = {}): MachineFacts {
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
    node: process.version,
    libraries: {
      tsparallel: packageVersion("tsparallel"),
      typescript: packageVersion("typescript"),
      zeromq: packageVersion("zeromq"),
      "apache-arrow": packageVersion("apache-arrow"),
      openblas: openblas() || "not loaded",
      ...extra,
    },
  };
}
