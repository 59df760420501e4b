/**
 * The lane's byte format: how a signed multipart message is laid out on a stream
 * ({@link frameStream}) and read back incrementally ({@link FrameParser}), landing large frames
 * where the receiver wants them.
 *
 * ```
 * u32 magic "TSP2" | u32 frame count n | n × (u32 low, u32 high) frame lengths | frame bytes…
 * ```
 */
import { Buffer } from "node:buffer";
import type { FrameWatcher, MessageCodec } from "../protocol/message-codec.js";

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

/** The codec's frame watch: large buffers are authenticated as they arrive. */
export const watchWith =
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
