import { LauncherError } from "./launcher.js";

/** One host of an SSH cluster. */
export interface SSHHost {
  /** Host name or address (or an alias from the ssh config). */
  host: string;
  user?: string;
  port?: number;
  /** How many engines it takes (default 1); more engines than the total go round by this weight. */
  n?: number;
}

/**
 * Reads a host as people write it: `node1`, `alice@node1`, `node1:2222`, `alice@node1:2222`,
 * `[fe80::1]:2222`, each optionally followed by `=N` for N engines there (`node1=4`).
 */
export function parseSSHHost(spec: string | SSHHost): SSHHost {
  if (typeof spec !== "string") {
    if (typeof spec?.host !== "string" || spec.host === "")
      throw new LauncherError(`an ssh host needs a "host" name, got ${JSON.stringify(spec)}`);
    checkCount(spec.n, spec.host);
    if (spec.port !== undefined) checkPort(spec.port, spec.host);
    return { ...spec };
  }
  const m = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:=@\s]+)(?::(\d+))?(?:=(\d+))?$/.exec(spec.trim());
  if (!m)
    throw new LauncherError(
      `cannot read ssh host "${spec}": write host, user@host, host:port or user@host:port, optionally with =N engines (node1=4)`,
    );
  const host: SSHHost = { host: m[2]!.replace(/^\[|\]$/g, "") };
  if (m[1]) host.user = m[1];
  if (m[3]) host.port = checkPort(Number(m[3]), spec);
  if (m[4]) host.n = checkCount(Number(m[4]), spec);
  return host;
}

function checkPort(port: number, what: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new LauncherError(`ssh port of "${what}" must be 1-65535, got ${port}`);
  return port;
}

function checkCount(n: number | undefined, what: string): number | undefined {
  if (n !== undefined && (!Number.isInteger(n) || n < 1))
    throw new LauncherError(`engine count of ssh host "${what}" must be a whole number ≥ 1, got ${n}`);
  return n;
}

/** `user@host` (what ssh takes as its destination). */
export function sshDestination(h: SSHHost): string {
  return h.user ? `${h.user}@${h.host}` : h.host;
}

/** The host as people wrote it, for messages: `alice@node1:2222`. */
export function formatSSHHost(h: SSHHost): string {
  const host = h.host.includes(":") ? `[${h.host}]` : h.host;
  return `${h.user ? `${h.user}@` : ""}${host}${h.port ? `:${h.port}` : ""}`;
}

/** True for names that always mean this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

/**
 * Which host each of `n` new engines goes to: the one with the fewest engines for its weight
 * (`n` of {@link SSHHost}, default 1), first listed on ties. Starting Σweights engines on an
 * empty cluster gives every host exactly its count.
 */
export function placeEngines(hosts: readonly SSHHost[], running: readonly number[], n: number): number[] {
  const load = hosts.map((_, i) => running[i] ?? 0);
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    let best = 0;
    for (let i = 1; i < hosts.length; i++) {
      const wi = hosts[i]!.n ?? 1;
      const wb = hosts[best]!.n ?? 1;
      if ((load[i]! + 1) / wi < (load[best]! + 1) / wb) best = i;
    }
    load[best]!++;
    out.push(best);
  }
  return out;
}
