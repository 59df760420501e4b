import { createServer, type Server, type Socket } from "node:net";
import { networkInterfaces } from "node:os";
import process from "node:process";
import type { MessageCodec } from "../wire/protocol/message-codec.js";
import type { AnyMessage } from "../wire/protocol/messages.js";
import { StreamSocket } from "../wire/transport/stream-socket.js";
import { isLoopbackHost, tcpEndpoint } from "../wire/transport/tcp-endpoint.js";

/**
 * The engine's end of the lanes: a TCP server that clients connect to directly, so a direct
 * view's task takes one hop each way instead of two through the controller (see engines/README.md,
 * "Lanes"). Every message is signed with the cluster key and verified like those from the
 * controller; a connection that breaks the framing is closed. On an encrypted cluster every lane
 * runs inside TLS.
 */
export class LaneServer {
  readonly #server: Server;
  readonly #lanes = new Set<StreamSocket>();

  /** `encrypted`: every lane runs inside TLS (the cluster is encrypted). */
  constructor(
    codec: () => MessageCodec,
    encrypted: boolean,
    onMessage: (msg: AnyMessage, lane: StreamSocket) => void,
  ) {
    // Paused at connect: StreamSocket.accept moves the connection to a socket that reads in place
    // (or, encrypted, starts TLS over it).
    this.#server = createServer({ pauseOnConnect: true }, (socket: Socket) => {
      const lane = StreamSocket.accept(socket, codec(), onMessage, { encrypted });
      this.#lanes.add(lane);
      lane.socket.on("close", () => this.#lanes.delete(lane));
    });
    // Lanes never keep an engine alive: it lives as long as its controller connection.
    this.#server.unref();
  }

  /** Listens on `host` (port chosen by the system); resolves with the port. */
  listen(host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(0, host, () => {
        const addr = this.#server.address();
        if (addr === null || typeof addr === "string") return reject(new Error("lane server has no port"));
        resolve(addr.port);
      });
    });
  }

  /** Closes the server and every connection. */
  close(): void {
    this.#server.close();
    for (const l of this.#lanes) l.socket.destroy();
  }
}

/**
 * Where an engine's lane listens and what address it tells clients, given the controller's
 * engine URL: loopback when the cluster is loopback-only, else every interface, advertised as
 * `$TSPARALLEL_LANE_HOST`, or this host's address on the controller's subnet (clients reach the
 * controller there, so they can reach this host there too), or the first external IPv4 address.
 * The subnet matters on hosts with several networks (a management Ethernet and a fast cluster
 * network, or a veth link to another namespace): the first address found is often not the one
 * that other hosts can reach.
 */
export function laneAddress(engineUrl: string): { bind: string; advertise: string } {
  const host = tcpEndpoint(engineUrl)?.host ?? "127.0.0.1";
  if (isLoopbackHost(host)) return { bind: host, advertise: host };
  const external = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === "IPv4" && !a.internal);
  const sameSubnet = external.find((a) => a && inSubnet(host, a.address, a.netmask));
  return {
    bind: "0.0.0.0",
    advertise: process.env.TSPARALLEL_LANE_HOST || (sameSubnet ?? external[0])?.address || host,
  };
}

/** True when IPv4 addresses `a` and `b` share the network of `netmask`. */
function inSubnet(a: string, b: string, netmask: string): boolean {
  const num = (ip: string) => ip.split(".").reduce((n, part) => (n << 8) | Number(part), 0) >>> 0;
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(a)) return false;
  const mask = num(netmask);
  return (num(a) & mask) >>> 0 === (num(b) & mask) >>> 0;
}
