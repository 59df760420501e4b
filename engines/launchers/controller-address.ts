import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import { isIPv6 } from "node:net";
import { networkInterfaces } from "node:os";
import { promisify } from "node:util";
import type { LauncherSpec } from "./launcher-spec.js";
import { isLoopbackHost, type SSHHost } from "./ssh-host.js";
import { sshArgsFor } from "./ssh-launcher.js";

const run = promisify(execFile);

/**
 * The address a controller binds when the caller named none: loopback for local engines (nothing
 * else can reach it), else one the launcher's engines can reach. For ssh that is this machine's
 * address on the route towards the first remote host; for Slurm and MPI, whose nodes are not known
 * in advance, the first external IPv4 address. Loopback when there is none.
 */
export async function controllerAddress(spec: LauncherSpec): Promise<string> {
  if (spec.kind === "local") return "127.0.0.1";
  if (spec.kind === "ssh") {
    const remote = (spec.hosts as SSHHost[]).find((h) => !isLoopbackHost(h.host));
    if (!remote) return "127.0.0.1";
    const target = await sshHostName(spec, remote);
    const local = await sourceAddressTowards(target);
    if (local && !isLoopbackHost(local)) return local;
  }
  return firstExternalIPv4() ?? "127.0.0.1";
}

/** The real host name behind an ssh destination (aliases resolved by `ssh -G`, which connects nowhere). */
async function sshHostName(spec: LauncherSpec & { kind: "ssh" }, host: SSHHost): Promise<string> {
  try {
    const { stdout } = await run(spec.sshCommand ?? "ssh", ["-G", ...sshArgsFor(spec, host)], {
      timeout: 5000,
    });
    return /^hostname (\S+)$/m.exec(stdout)?.[1] ?? host.host;
  } catch {
    return host.host;
  }
}

/**
 * The local address the system would send from to reach `host` (a connected UDP socket picks the
 * route; no packet is sent). Undefined when the name does not resolve or there is no route.
 */
export function sourceAddressTowards(host: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket(isIPv6(host) ? "udp6" : "udp4");
    const done = (address: string | undefined) => {
      sock.close();
      resolve(address);
    };
    sock.once("error", () => done(undefined));
    sock.connect(9, host, () => {
      try {
        done(sock.address().address);
      } catch {
        done(undefined);
      }
    });
  });
}

/** This machine's first IPv4 address that is not loopback. */
export function firstExternalIPv4(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
}
