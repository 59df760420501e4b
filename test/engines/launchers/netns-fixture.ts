import { networkInterfaces } from "node:os";
import { needs } from "../../helpers/system-needs.js";
import { runCommand, systemCommand } from "./daemon-process.js";

/**
 * Other "hosts" on this machine: network namespaces on one private /24, each joined by a veth
 * pair to a bridge in this (the root) namespace, which holds the subnet's first address. The
 * root namespace is the controller's host; processes started in a namespace (through
 * `nsenter --net`) reach it, and each other, only over the bridge, as the nodes of a cluster do.
 */
export interface TestNetwork {
  /** This (the root namespace's) address on the bridge. */
  hostAddress: string;
  /** The namespaces, in order. */
  hosts: TestNetnsHost[];
  /** Deletes the namespaces and the bridge. Processes in the namespaces must be stopped first. */
  remove(): void;
}

/** One namespace of a {@link TestNetwork}. */
export interface TestNetnsHost {
  /** The namespace's name (`/run/netns/<name>`). */
  name: string;
  /** Its address on the bridge. */
  address: string;
  /** Takes its link down (`false`) or up again (`true`), as a pulled cable would. */
  link(up: boolean): void;
}

/** Why a network namespace cannot be made here, or undefined when it can (root and iproute2). */
export function netnsMissing(): string | undefined {
  if (process.getuid?.() !== 0) return needs("root", "network namespaces need root");
  if (!systemCommand("ip")) return needs("netns", "ip is not installed");
  if (!systemCommand("nsenter") || !systemCommand("unshare"))
    return needs("netns", "nsenter/unshare are missing");
  return undefined;
}

/**
 * Creates `count` namespaces on one bridge; names come from this process's pid, so runs don't
 * collide. Each namespace's default route goes through the bridge's address.
 */
export function createNetwork(count: number): TestNetwork {
  const ip = systemCommand("ip")!;
  const id = process.pid % 100000;
  const bridge = `tsp${id}b`;
  // A /24 no interface here uses yet (another test run may hold one), starting from our pid's.
  const used = new Set(
    Object.values(networkInterfaces())
      .flat()
      .map((a) => /^10\.231\.(\d+)\./.exec(a?.address ?? "")?.[1]),
  );
  let third = id % 250;
  while (used.has(String(third))) third = (third + 1) % 250;
  const subnet = `10.231.${third}`;
  const hostAddress = `${subnet}.1`;
  const hosts: TestNetnsHost[] = [];
  const names = Array.from({ length: count }, (_, i) => `tsp-ns-${id}-${i + 1}`);
  const remove = () => {
    for (const [i, name] of names.entries()) {
      try {
        runCommand(ip, ["netns", "del", name]);
      } catch {
        // not there
      }
      // A namespace lives on while sockets of its dead processes still retransmit (a cut link);
      // its veth pair, and the link to this namespace, go now.
      try {
        runCommand(ip, ["link", "del", `tsp${id}h${i + 1}`]);
      } catch {
        // went with the namespace
      }
    }
    try {
      runCommand(ip, ["link", "del", bridge]);
    } catch {
      // not there
    }
  };
  try {
    runCommand(ip, ["link", "add", bridge, "type", "bridge"]);
    runCommand(ip, ["addr", "add", `${hostAddress}/24`, "dev", bridge]);
    runCommand(ip, ["link", "set", bridge, "up"]);
    names.forEach((name, i) => {
      const [outer, inner] = [`tsp${id}h${i + 1}`, `tsp${id}n${i + 1}`];
      const address = `${subnet}.${i + 2}`;
      runCommand(ip, ["netns", "add", name]);
      runCommand(ip, ["link", "add", outer, "type", "veth", "peer", "name", inner]);
      runCommand(ip, ["link", "set", inner, "netns", name]);
      runCommand(ip, ["link", "set", outer, "master", bridge]);
      runCommand(ip, ["link", "set", outer, "up"]);
      runCommand(ip, ["-n", name, "addr", "add", `${address}/24`, "dev", inner]);
      runCommand(ip, ["-n", name, "link", "set", inner, "up"]);
      runCommand(ip, ["-n", name, "link", "set", "lo", "up"]);
      runCommand(ip, ["-n", name, "route", "add", "default", "via", hostAddress]);
      hosts.push({
        name,
        address,
        link: (up) => runCommand(ip, ["link", "set", outer, up ? "up" : "down"]),
      });
    });
  } catch (e) {
    remove();
    throw e;
  }
  return { hostAddress, hosts, remove };
}
