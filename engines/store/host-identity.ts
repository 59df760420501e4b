import { readFileSync, readlinkSync } from "node:fs";
import process from "node:process";

let cached: string | undefined;

/**
 * This process's host as shared memory sees it: the kernel's boot id, the pid namespace and the
 * user. Two processes with the same identity can open each other's shared-memory segments
 * through /proc/<pid>/fd; a host name alone cannot tell two containers, or two machines given the
 * same name, apart. Empty when the system does not say (not Linux): then nothing is shared.
 */
export function hostIdentity(): string {
  if (cached !== undefined) return cached;
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const pidns = readlinkSync("/proc/self/ns/pid");
    cached = `${boot}/${pidns}/${process.getuid?.() ?? ""}`;
  } catch {
    cached = "";
  }
  return cached;
}
