import { performance } from "node:perf_hooks";
import process from "node:process";
import { announcesTrailer, BUFFER_MACS, checkMacCount, isNonce, SIGNED_BUFFER_LIMIT } from "./buffer-macs.js";
import { WireError } from "./errors.js";
import { decodeMessage, encodeMessage, type Header, makeHeader } from "./frames.js";
import { type AnyMessage, type ContentByType, isMsgType, type MsgType } from "./messages.js";
import { ReplayGuard } from "./replay-guard.js";
import type { Signer } from "./signing.js";

/** `TSPARALLEL_TRACE=1` logs every message carrying over 1 MiB (where time goes in bulk transfers). */
const TRACE = process.env.TSPARALLEL_TRACE === "1";

/**
 * The cluster's framing rule: the HMAC covers the JSON frames and every buffer under 64 KiB; larger
 * buffers are covered by MACs of their own, listed in the signed metadata or sent in a trailer
 * frame after the buffers (see buffer-macs.ts), so a relay never reads them. Small ones are
 * cheaper to sign directly than to tag one by one.
 */
export const CLUSTER_FRAMING = { signBuffersBelow: SIGNED_BUFFER_LIMIT, trailer: announcesTrailer } as const;

/**
 * Messages whose large buffers add up to this much get their tags in a trailer when the transport
 * allows. Smaller ones are tagged at once (~1.5 ms at most), which is cheaper than the event-loop
 * turns a trailer takes.
 */
export const LATE_TAGS_MIN = 8 << 20;

/**
 * Where a socket sits on a message's path: the `receiver` uses buffers (and hashes them); a
 * `relay` (the controller) forwards them and only checks that each has a signed MAC.
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

/** A signed message ready for a transport. */
export interface Encoded<T extends MsgType = MsgType> {
  header: Header<T>;
  frames: Uint8Array[];
  /** Present when the last frame is a trailer still being filled (see {@link MessageCodec.encode}). */
  tagged?: Promise<void>;
}

/** Counts of dropped messages, by reason. */
export type DropCounts = Partial<
  Record<WireError["code"] | "UNKNOWN_TYPE" | "BAD_FRAMING" | "BAD_HANDSHAKE", number>
>;

/** Sees a large frame's bytes in order as they arrive (see {@link MessageCodec.watchFrame}). */
export interface FrameWatcher {
  update(chunk: Uint8Array): void;
  end(): void;
}

/** How a codec receives. */
export interface CodecOptions {
  /**
   * `drop` (the default): signed frames that come again lately are dropped as a replay
   * (`REPLAYED`). `accept` for a receiver that gets the same message from several peers by design
   * (the controller's heart socket: every heart echoes the same ping). A guard of its own shared
   * by several codecs (the lanes of one engine, or of one client) bounds their memory together.
   */
  replays?: "drop" | "accept" | ReplayGuard;
}

/** Anything that sends typed cluster messages (a zeromq socket, a lane, …). */
export interface MessageSink {
  send<T extends MsgType>(type: T, content: ContentByType[T], opts?: SendOptions): unknown;
}

/**
 * Signing, encoding, verifying and decoding of cluster messages, independent of the transport:
 * the zeromq sockets ({@link SignedSocket}) and the engine lanes (stream-socket.ts) share it, so
 * both drop the same bad messages for the same reasons, counted and logged.
 */
export class MessageCodec {
  readonly dropped: DropCounts = {};
  #logged = 0;

  /** Signatures accepted lately (undefined: repeats are accepted, see {@link CodecOptions}). */
  readonly #replays: ReplayGuard | undefined;
  /** What signs and verifies: the cluster's key, or a lane connection's own (see {@link bindConnection}). */
  #signer: Signer;

  constructor(
    /** The cluster's key. */
    readonly signer: Signer,
    readonly session: string,
    readonly label: string,
    readonly role: SocketRole = "receiver",
    opts: CodecOptions = {},
  ) {
    this.#signer = signer;
    const replays = opts.replays ?? "drop";
    this.#replays =
      replays === "accept" || !signer.enabled ? undefined : replays === "drop" ? new ReplayGuard() : replays;
  }

  /**
   * From now on, signs and verifies with `signer`, a lane connection's own key (see
   * lane-handshake.ts): messages are bound to their connection.
   */
  bindConnection(signer: Signer): void {
    this.#signer = signer;
  }

  /** Builds a header for `type` in this codec's session. */
  header<T extends MsgType>(type: T): Header<T> {
    return makeHeader(type, this.session);
  }

  /**
   * Signs a message; returns its header and the frames to hand to a transport. With `lateTags`
   * (a transport that writes frames in order as a stream, a lane), large buffers' tags may be
   * computed while the frames are written: the last frame is then a trailer that must not be
   * written before {@link Encoded.tagged} resolves.
   */
  encode<T extends MsgType>(
    type: T,
    content: ContentByType[T],
    opts: SendOptions = {},
    lateTags = false,
  ): Encoded<T> {
    const header = (opts.header as Header<T> | undefined) ?? this.header(type);
    const buffers = opts.buffers ?? [];
    let large = 0;
    for (const b of buffers) if (b.byteLength >= SIGNED_BUFFER_LIMIT) large += b.byteLength;
    const auth = large ? this.#signer.buffers : undefined;
    const late = auth && lateTags && large >= LATE_TAGS_MIN ? auth.signLater(buffers) : undefined;
    const macs = late?.macs ?? auth?.sign(buffers);
    const metadata = macs ? { ...opts.metadata, [BUFFER_MACS]: macs } : (opts.metadata ?? {});
    const frames = encodeMessage(
      {
        identities: opts.identities,
        header,
        parent_header: opts.parent ?? {},
        metadata,
        content,
        buffers,
        trailer: late?.trailer,
      },
      this.#signer,
      CLUSTER_FRAMING,
    );
    if (TRACE) this.trace("queued", type, frames, 0);
    return late ? { header, frames, tagged: late.tagged } : { header, frames };
  }

  /**
   * For a transport that receives a large frame piece by piece (a lane): starts authenticating
   * it as it arrives when it is a buffer of the message whose first frames (from the delimiter)
   * are `before`. Whatever cannot be started here is checked in full by {@link decode}.
   */
  watchFrame(before: readonly Buffer[], frame: Buffer): FrameWatcher | undefined {
    const index = before.length - 6; // delimiter, signature, header, parent, metadata, content
    const auth = this.#signer.buffers;
    if (index < 0 || !auth || this.role !== "receiver" || frame.byteLength < SIGNED_BUFFER_LIMIT) return;
    try {
      const nonce = (JSON.parse(before[4]!.toString("utf8")) as Record<string, { nonce?: unknown }>)[
        BUFFER_MACS
      ]?.nonce;
      return isNonce(nonce) ? auth.stream(nonce, index, frame) : undefined;
    } catch {
      return undefined; // malformed metadata: decode drops the message
    }
  }

  /** Decodes one received multipart message, or returns undefined after counting a drop. */
  decode(frames: Buffer[]): AnyMessage | undefined {
    try {
      const t0 = TRACE ? performance.now() : 0;
      const msg = decodeMessage(frames, this.#signer, CLUSTER_FRAMING);
      if (this.#signer.buffers) {
        if (this.role === "relay") checkMacCount(msg.metadata, msg.buffers, msg.trailer);
        else {
          this.#signer.buffers.verify(msg.metadata, msg.buffers, msg.trailer);
          delete msg.metadata[BUFFER_MACS];
        }
      }
      if (TRACE) this.trace("decoded", msg.header.msg_type, frames, performance.now() - t0);
      if (!isMsgType(msg.header.msg_type)) {
        this.drop("UNKNOWN_TYPE", `dropped a message of unknown type "${msg.header.msg_type}"`);
        return undefined;
      }
      const at = msg.identities.length;
      // Only a message that passed every check counts as seen: nobody can fill this with forgeries.
      if (this.#replays?.seen(frames[at + 1]!))
        throw new WireError("REPLAYED", `the same signed ${msg.header.msg_type} came again (a replay)`);
      return Object.assign(msg, { raw: frames.slice(at) }) as unknown as AnyMessage;
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      this.drop(e.code, `dropped a message: ${e.message}`);
      return undefined;
    }
  }

  /** Counts a dropped message and logs why. */
  drop(code: keyof DropCounts, text: string): void {
    this.dropped[code] = (this.dropped[code] ?? 0) + 1;
    this.log(`${text} (${this.droppedTotal} dropped so far)`);
  }

  /** Total number of dropped messages. */
  get droppedTotal(): number {
    return Object.values(this.dropped).reduce((a, b) => a + (b ?? 0), 0);
  }

  /** Writes to stderr, bounded: a flood of bad messages must not flood the log. */
  log(text: string): void {
    this.#logged++;
    if (this.#logged <= 20 || this.#logged % 1000 === 0)
      process.stderr.write(`[tsparallel ${this.label}] ${text}\n`);
  }

  trace(what: string, type: string, frames: readonly Uint8Array[], ms: number): void {
    const bytes = frames.reduce((n, f) => n + f.byteLength, 0);
    if (bytes < 1 << 20) return;
    process.stderr.write(
      `[trace ${(performance.timeOrigin + performance.now()).toFixed(1)}] ${this.label} ${what} ${type} ${(bytes / 2 ** 20).toFixed(0)} MiB${ms ? ` in ${ms.toFixed(0)} ms` : ""}\n`,
    );
  }
}
