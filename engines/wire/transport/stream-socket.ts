import { Buffer } from "node:buffer";
import { connect, Socket, type SocketConstructorOpts } from "node:net";
import { setImmediate } from "node:timers";
import type { TLSSocket } from "node:tls";
import type { Header } from "../protocol/frames.js";
import type { MessageCodec, MessageSink, SendOptions } from "../protocol/message-codec.js";
import { FrameParser, type FramePlace, frameStream, watchWith } from "./frame-parser.js";
import { HANDSHAKE_TIMEOUT_MS, LaneHandshake } from "./lane-handshake.js";
import { acceptLaneTls, connectLaneTls } from "./lane-tls.js";

export type { FramePlace };

import type { AnyMessage, ContentByType, MsgType } from "../protocol/messages.js";

/** How a lane is opened or accepted. */
export interface LaneOptions {
  /** Where large incoming frames may land (see FrameParser). */
  place?: FramePlace;
  /** The lane runs inside TLS (the cluster is encrypted). */
  encrypted?: boolean;
}

/**
 * Cluster messages over a byte stream (a TCP connection): the transport of the engine lanes,
 * where a client talks to an engine without the controller in between.
 *
 * Each message is the same signed multipart message the zeromq sockets carry (from the
 * `<IDS|MSG>` delimiter on), preceded by a small header of frame lengths (frame-parser.ts).
 *
 * Small frames are coalesced with the header into one write; large ones are written as they are
 * (the caller hands over memory it will not modify, as with zeromq). Received frames that lie
 * within one read are views of it; larger ones are assembled in memory of their own.
 *
 * A stream cannot skip a bad message the way a zeromq socket can, so a framing violation (wrong
 * magic, absurd counts) closes the connection; a message that is well framed but badly signed is
 * dropped and counted by the codec like any other.
 *
 * Before any message, both ends prove they hold the cluster key and agree on a key of the
 * connection's own (lane-handshake.ts): a peer without the key is closed after at most 48 bytes,
 * and messages sent before the handshake completes wait for it.
 *
 * On an encrypted cluster the lane runs inside TLS (lane-tls.ts). TLS decrypts into memory of its
 * own, so such a lane reads by `data` events: one more copy per byte, next to the cipher's cost.
 */
export class StreamSocket implements MessageSink {
  #parser: FrameParser;
  #closed = false;
  /** While a message's trailer waits for its tags: the writes (and close) that came after it, in order. */
  #held: (() => void)[] | undefined;
  /** `close` was called while writes were held: no new ones are taken. */
  #ending = false;
  /** Until the handshake completes: the handshake, and the sends and writes waiting for it. */
  #handshake: LaneHandshake | undefined;
  #early: (() => void)[] | undefined = [];
  #handshakeTimer: NodeJS.Timeout | undefined;

  /** Called once the handshake is complete and messages flow. */
  onReady: (() => void) | undefined;

  /**
   * Wraps a connected socket at its `role`'s end of a lane. Data arrives as `data` events, unless
   * `inPlace`: then the socket was made by {@link StreamSocket.connect} or
   * {@link StreamSocket.accept} to read straight into `parser`.
   */
  constructor(
    readonly socket: Socket,
    readonly codec: MessageCodec,
    private readonly onMessage: (msg: AnyMessage, from: StreamSocket) => void,
    role: "engine" | "client",
    parser?: FrameParser,
    inPlace = parser !== undefined,
  ) {
    socket.setNoDelay?.(true);
    this.#parser = parser ?? new FrameParser(watchWith(codec));
    this.#parser.onWake = () => setImmediate(() => this.#resume());
    this.#handshake = new LaneHandshake(role, codec.signer);
    const hello = this.#handshake.start();
    if (hello) socket.write(hello);
    this.#handshakeTimer = setTimeout(
      () => this.#refuse(`the lane handshake took longer than ${HANDSHAKE_TIMEOUT_MS} ms`),
      HANDSHAKE_TIMEOUT_MS,
    ).unref();
    if (!inPlace)
      socket.on("data", (chunk: Buffer) => {
        if (this.#handshake) this.#handshaking(chunk);
        else this.#received(() => this.#parser.push(chunk));
        if (this.#parser.waiting) socket.pause();
      });
    socket.on("close", () => {
      this.#closed = true;
      clearTimeout(this.#handshakeTimer);
    });
    // Errors surface as "close"; without a listener Node would throw them. On a TLS lane, an error
    // before the lane's handshake is a peer without the key (or one that is not a lane).
    socket.on("error", (e: Error) => {
      if ((socket as Partial<TLSSocket>).encrypted) this.#refuse(`TLS failed: ${e.message.split("\n")[0]}`);
    });
  }

  /** Bytes received while the handshake runs (copied: they may lie in reused memory). */
  #handshaking(chunk: Uint8Array): void {
    let step: ReturnType<LaneHandshake["feed"]>;
    try {
      step = this.#handshake!.feed(Buffer.from(chunk));
    } catch (e) {
      this.#refuse((e as Error).message);
      return;
    }
    if (step.write) this.socket.write(step.write);
    if (!step.done) return;
    clearTimeout(this.#handshakeTimer);
    this.#handshake = undefined;
    this.codec.bindConnection(step.done.signer);
    const early = this.#early ?? [];
    this.#early = undefined;
    for (const next of early) next();
    this.onReady?.();
    const rest = step.done.rest;
    if (rest.length && !this.closed) this.#received(() => this.#parser.push(rest));
  }

  /** Closes a connection whose peer failed (or never finished) the handshake. */
  #refuse(why: string): void {
    // Not `closed`: a socket that failed TLS is destroyed already, and is counted all the same.
    if (this.#closed || !this.#handshake) return;
    this.codec.drop("BAD_HANDSHAKE", `closing a lane connection: ${why}`);
    this.socket.destroy();
  }

  /**
   * Opens a connection whose reads land directly in the memory of the frame being received
   * (Node's `onread`), so a large payload is copied once, by the kernel, instead of into a
   * read buffer first and then into its frame. With `encrypted`, a TLS connection (see the class's
   * doc).
   */
  static connect(
    to: { host: string; port: number },
    codec: MessageCodec,
    onMessage: (msg: AnyMessage, from: StreamSocket) => void,
    { place, encrypted = false }: LaneOptions = {},
  ): StreamSocket {
    const parser = new FrameParser(watchWith(codec), place);
    if (encrypted)
      return new StreamSocket(connectLaneTls(to, codec.signer), codec, onMessage, "client", parser, false);
    let stream: StreamSocket | undefined;
    const socket = connect({
      ...to,
      onread: StreamSocket.#readInto(parser, () => stream),
    });
    stream = new StreamSocket(socket, codec, onMessage, "client", parser);
    return stream;
  }

  /**
   * The server side of {@link connect}'s in-place reads. Node's servers take no `onread`, so the
   * accepted connection (made with `pauseOnConnect`) has its handle moved to a socket that has
   * one. `_handle` is not public API: where it is missing, the connection is read the ordinary
   * way (one more copy per byte).
   */
  static accept(
    accepted: Socket,
    codec: MessageCodec,
    onMessage: (msg: AnyMessage, from: StreamSocket) => void,
    { encrypted = false }: LaneOptions = {},
  ): StreamSocket {
    if (encrypted) return new StreamSocket(acceptLaneTls(accepted, codec.signer), codec, onMessage, "engine");
    const inner = accepted as unknown as { _handle?: object | null };
    const handle = inner._handle;
    if (!handle || typeof handle !== "object") {
      accepted.resume();
      return new StreamSocket(accepted, codec, onMessage, "engine");
    }
    inner._handle = null;
    const parser = new FrameParser(watchWith(codec));
    let stream: StreamSocket | undefined;
    const socket = new Socket({
      handle,
      readable: true,
      writable: true,
      onread: StreamSocket.#readInto(parser, () => stream),
    } as SocketConstructorOpts);
    stream = new StreamSocket(socket, codec, onMessage, "engine", parser);
    socket.resume();
    return stream;
  }

  static #readInto(parser: FrameParser, stream: () => StreamSocket | undefined) {
    return {
      buffer: () => parser.readBuffer(),
      callback: (n: number, buf: Uint8Array) => {
        const s = stream();
        if (!s) return true;
        if (s.#handshake) s.#handshaking(buf.subarray(0, n));
        else s.#received(() => parser.consumed(n, buf));
        return !parser.waiting; // false pauses the socket until #resume
      },
    };
  }

  #received(parse: () => Buffer[][]): void {
    let messages: Buffer[][];
    try {
      messages = parse();
    } catch (e) {
      this.codec.drop("BAD_FRAMING", `closing a lane connection: ${(e as Error).message}`);
      this.socket.destroy();
      return;
    }
    for (const frames of messages) {
      const msg = this.codec.decode(frames);
      if (msg) this.onMessage(msg, this);
    }
  }

  /** A parser that waited for a frame's place may go on. */
  #resume(): void {
    if (this.closed || !this.#parser.waiting) return;
    this.#received(() => this.#parser.resume());
    if (!this.#parser.waiting) this.socket.resume();
  }

  /** True once the connection is gone. */
  get closed(): boolean {
    return this.#closed || this.socket.destroyed;
  }

  /** Signs and writes a message; returns its header (see {@link write} for `flushed`). */
  send<T extends MsgType>(
    type: T,
    content: ContentByType[T],
    opts: SendOptions = {},
    flushed?: () => void,
  ): Header<T> {
    if (this.#early && !this.closed && !this.#ending) {
      // Signed once the handshake has given the connection's key.
      const header = (opts.header as Header<T> | undefined) ?? this.codec.header(type);
      this.#early.push(() => {
        const { frames, tagged } = this.codec.encode(type, content, { ...opts, header }, true);
        this.#write(frames, flushed, tagged);
      });
      return header;
    }
    const { header, frames, tagged } = this.codec.encode(type, content, opts, true);
    this.write(frames, flushed, tagged);
    return header;
  }

  /**
   * Writes already signed frames (from the delimiter on). `flushed` runs once the system has
   * taken every byte, after which the frames' memory may be reused; it never runs if the write
   * fails (the frames may still be on their way by another route). With `tagged` (a message
   * encoded with late tags), everything but the last frame goes now and the trailer once its
   * tags are in; later writes wait behind it. False when the connection is already gone or
   * closing.
   */
  write(frames: readonly Uint8Array[], flushed?: () => void, tagged?: Promise<void>): boolean {
    if (this.closed || this.#ending) return false;
    if (this.#early) this.#early.push(() => this.#write(frames, flushed, tagged));
    else this.#write(frames, flushed, tagged);
    return true;
  }

  /**
   * {@link write}, resolving once the system has taken every byte (after `flushed` has run) or the
   * connection is gone, whichever comes first.
   */
  writeOut(frames: readonly Uint8Array[], flushed?: () => void, tagged?: Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      const gone = () => resolve();
      this.socket.once("close", gone);
      const taken = () => {
        this.socket.off("close", gone);
        flushed?.();
        resolve();
      };
      if (!this.write(frames, taken, tagged)) {
        this.socket.off("close", gone);
        resolve();
      }
    });
  }

  #write(frames: readonly Uint8Array[], flushed?: () => void, tagged?: Promise<void>): void {
    if (this.#held) {
      this.#held.push(() => this.#write(frames, flushed, tagged));
      return;
    }
    if (this.closed) return;
    const parts = frameStream(frames, tagged !== undefined);
    const done = flushed ? (err?: Error | null) => void (err ? undefined : flushed()) : undefined;
    if (!tagged) {
      this.#writeParts(parts, done);
      return;
    }
    const trailer = parts.pop()!;
    this.#writeParts(parts);
    this.#held = [];
    tagged.then(
      () => {
        const held = this.#held ?? [];
        this.#held = undefined;
        if (!this.closed) this.socket.write(trailer, done);
        for (const next of held) next();
      },
      (e: unknown) => this.socket.destroy(e as Error),
    );
  }

  #writeParts(parts: readonly Uint8Array[], done?: (err?: Error | null) => void): void {
    const last = parts.length - 1;
    if (last === 0) this.socket.write(parts[0]!, done);
    else {
      this.socket.cork();
      for (let i = 0; i <= last; i++) this.socket.write(parts[i]!, i === last ? done : undefined);
      this.socket.uncork();
    }
  }

  /** Ends the connection once queued writes are out (held ones included). */
  close(): void {
    if (this.#early) {
      this.#ending = true;
      this.#early.push(() => {
        this.#ending = false;
        this.close();
      });
      return;
    }
    if (this.#held) {
      this.#ending = true;
      this.#held.push(() => this.close());
      return;
    }
    this.#closed = true;
    this.socket.end();
  }
}
