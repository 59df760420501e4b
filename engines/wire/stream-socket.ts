import { Buffer } from "node:buffer";
import { connect, Socket, type SocketConstructorOpts } from "node:net";
import { setImmediate } from "node:timers";
import type { Header } from "./frames.js";
import type { FrameWatcher, MessageCodec, MessageSink, SendOptions } from "./message-codec.js";
import type { AnyMessage, ContentByType, MsgType } from "./messages.js";

/**
 * Cluster messages over a byte stream (a TCP connection): the transport of the engine lanes,
 * where a client talks to an engine without the controller in between.
 *
 * Each message is the same signed multipart message the zeromq sockets carry (from the
 * `<IDS|MSG>` delimiter on), preceded by a small header:
 *
 * ```
 * u32 magic "TSP2" | u32 frame count n | n × (u32 low, u32 high) frame lengths | frame bytes…
 * ```
 *
 * Small frames are coalesced with the header into one write; large ones are written as they are
 * (the caller hands over memory it will not modify, as with zeromq). Received frames that lie
 * within one read are views of it; larger ones are assembled in memory of their own.
 *
 * A stream cannot skip a bad message the way a zeromq socket can, so a framing violation (wrong
 * magic, absurd counts) closes the connection; a message that is well framed but badly signed is
 * dropped and counted by the codec like any other.
 */
export class StreamSocket implements MessageSink {
  #parser: FrameParser;
  #closed = false;
  /** While a message's trailer waits for its tags: the writes (and close) that came after it, in order. */
  #held: (() => void)[] | undefined;
  /** `close` was called while writes were held: no new ones are taken. */
  #ending = false;

  /**
   * Wraps a connected socket (an accepted one: data arrives as `data` events). `parser` is given
   * when the socket was made by {@link StreamSocket.connect}, which reads straight into it.
   */
  constructor(
    readonly socket: Socket,
    readonly codec: MessageCodec,
    private readonly onMessage: (msg: AnyMessage, from: StreamSocket) => void,
    parser?: FrameParser,
  ) {
    socket.setNoDelay?.(true);
    this.#parser = parser ?? new FrameParser(watchWith(codec));
    this.#parser.onWake = () => setImmediate(() => this.#resume());
    if (!parser)
      socket.on("data", (chunk: Buffer) => {
        this.#received(() => this.#parser.push(chunk));
        if (this.#parser.waiting) socket.pause();
      });
    socket.on("close", () => {
      this.#closed = true;
    });
    // Errors surface as "close"; without a listener Node would throw them.
    socket.on("error", () => {});
  }

  /**
   * Opens a connection whose reads land directly in the memory of the frame being received
   * (Node's `onread`), so a large payload is copied once, by the kernel, instead of into a
   * read buffer first and then into its frame.
   */
  static connect(
    to: { host: string; port: number },
    codec: MessageCodec,
    onMessage: (msg: AnyMessage, from: StreamSocket) => void,
    place?: FramePlace,
  ): StreamSocket {
    const parser = new FrameParser(watchWith(codec), place);
    let stream: StreamSocket | undefined;
    const socket = connect({
      ...to,
      onread: StreamSocket.#readInto(parser, () => stream),
    });
    stream = new StreamSocket(socket, codec, onMessage, parser);
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
  ): StreamSocket {
    const inner = accepted as unknown as { _handle?: object | null };
    const handle = inner._handle;
    if (!handle || typeof handle !== "object") {
      accepted.resume();
      return new StreamSocket(accepted, codec, onMessage);
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
    stream = new StreamSocket(socket, codec, onMessage, parser);
    socket.resume();
    return stream;
  }

  static #readInto(parser: FrameParser, stream: () => StreamSocket | undefined) {
    return {
      buffer: () => parser.readBuffer(),
      callback: (n: number, buf: Uint8Array) => {
        const s = stream();
        if (s) s.#received(() => parser.consumed(n, buf));
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
    this.#write(frames, flushed, tagged);
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
    if (this.#held) {
      this.#ending = true;
      this.#held.push(() => this.close());
      return;
    }
    this.#closed = true;
    this.socket.end();
  }
}

const MAGIC = 0x32505354; // "TSP2" read as a little-endian u32 (2: MAC trailers)
/** Frames at most this large are copied next to the header instead of written on their own. */
const COALESCE = 16 * 1024;
/** Size of the reused read buffer of a connecting lane (see {@link StreamSocket.connect}). */
const SCRATCH_BYTES = 256 * 1024;
/** More frames than any message of the protocol carries: a corrupt or hostile header. */
const MAX_FRAMES = 1 << 16;

/**
 * The byte chunks that carry `frames` on a stream: header (with small frames), then large ones.
 * With `lastApart`, the last frame is a chunk of its own (a trailer written later).
 */
export function frameStream(frames: readonly Uint8Array[], lastApart = false): Uint8Array[] {
  const head = Buffer.allocUnsafe(8 + 8 * frames.length);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(frames.length, 4);
  frames.forEach((f, i) => {
    const n = f.byteLength;
    head.writeUInt32LE(n >>> 0, 8 + 8 * i);
    head.writeUInt32LE(Math.floor(n / 2 ** 32), 12 + 8 * i);
  });
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [head];
  const together = lastApart ? frames.length - 1 : frames.length;
  for (let i = 0; i < together; i++) {
    const f = frames[i]!;
    if (f.byteLength <= COALESCE) run.push(f);
    else {
      out.push(run.length === 1 ? run[0]! : Buffer.concat(run));
      out.push(f);
      run = [];
    }
  }
  if (run.length) out.push(run.length === 1 ? run[0]! : Buffer.concat(run));
  if (lastApart) out.push(frames[together]!);
  return out;
}

/** How a parser shows large frames to the codec as they fill (to authenticate them on the way in). */
export type FrameWatch = (before: readonly Buffer[], frame: Buffer) => FrameWatcher | undefined;

/**
 * Where a large frame of `length` bytes, following the frames `before` (from the delimiter on),
 * should be received: memory of exactly that length the receiver chose, undefined for memory of
 * its own, or "wait" to stop reading the connection until `wake` is called (the question is then
 * asked again).
 */
export type FramePlace = (
  before: readonly Buffer[],
  length: number,
  wake: () => void,
) => Uint8Array | "wait" | undefined;

/** Frames this large are offered to a {@link FramePlace}. */
const PLACE_MIN = 64 * 1024;

const watchWith =
  (codec: MessageCodec): FrameWatch =>
  (before, frame) =>
    codec.watchFrame(before, frame);

/** Incremental decoder of {@link frameStream}'s format. */
export class FrameParser {
  /** Header bytes being gathered: 8 (magic, count), then 8 per frame (the lengths). */
  #head = Buffer.allocUnsafe(8);
  #headFilled = 0;
  /** True once magic and count are read and `#head` is gathering the frame lengths. */
  #readingLengths = false;
  #lengths: number[] | undefined;
  #frames: Buffer[] = [];
  /** The frame being assembled across chunks, and how much of it is filled. */
  #body: Buffer | undefined;
  #filled = 0;

  /** Reused for reads that do not go straight into a frame (headers, small frames). */
  #scratch: Buffer | undefined;
  /** Sees the frame being assembled, if the watch wanted it. */
  #watcher: FrameWatcher | undefined;
  /** While a {@link FramePlace} said "wait": the bytes received after the frame's start. */
  #stash: Buffer | undefined;

  /** Called when a waiting parser may go on (see {@link resume}). */
  onWake: (() => void) | undefined;

  constructor(
    private readonly watch?: FrameWatch,
    private readonly place?: FramePlace,
  ) {}

  /** True while the parser waits to learn where a frame goes: stop reading until {@link resume}. */
  get waiting(): boolean {
    return this.#stash !== undefined;
  }

  /** Goes on after a wait; returns the messages completed from what was received meanwhile. */
  resume(): Buffer[][] {
    const stash = this.#stash;
    if (!stash) return [];
    this.#stash = undefined;
    return this.push(stash);
  }

  readonly #wake = () => this.onWake?.();

  /** `n` more bytes of the frame being assembled are in place. */
  #filledBy(n: number): void {
    this.#watcher?.update(this.#body!.subarray(this.#filled, this.#filled + n));
    this.#filled += n;
  }

  /** The frame being assembled is complete. */
  #bodyDone(): void {
    this.#watcher?.end();
    this.#watcher = undefined;
    this.#frames.push(this.#body!);
    this.#body = undefined;
  }

  /** Where the next read should land: the rest of a large frame being filled, or scratch memory. */
  readBuffer(): Uint8Array {
    if (this.#body && this.#body.length - this.#filled >= SCRATCH_BYTES)
      return this.#body.subarray(this.#filled);
    this.#scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES);
    return this.#scratch;
  }

  /** `n` bytes were read into `buf` (from {@link readBuffer}); returns the messages completed. */
  consumed(n: number, buf: Uint8Array): Buffer[][] {
    if (buf !== this.#scratch && this.#body) {
      this.#filledBy(n);
      const done: Buffer[][] = [];
      if (this.#filled === this.#body.length) {
        this.#bodyDone();
        this.#next(done);
      }
      return done;
    }
    // Scratch is overwritten by the next read: frames must not stay views of it.
    return this.push(Buffer.from(buf.buffer, buf.byteOffset, n), true);
  }

  /**
   * Feeds a chunk; returns the messages it completed (frames from the delimiter on). With
   * `transient`, the chunk's memory is reused afterwards, so frames are copied out of it.
   */
  push(chunk: Buffer, transient = false): Buffer[][] {
    const done: Buffer[][] = [];
    if (this.#stash) {
      // Only if reading was not stopped in time: keep it for after the wait.
      this.#stash = Buffer.concat([this.#stash, chunk]);
      return done;
    }
    let at = 0;
    while (at < chunk.length) {
      if (this.#lengths === undefined) {
        const n = Math.min(this.#head.length - this.#headFilled, chunk.length - at);
        chunk.copy(this.#head, this.#headFilled, at, at + n);
        this.#headFilled += n;
        at += n;
        if (this.#headFilled === this.#head.length) this.#readHead(done);
        continue;
      }
      if (this.#body) {
        const n = Math.min(this.#body.length - this.#filled, chunk.length - at);
        chunk.copy(this.#body, this.#filled, at, at + n);
        this.#filledBy(n);
        at += n;
        if (this.#filled === this.#body.length) {
          this.#bodyDone();
          this.#next(done);
        }
        continue;
      }
      // A frame that lies inside this chunk is a view of it (8-byte aligned when it may hold
      // an Arrow body, whose columns are viewed in place); otherwise it gets memory of its own.
      const len = this.#lengths[this.#frames.length]!;
      const into = len >= PLACE_MIN ? this.place?.(this.#frames, len, this.#wake) : undefined;
      if (into === "wait") {
        this.#stash = Buffer.from(chunk.subarray(at)); // a copy: the chunk may be reused
        return done;
      }
      if (into) {
        if (into.byteLength !== len) throw new Error("a frame placement has the wrong length");
        this.#assemble(Buffer.from(into.buffer, into.byteOffset, into.byteLength));
        continue;
      }
      if (chunk.length - at >= len && (len < 4096 || (chunk.byteOffset + at) % 8 === 0)) {
        const view = chunk.subarray(at, at + len);
        this.#frames.push(transient ? Buffer.from(view) : view);
        at += len;
        this.#next(done);
      } else {
        this.#assemble(len > 1 << 20 ? Buffer.allocUnsafeSlow(len) : Buffer.allocUnsafe(len));
      }
    }
    return done;
  }

  /** The next frame is received into `body`, shown to the watch as it fills. */
  #assemble(body: Buffer): void {
    this.#body = body;
    this.#filled = 0;
    this.#watcher = this.watch?.(this.#frames, body);
  }

  #readHead(done: Buffer[][]): void {
    const head = this.#head;
    if (!this.#readingLengths) {
      if (head.readUInt32LE(0) !== MAGIC)
        throw new Error(
          (head.readUInt32LE(0) & 0xffffff) === (MAGIC & 0xffffff)
            ? "the peer speaks another version of the tsparallel lane protocol: run the same tsparallel version everywhere"
            : "the peer does not speak the tsparallel lane protocol",
        );
      const count = head.readUInt32LE(4);
      if (count < 1 || count > MAX_FRAMES) throw new Error(`a message header announces ${count} frames`);
      this.#head = Buffer.allocUnsafe(8 * count);
      this.#headFilled = 0;
      this.#readingLengths = true;
      return;
    }
    this.#readingLengths = false;
    this.#lengths = [];
    for (let i = 0; i < head.length; i += 8)
      this.#lengths.push(head.readUInt32LE(i) + head.readUInt32LE(i + 4) * 2 ** 32);
    this.#next(done);
  }

  /** Skips empty frames; emits the message when every frame is in and starts the next header. */
  #next(done: Buffer[][]): void {
    const lengths = this.#lengths!;
    while (this.#frames.length < lengths.length && lengths[this.#frames.length] === 0)
      this.#frames.push(Buffer.alloc(0));
    if (this.#frames.length < lengths.length) return;
    done.push(this.#frames);
    this.#frames = [];
    this.#lengths = undefined;
    this.#head = Buffer.allocUnsafe(8);
    this.#headFilled = 0;
  }
}
