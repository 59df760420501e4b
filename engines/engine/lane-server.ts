import { createServer, type Server, type Socket } from "node:net";
import { networkInterfaces } from "node:os";
import process from "node:process";
import type { MessageCodec } from "../wire/message-codec.js";
import type { AnyMessage } from "../wire/messages.js";
import { StreamSocket } from "../wire/stream-socket.js";

/**
 * The engine's end of the lanes: a TCP server that clients connect to directly, so a direct
 * view's task takes one hop each way instead of two through the controller (see engines/README.md,
 * "Lanes"). Every message is signed with the cluster key and verified like those from the
 * controller; a connection that breaks the framing is closed.
 */
export class LaneServer {
  readonly #server: Server;
  readonly #lanes = new Set<StreamSocket>();

  constructor(codec: () => MessageCodec, onMessage: (msg: AnyMessage, lane: StreamSocket) => void) {
    this.#server = createServer((socket: Socket) => {
      const lane = new StreamSocket(socket, codec(), onMessage);
      this.#lanes.add(lane);
      socket.on("close", () => this.#lanes.delete(lane));
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
 * `$TSPARALLEL_LANE_HOST` or the first external IPv4 address.
 */
export function laneAddress(engineUrl: string): { bind: string; advertise: string } {
  const host = /^tcp:\/\/(.+):\d+$/.exec(engineUrl)?.[1]?.replace(/^\[|\]$/g, "") ?? "127.0.0.1";
  if (host === "localhost" || host.startsWith("127.") || host === "::1")
    return { bind: host, advertise: host };
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
  return { bind: "0.0.0.0", advertise: process.env.TSPARALLEL_LANE_HOST ?? external ?? host };
}
