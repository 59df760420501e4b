import { networkInterfaces } from "node:os";
import { needs } from "../../helpers/system-needs.js";
import { runCommand, systemCommand } from "./daemon-process.js";

/**
 * A second "host" on this machine: a network namespace joined to this one by a veth pair, each
 * end with its own address on a private /24. Processes started in it (through `nsenter --net`)
 * reach this host only over that link, as a remote node would.
 */
export interface TestNetns {
  name: string;
  /** This (the root namespace's) end of the link. */
  hostAddress: string;
  /** The namespace's end. */
  nsAddress: string;
  /** Takes the link down (`false`) or up again (`true`), as a pulled cable would. */
  link(up: boolean): void;
  /** Deletes the namespace (and with it the veth pair). Processes in it must be stopped first. */
  remove(): void;
}

/** Why a network namespace cannot be made here, or undefined when it can (root and iproute2). */
export function netnsMissing(): string | undefined {
  if (process.getuid?.() !== 0) return needs("root", "network namespaces need root");
  if (!systemCommand("ip")) return needs("netns", "ip is not installed");
  if (!systemCommand("nsenter") || !systemCommand("unshare"))
    return needs("netns", "nsenter/unshare are missing");
  return undefined;
}

/** Creates the namespace and link; names come from this process's pid, so runs don't collide. */
export function createNetns(): TestNetns {
  const ip = systemCommand("ip")!;
  const id = process.pid;
  const name = `tsp-ns-${id}`;
  const [hostIf, nsIf] = [`tsp${id % 100000}h`, `tsp${id % 100000}n`];
  // A /24 no interface here uses yet (another test run may hold one), starting from our pid's.
  const used = new Set(
    Object.values(networkInterfaces())
      .flat()
      .map((a) => /^10\.231\.(\d+)\./.exec(a?.address ?? "")?.[1]),
  );
  let third = id % 250;
  while (used.has(String(third))) third = (third + 1) % 250;
  const subnet = `10.231.${third}`;
  const net = { name, hostAddress: `${subnet}.1`, nsAddress: `${subnet}.2` };
  const remove = () => {
    try {
      runCommand(ip, ["netns", "del", name]);
    } catch {
      // not there
    }
    try {
      runCommand(ip, ["link", "del", hostIf]);
    } catch {
      // went with the namespace
    }
  };
  try {
    runCommand(ip, ["netns", "add", name]);
    runCommand(ip, ["link", "add", hostIf, "type", "veth", "peer", "name", nsIf]);
    runCommand(ip, ["link", "set", nsIf, "netns", name]);
    runCommand(ip, ["addr", "add", `${net.hostAddress}/24`, "dev", hostIf]);
    runCommand(ip, ["link", "set", hostIf, "up"]);
    runCommand(ip, ["-n", name, "addr", "add", `${net.nsAddress}/24`, "dev", nsIf]);
    runCommand(ip, ["-n", name, "link", "set", nsIf, "up"]);
    runCommand(ip, ["-n", name, "link", "set", "lo", "up"]);
  } catch (e) {
    remove();
    throw e;
  }
  const link = (up: boolean) => runCommand(ip, ["link", "set", hostIf, up ? "up" : "down"]);
  return { ...net, link, remove };
}
