import { setTimeout } from "node:timers";
import type { Dealer, Publisher, Router } from "zeromq";
import type { Header } from "../protocol/frames.js";
import {
  type CodecOptions,
  type DropCounts,
  MessageCodec,
  type MessageSink,
  type SendOptions,
  type SocketRole,
} from "../protocol/message-codec.js";
import type { AnyMessage, ContentByType, MsgType } from "../protocol/messages.js";
import type { Signer } from "../protocol/signing.js";
import { SendQueue } from "./send-queue.js";

export {
  CLUSTER_FRAMING,
  type DropCounts,
  type SendOptions,
  type SocketRole,
} from "../protocol/message-codec.js";

/**
 * A zeromq socket that speaks the signed cluster protocol: typed sends through a
 * {@link SendQueue}, and a receive loop that verifies, decodes and drops bad messages (counted
 * and logged, never handed on).
 */
export class SignedSocket implements MessageSink {
  readonly queue: SendQueue;
  readonly codec: MessageCodec;

  constructor(
    /** A publisher only sends: never call {@link messages} on one. */
    readonly socket: Router | Dealer | Publisher,
    readonly signer: Signer,
    readonly session: string,
    label: string,
    role: SocketRole = "receiver",
    opts: CodecOptions = {},
  ) {
    this.codec = new MessageCodec(signer, session, label, role, opts);
    this.queue = new SendQueue({ send: (f) => socket.send(f as Uint8Array[]) }, (err) =>
      this.codec.log(`send failed: ${(err as Error).message}`),
    );
  }

  /** Counts of dropped messages, by reason. */
  get dropped(): DropCounts {
    return this.codec.dropped;
  }

  /** Total number of dropped messages. */
  get droppedTotal(): number {
    return this.codec.droppedTotal;
  }

  /** Builds a header for `type` in this socket's session. */
  header<T extends MsgType>(type: T): Header<T> {
    return this.codec.header(type);
  }

  /** Signs and queues a message; resolves with its header once the socket accepted it. */
  async send<T extends MsgType>(
    type: T,
    content: ContentByType[T],
    opts: SendOptions = {},
  ): Promise<Header<T>> {
    const { header, frames } = this.codec.encode(type, content, opts);
    await this.queue.send(frames);
    return header;
  }

  /** Re-sends a received message unchanged (same signature) to other identities. */
  forward(msg: { raw: readonly Buffer[] }, identities: readonly Uint8Array[]): Promise<void> {
    return this.queue.send([...identities, ...msg.raw]);
  }

  /** Decodes one received multipart message, or returns undefined after counting a drop. */
  decode(frames: Buffer[]): AnyMessage | undefined {
    return this.codec.decode(frames);
  }

  /**
   * Has a ROUTER tell `gone` the routing id of each peer whose connection ends (libzmq's
   * ZMQ_ROUTER_NOTIFY, a draft option: the peer's id and an empty frame, which no peer can send
   * for another). Call before binding.
   */
  watchPeers(gone: (identity: Buffer) => void): void {
    const ROUTER_NOTIFY = 97;
    const NOTIFY_DISCONNECT = 2;
    (this.socket as unknown as { setInt32Option(o: number, v: number): void }).setInt32Option(
      ROUTER_NOTIFY,
      NOTIFY_DISCONNECT,
    );
    this.#peerGone = gone;
  }

  #peerGone: ((identity: Buffer) => void) | undefined;

  /** Receives, verifies and yields messages until the socket is closed. */
  async *messages(): AsyncGenerator<AnyMessage> {
    for await (const frames of this.socket as Router | Dealer) {
      if (this.#peerGone && frames.length === 2 && frames[1]!.length === 0) {
        this.#peerGone(frames[0]!);
        continue;
      }
      const msg = this.codec.decode(frames);
      if (msg) yield msg;
    }
  }

  /** Waits for queued sends, then closes the socket. */
  async close(): Promise<void> {
    await Promise.race([this.queue.flush(), new Promise((r) => setTimeout(r, 200).unref())]);
    this.socket.close();
  }
}
