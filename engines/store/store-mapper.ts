import { clearTimeout, setTimeout } from "node:timers";
import type { NativeAddon } from "../../ndarray/node/native-addon.js";
import { StoreError } from "./store-error.js";
import { SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, type StoreRef } from "./store-ref.js";

/** An owner's segment as this process has it open. */
interface OpenSegment {
  fd: number;
  idle: NodeJS.Timeout | undefined;
}

/** How long an opened segment's descriptor is kept for the next block from it, in ms. */
const KEEP_OPEN_MS = 30_000;
/** How long releases wait to be sent together, in ms. */
const RELEASE_FLUSH_MS = 20;

/**
 * The receiving side of the store: maps the blocks tasks name (opening the owner's segment through
 * /proc/<pid>/fd and checking its token first), and tells owners when a block is no longer needed:
 * when the garbage collector has let go of every view of its mapping, or at once for a task dropped
 * before it was decoded. Releases to the same owner are sent together.
 */
export class StoreMapper {
  readonly #open = new Map<string, OpenSegment>();
  #releases = new Map<string, number[]>();
  #flushTimer: NodeJS.Timeout | undefined;
  readonly #collected = new FinalizationRegistry<{ owner: string; block: number }>(({ owner, block }) => {
    this.#live--;
    this.release(owner, [block]);
  });
  /** Each mapping made here: whose block it is (for {@link unmapNow}). */
  readonly #mappings = new WeakMap<ArrayBufferLike, { owner: string; block: number }>();
  /** Mappings made and not yet collected. */
  #live = 0;

  constructor(
    private readonly addon: NativeAddon,
    /** Sends an owner the ids of blocks this process holds no more. */
    private readonly send: (owner: string, blocks: number[]) => void,
  ) {}

  /**
   * Maps the block `ref` names: copy-on-write (this process's writes stay its own), or shared when
   * the ref says so. The hold ends when the returned buffer is collected.
   */
  map(ref: StoreRef): ArrayBuffer {
    const fd = this.#segment(ref);
    let memory: ArrayBuffer;
    try {
      memory = this.addon.shmMap(fd, ref.offset, ref.length, ref.shared === true);
    } catch (e) {
      throw new StoreError(
        "STORE_UNREACHABLE",
        `could not map a block of the shared-memory store of process ${ref.pid}: ${(e as Error).message}`,
      );
    }
    const held = { owner: ref.owner, block: ref.block };
    this.#collected.register(memory, held, held);
    this.#mappings.set(memory, held);
    this.#live++;
    return memory;
  }

  /**
   * Maps bytes [at, at + length) of the block `ref` names for writing into it (the owner asked this
   * process to fill them: a part of a gather). No hold: the caller unmaps it (addon.shmUnmap) when
   * done, and the owner keeps the block.
   */
  mapForWriting(ref: StoreRef, at: number, length: number): ArrayBuffer {
    if (at < 0 || length <= 0 || at + length > ref.length)
      throw new StoreError("STORE_UNREACHABLE", "a gather names bytes outside its destination block");
    const fd = this.#segment(ref);
    return this.addon.shmMap(fd, ref.offset + at, length, true, true);
  }

  /** Unmaps a mapping made by {@link mapForWriting}. */
  unmapWritten(memory: ArrayBuffer): void {
    this.addon.shmUnmap(memory);
  }

  /** True when `memory` is a mapping made here (a block of some owner's store). */
  maps(memory: ArrayBufferLike): boolean {
    return this.#mappings.has(memory);
  }

  /**
   * Unmaps a mapping made here and releases its block now, without waiting for the garbage
   * collector: for a mapping only this process's own code held (a gather's parts, once joined).
   * Views of it see length 0 afterwards.
   */
  unmapNow(memory: ArrayBuffer): void {
    const held = this.#mappings.get(memory);
    if (!held || !this.#collected.unregister(held)) return;
    this.#mappings.delete(memory);
    this.#live--;
    this.addon.shmUnmap(memory);
    this.release(held.owner, [held.block]);
  }

  /** How many mapped blocks this process may still hold (their views not yet collected). */
  get live(): number {
    return this.#live;
  }

  /** Ends holds on blocks of `owner` (a task dropped before it was decoded, or collected views). */
  release(owner: string, blocks: readonly number[]): void {
    if (!blocks.length) return;
    const list = this.#releases.get(owner);
    if (list) list.push(...blocks);
    else this.#releases.set(owner, [...blocks]);
    this.#flushTimer ??= setTimeout(() => this.flush(), RELEASE_FLUSH_MS);
  }

  /** Sends every pending release now. */
  flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const pending = this.#releases;
    this.#releases = new Map();
    for (const [owner, blocks] of pending) this.send(owner, blocks);
  }

  /** Closes the segments kept open (mappings stay valid). */
  close(): void {
    for (const s of this.#open.values()) {
      clearTimeout(s.idle);
      this.addon.shmClose(s.fd);
    }
    this.#open.clear();
    this.flush();
  }

  /** This process's descriptor of the segment `ref` names, opened and checked on first use. */
  #segment(ref: StoreRef): number {
    const key = `${ref.pid}:${ref.fd}:${ref.token}`;
    let seg = this.#open.get(key);
    if (!seg) {
      let fd: number;
      try {
        fd = this.addon.shmOpenPeer(ref.pid, ref.fd);
      } catch (e) {
        throw new StoreError(
          "STORE_UNREACHABLE",
          `could not open the shared-memory store of process ${ref.pid} (${(e as Error).message}): its owner is gone, or runs on another host or as another user`,
        );
      }
      if (!this.#verify(fd, ref.token)) {
        this.addon.shmClose(fd);
        throw new StoreError(
          "STORE_UNREACHABLE",
          `descriptor ${ref.fd} of process ${ref.pid} is not the store segment this task names (another process with that pid, or another host)`,
        );
      }
      seg = { fd, idle: undefined };
      this.#open.set(key, seg);
    }
    clearTimeout(seg.idle);
    const s = seg;
    s.idle = setTimeout(() => {
      this.#open.delete(key);
      this.addon.shmClose(s.fd);
    }, KEEP_OPEN_MS);
    s.idle.unref();
    return s.fd;
  }

  /** True when the segment behind `fd` starts with the store's magic and `token`. */
  #verify(fd: number, token: string): boolean {
    try {
      const head = this.addon.shmMap(fd, 0, SEGMENT_HEADER_BYTES, false);
      const expected = SEGMENT_MAGIC + token;
      const ok = Buffer.from(head, 0, expected.length).toString("latin1") === expected;
      this.addon.shmUnmap(head);
      return ok;
    } catch {
      return false;
    }
  }
}
