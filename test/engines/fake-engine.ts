/**
 * A process that holds a cluster's key and registers with its controller as an engine, for tests
 * of what a controller and its clients do with an engine that lies (another process's pid), never
 * answers (no heart), or sends what a real engine would not. It answers nothing on its own:
 * the test reads what it receives and sends what it likes.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Dealer } from "zeromq";
import { Heart } from "../../engines/engine/heart.js";
import type { ConnectionInfo } from "../../engines/wire/protocol/connection-file.js";
import type { AnyMessage, ContentByType, EngineId, Message } from "../../engines/wire/protocol/messages.js";
import { Signer } from "../../engines/wire/protocol/signing.js";
import { controllerCredentials } from "../../engines/wire/transport/controller-auth.js";
import { SignedSocket } from "../../engines/wire/transport/signed-socket.js";

/** What the fake engine claims at registration. */
export interface FakeEngineOptions {
  pid?: number;
  hostname?: string;
  lane?: string;
  host_id?: string;
  /** Echo the controller's heartbeats with a real heart (default true); false: it is silent. */
  heart?: boolean;
}

export class FakeEngine {
  readonly uuid = randomUUID();
  readonly sock: SignedSocket;
  /** Everything the controller sent it, in order. */
  readonly received: AnyMessage[] = [];
  id: EngineId = -1;
  #heart: Heart | undefined;
  #waiters: (() => void)[] = [];

  private constructor(readonly info: ConnectionInfo) {
    const signer = new Signer(info.key);
    this.sock = new SignedSocket(
      new Dealer({
        routingId: this.uuid,
        linger: 0,
        ...controllerCredentials(signer, info.encrypted === true),
      }),
      signer,
      this.uuid,
      "fake engine",
    );
  }

  /** Connects and registers; resolves once the controller gave it an id. */
  static async register(info: ConnectionInfo, opts: FakeEngineOptions = {}): Promise<FakeEngine> {
    const e = new FakeEngine(info);
    const heartId = `heart-${e.uuid}`;
    if (opts.heart !== false)
      e.#heart = new Heart(
        info.ping_url!,
        info.heartbeat_url,
        heartId,
        e.sock.signer,
        info.encrypted === true,
        () => {},
      );
    (e.sock.socket as Dealer).connect(info.engine_url);
    void e.#loop();
    await e.sock.send("registration_request", {
      uuid: e.uuid,
      pid: opts.pid ?? process.pid,
      hostname: opts.hostname ?? hostname(),
      heart: heartId,
      ...(opts.lane ? { lane: opts.lane } : {}),
      ...(opts.host_id ? { host_id: opts.host_id } : {}),
    });
    const reply = (await e.next("registration_reply")) as Message<"registration_reply">;
    if (reply.content.status !== "ok") {
      await e.close(); // its heart's proxy would keep this process alive
      throw new Error(`registration refused: ${reply.content.evalue}`);
    }
    e.id = reply.content.id;
    return e;
  }

  async #loop(): Promise<void> {
    try {
      for await (const msg of this.sock.messages()) {
        this.received.push(msg);
        for (const w of this.#waiters.splice(0)) w();
      }
    } catch {
      // closed
    }
  }

  /** The first message of `type` received (now or within `ms`). */
  async next(type: string, ms = 5000): Promise<AnyMessage> {
    const end = Date.now() + ms;
    for (;;) {
      const found = this.received.find((m) => m.header.msg_type === type);
      if (found) return found;
      const left = end - Date.now();
      if (left <= 0) throw new Error(`the fake engine received no ${type} within ${ms} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Signs and sends a message to the controller. */
  send<T extends keyof ContentByType>(
    type: T,
    content: ContentByType[T],
    opts: Parameters<SignedSocket["send"]>[2] = {},
  ): Promise<unknown> {
    return this.sock.send(type, content, opts);
  }

  /** Stops the heart and closes the socket (the controller notices through heartbeats). */
  async close(): Promise<void> {
    await this.#heart?.stop();
    await this.sock.close();
  }
}
