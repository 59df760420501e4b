import { Buffer } from "node:buffer";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tcpEndpoint } from "../../engines/wire/transport/tcp-endpoint.js";

/**
 * A TCP forwarder on loopback that keeps every byte it passes, both ways: what an eavesdropper on
 * the link would see.
 */
export class RecordingProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #seen: Buffer[] = [];
  port = 0;

  private constructor(to: { host: string; port: number }) {
    this.#server = createServer((inbound) => {
      const outbound = connect(to);
      for (const [from, into] of [
        [inbound, outbound],
        [outbound, inbound],
      ] as const) {
        this.#sockets.add(from);
        from.on("data", (chunk: Buffer) => {
          this.#seen.push(Buffer.from(chunk));
          into.write(chunk);
        });
        from.on("close", () => into.destroy());
        from.on("error", () => {});
      }
    });
  }

  /** Starts a proxy to `to` ("tcp://host:port" or host and port). */
  static async start(to: string | { host: string; port: number }): Promise<RecordingProxy> {
    const target = typeof to === "string" ? parseTcpUrl(to) : to;
    const proxy = new RecordingProxy(target);
    await new Promise<void>((r) => proxy.#server.listen(0, "127.0.0.1", r));
    proxy.port = (proxy.#server.address() as { port: number }).port;
    return proxy;
  }

  /** The proxy's own address as a ZeroMQ endpoint. */
  get url(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  /** Every byte that passed, both directions, in arrival order. */
  get seen(): Buffer {
    return Buffer.concat(this.#seen);
  }

  close(): void {
    this.#server.close();
    for (const s of this.#sockets) s.destroy();
  }
}

/** Host and port of a "tcp://host:port" URL; throws for anything else. */
export function parseTcpUrl(url: string): { host: string; port: number } {
  const endpoint = tcpEndpoint(url);
  if (!endpoint) throw new Error(`not a tcp:// URL: ${url}`);
  return endpoint;
}
