import { performance } from "node:perf_hooks";
import process from "node:process";
import { setTimeout } from "node:timers";
import type { Dealer, Router } from "zeromq";
import { BUFFER_DIGESTS, checkBufferDigests, checkDigestCount, digestBuffers } from "./buffer-digests.js";
import { WireError } from "./errors.js";
import { DELIMITER, decodeMessage, encodeMessage, type Header, makeHeader } from "./frames.js";
import { type AnyMessage, type ContentByType, isMsgType, type MsgType } from "./messages.js";
import { SendQueue } from "./send-queue.js";
import type { Signer } from "./signing.js";

/** `TSPARALLEL_TRACE=1` logs every message carrying over 1 MiB (where time goes in bulk transfers). */
const TRACE = process.env.TSPARALLEL_TRACE === "1";

function trace(label: string, what: string, type: string, frames: readonly Uint8Array[], ms: number): void {
  const bytes = frames.reduce((n, f) => n + f.byteLength, 0);
  if (bytes < 1 << 20) return;
  process.stderr.write(
    `[trace ${(performance.timeOrigin + performance.now()).toFixed(1)}] ${label} ${what} ${type} ${(bytes / 2 ** 20).toFixed(0)} MiB${ms ? ` in ${ms.toFixed(0)} ms` : ""}\n`,
  );
}

/**
 * The cluster's framing rule: the HMAC covers the JSON frames, and buffers are covered through
 * the per-buffer digests in the signed metadata (see buffer-digests.ts).
 */
export const CLUSTER_FRAMING = { signBuffers: false } as const;

/**
 * Where a socket sits on a message's path: the `receiver` uses buffers (and hashes them); a
 * `relay` (the controller) forwards them and only checks that each has a signed digest.
 */
export type SocketRole = "receiver" | "relay";

/** What to attach to an outgoing message besides its type and content. */
export interface SendOptions {
  identities?: readonly Uint8Array[];
  parent?: Header | Record<string, never>;
  metadata?: Record<string, unknown>;
  buffers?: readonly Uint8Array[];
  /** Use this header (e.g. to know the msg_id before sending); default: a fresh one. */
  header?: Header;
}

/** Counts of dropped messages, by reason. */
export type DropCounts = Partial<Record<WireError["code"] | "UNKNOWN_TYPE", number>>;

/**
 * A zeromq socket that speaks the signed cluster protocol: typed sends through a
 * {@link SendQueue}, and a receive loop that verifies, decodes and drops bad messages (counted
 * and logged, never handed on).
 */
export class SignedSocket {
  readonly queue: SendQueue;
  readonly dropped: DropCounts = {};
  #logged = 0;

  constructor(
    readonly socket: Router | Dealer,
    readonly signer: Signer,
    readonly session: string,
    private readonly label: string,
    readonly role: SocketRole = "receiver",
  ) {
    this.queue = new SendQueue({ send: (f) => socket.send(f as Uint8Array[]) }, (err) =>
      this.#log(`send failed: ${(err as Error).message}`),
    );
  }

  /** Builds a header for `type` in this socket's session. */
  header<T extends MsgType>(type: T): Header<T> {
    return makeHeader(type, this.session);
  }

  /** Signs and queues a message; resolves with its header once the socket accepted it. */
  async send<T extends MsgType>(
    type: T,
    content: ContentByType[T],
    opts: SendOptions = {},
  ): Promise<Header<T>> {
    const header = (opts.header as Header<T> | undefined) ?? this.header(type);
    const buffers = opts.buffers ?? [];
    const metadata = buffers.length
      ? { ...opts.metadata, [BUFFER_DIGESTS]: digestBuffers(buffers) }
      : (opts.metadata ?? {});
    const frames = encodeMessage(
      {
        identities: opts.identities,
        header,
        parent_header: opts.parent ?? {},
        metadata,
        content,
        buffers: opts.buffers,
      },
      this.signer,
      CLUSTER_FRAMING,
    );
    if (TRACE) trace(this.label, "queued", type, frames, 0);
    await this.queue.send(frames);
    return header;
  }

  /** Re-sends a received message unchanged (same signature) to other identities. */
  forward(msg: { raw: readonly Buffer[] }, identities: readonly Uint8Array[]): Promise<void> {
    return this.queue.send([...identities, ...msg.raw]);
  }

  /** Total number of dropped messages. */
  get droppedTotal(): number {
    return Object.values(this.dropped).reduce((a, b) => a + (b ?? 0), 0);
  }

  #log(text: string): void {
    // Bounded logging: a flood of bad messages must not flood stderr.
    this.#logged++;
    if (this.#logged <= 20 || this.#logged % 1000 === 0)
      process.stderr.write(`[tsparallel ${this.label}] ${text}\n`);
  }

  /** Decodes one received multipart message, or returns undefined after counting a drop. */
  decode(frames: Buffer[]): AnyMessage | undefined {
    try {
      const t0 = TRACE ? performance.now() : 0;
      const msg = decodeMessage(frames, this.signer, CLUSTER_FRAMING);
      if (this.role === "relay") checkDigestCount(msg.metadata, msg.buffers);
      else {
        checkBufferDigests(msg.metadata, msg.buffers);
        delete msg.metadata[BUFFER_DIGESTS];
      }
      if (TRACE) trace(this.label, "decoded", msg.header.msg_type, frames, performance.now() - t0);
      if (!isMsgType(msg.header.msg_type)) {
        this.dropped.UNKNOWN_TYPE = (this.dropped.UNKNOWN_TYPE ?? 0) + 1;
        this.#log(`dropped a message of unknown type "${msg.header.msg_type}"`);
        return undefined;
      }
      const at = msg.identities.length;
      return Object.assign(msg, { raw: frames.slice(at) }) as unknown as AnyMessage;
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      this.dropped[e.code] = (this.dropped[e.code] ?? 0) + 1;
      this.#log(`dropped a message: ${e.message} (${this.droppedTotal} dropped so far)`);
      return undefined;
    }
  }

  /** Receives, verifies and yields messages until the socket is closed. */
  async *messages(): AsyncGenerator<AnyMessage> {
    for await (const frames of this.socket) {
      const msg = this.decode(frames);
      if (msg) yield msg;
    }
  }

  /** Waits for queued sends, then closes the socket. */
  async close(): Promise<void> {
    await Promise.race([this.queue.flush(), new Promise((r) => setTimeout(r, 200).unref())]);
    this.socket.close();
  }
}

/** The index of the delimiter frame, for code that forwards raw frames. */
export function delimiterIndex(frames: readonly Buffer[]): number {
  return frames.findIndex((f) => f.equals(DELIMITER));
}
