import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";

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
  try {
    const url = import.meta.resolve(`${name}/package.json`);
    return JSON.parse(readFileSync(new URL(url), "utf8")).version as string;
  } catch {
    return "unknown";
  }
}

function openblas(): string {
  try {
    const line = execFileSync("dpkg-query", ["-W", "libopenblas0-pthread"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    return line.toString().split("\t")[1]?.trim() ?? "";
  } catch {
    return "";
  }
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
      openblas: openblas() || "not installed",
      ...extra,
    },
  };
}
