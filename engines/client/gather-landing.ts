import { Buffer } from "node:buffer";
import type { FramePlace } from "../wire/transport/stream-socket.js";

/** Parts smaller than this are received the ordinary way and joined by copying (cheap enough). */
const LAND_MIN_BYTES = 1 << 20;

/** Index of a split stream's column frame among a pull reply's buffers: structure, metadata, column. */
const COLUMN_FRAME = 2;

/**
 * How long a lane may wait for the other parts' sizes. They come within a millisecond when the
 * engines are idle; an engine still busy with an earlier task must not hold the others' lanes.
 */
const WAIT_LIMIT_MS = 100;

/**
 * Lands the parts of one gather side by side in the memory of the joined result, so joining them
 * costs nothing: without it, each engine's part is received into memory of its own and then
 * copied into the result, and on this VM writing fresh memory is the dearest step of a transfer.
 *
 * The engines send their parts as split Arrow streams (serialize.ts `split`), so each part's
 * column is a frame of its own. Where part i goes depends on the sizes of the parts before it,
 * which are known once every part's frame header has arrived: a lane that reaches its column
 * first waits (its connection paused) until the others have announced theirs. Anything unusual
 * (a part that is small, an error, a lost engine, a part that came through the controller)
 * releases the waiting lanes, whose parts then arrive in memory of their own; the parts are then
 * joined by copying, as without a landing. Nothing here trusts a byte: the parts are decoded and
 * authenticated as usual, and joining checks that they really lie back to back.
 */
export class GatherLanding {
  readonly #lengths: (number | undefined)[];
  readonly #placed: boolean[];
  #waiting: (() => void)[] = [];
  #memory: Buffer | undefined;
  #over = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly msgIds: readonly string[],
    private readonly registry: LandingRegistry,
  ) {
    this.#lengths = msgIds.map(() => undefined);
    this.#placed = msgIds.map(() => false);
  }

  /** Where part `i`'s column of `length` bytes goes (see {@link FramePlace}). */
  place(i: number, length: number, wake: () => void): Uint8Array | "wait" | undefined {
    if (this.#over || this.#placed[i]) return undefined;
    // A small part, or one whose Arrow body is padded (Arrow would copy the column to read it
    // with its padding), cannot be joined in place: the others need not wait.
    if (length < LAND_MIN_BYTES || length % 8 !== 0) return this.abandon();
    const known = this.#lengths[i];
    if (known !== undefined && known !== length) return undefined;
    this.#lengths[i] = length;
    if (this.#lengths.some((n) => n === undefined)) {
      this.#waiting.push(wake);
      this.#timer ??= setTimeout(() => this.abandon(), WAIT_LIMIT_MS);
      return "wait";
    }
    const lengths = this.#lengths as number[];
    try {
      this.#memory ??= Buffer.allocUnsafeSlow(lengths.reduce((a, b) => a + b, 0));
    } catch {
      return this.abandon(); // no room for the whole result: each part in memory of its own
    }
    this.#wakeAll();
    this.#placed[i] = true;
    if (this.#placed.every(Boolean)) this.#end();
    const at = lengths.slice(0, i).reduce((a, b) => a + b, 0);
    return this.#memory.subarray(at, at + length);
  }

  /** Part `i` is answered (or failed): if it was not landed, no other part can be placed. */
  partDone(i: number): void {
    if (!this.#placed[i]) this.abandon();
  }

  /** Gives up: waiting lanes go on, their parts in memory of their own. */
  abandon(): undefined {
    if (this.#over) return;
    this.#end();
    this.#wakeAll();
  }

  #end(): void {
    this.#over = true;
    clearTimeout(this.#timer);
    this.registry.remove(this);
  }

  #wakeAll(): void {
    for (const w of this.#waiting.splice(0)) w();
  }
}

/**
 * The gathers of one client in flight, by the msg_ids of their pull requests. Its
 * {@link place} is what the client's lanes ask where an incoming large frame should go.
 */
export class LandingRegistry {
  readonly #byMsgId = new Map<string, { landing: GatherLanding; index: number }>();

  /** Starts landing the replies to `msgIds` (part i answers msgIds[i]). */
  open(msgIds: readonly string[]): GatherLanding {
    const landing = new GatherLanding(msgIds, this);
    for (const [index, id] of msgIds.entries()) this.#byMsgId.set(id, { landing, index });
    return landing;
  }

  remove(landing: GatherLanding): void {
    for (const id of landing.msgIds) this.#byMsgId.delete(id);
  }

  /** How many gathers are landing (for tests: none may be left behind). */
  get size(): number {
    return new Set([...this.#byMsgId.values()].map((e) => e.landing)).size;
  }

  readonly place: FramePlace = (before, length, wake) => {
    if (this.#byMsgId.size === 0 || before.length - 6 !== COLUMN_FRAME) return undefined;
    let entry: { landing: GatherLanding; index: number } | undefined;
    try {
      // Not yet authenticated: it only picks where the bytes go; decoding checks the message.
      const header = JSON.parse(before[2]!.toString("utf8")) as { msg_type?: unknown };
      const parent = JSON.parse(before[3]!.toString("utf8")) as { msg_id?: unknown };
      if (header.msg_type !== "pull_reply" || typeof parent.msg_id !== "string") return undefined;
      entry = this.#byMsgId.get(parent.msg_id);
    } catch {
      return undefined;
    }
    return entry?.landing.place(entry.index, length, wake);
  };
}
