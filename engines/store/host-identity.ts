import { createHash, randomUUID } from "node:crypto";
import { readFileSync, readlinkSync } from "node:fs";
import process from "node:process";

let cached: string | undefined;

/**
 * This process's host as shared memory sees it: the kernel's boot id, the pid namespace, and the
 * user (its user namespace and its uid there). Two processes with the same identity can open each
 * other's shared-memory segments through /proc/<pid>/fd; a host name alone cannot tell two
 * containers, or two machines given the same name, apart. The network namespace is not part of
 * it: processes in other network namespaces of the same pid namespace reach each other's /proc,
 * so they share memory as well. The user namespace is: a uid means another user in another one
 * (`unshare --user --map-root-user` makes anyone uid 0), and the kernel refuses such a process
 * another's descriptors. Empty when the system does not say (not Linux): then nothing is shared.
 */
export function hostIdentity(): string {
  if (cached !== undefined) return cached;
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const pidns = readlinkSync("/proc/self/ns/pid");
    const userns = readlinkSync("/proc/self/ns/user");
    cached = `${boot}/${pidns}/${userns}/${process.getuid?.() ?? ""}`;
  } catch {
    cached = "";
  }
  return cached;
}

/** A short tag of this host's identity, for session names (empty when there is no identity). */
export function hostTag(): string {
  const id = hostIdentity();
  return id ? createHash("sha256").update(id).digest("hex").slice(0, 16) : "";
}

/**
 * A client session name that tells engines where the client runs: `<uuid>.<pid>.<host tag>`. An
 * engine on the same host places large replies for it in the engine's own store, which the client
 * maps instead of reading a copy, and can tell when the client's process is gone.
 */
export function sessionName(sharesMemory: boolean): string {
  const uuid = randomUUID();
  return sharesMemory && hostTag() ? `${uuid}.${process.pid}.${hostTag()}` : uuid;
}

/** The process and host a session name tells, when it tells them. */
export function sessionHost(session: string): { pid: number; host: string } | undefined {
  const m = /^[0-9a-f-]{36}\.(\d+)\.([0-9a-f]{16})$/.exec(session);
  return m ? { pid: Number(m[1]), host: m[2]! } : undefined;
}
