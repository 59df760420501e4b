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
/**
 * How many bytes an engine maps between full collections at most (see {@link StoreMapper}): four
 * pushes of 64 MiB, so a loop of them costs each engine a collection every fourth push, not every
 * one, and holds at most five such blocks of its client's store.
 */
export const MAPPED_BYTES_PER_COLLECTION = 256 * 2 ** 20;

/** How long releases wait to be sent together, in ms. */
const RELEASE_FLUSH_MS = 20;

/**
 * The receiving side of the store: maps the blocks tasks name (opening the owner's segment through
 * /proc/<pid>/fd and checking its token first), and tells owners when a block is no longer needed:
 * when the garbage collector has let go of every view of its mapping, or at once for a task dropped
 * before it was decoded. Releases to the same owner are sent together.
 *
 * V8 counts a buffer's bytes as this process's memory and runs a full collection each time that
 * count grows by 64 MiB: every push of 64 MiB made every engine that mapped it collect, all at
 * once, in the middle of decoding (64 engines on two cores spent most of the push doing so). With
 * `counted: false` the mappings are not counted (the pages are the owner's), and the process
 * decides when to collect instead: an engine does after every {@link MAPPED_BYTES_PER_COLLECTION}
 * mapped, once its task is done, and when quiet (engine.ts).
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

  #mappedSinceCollection = 0;

  constructor(
    private readonly addon: NativeAddon,
    /** Sends an owner the ids of blocks this process holds no more. */
    private readonly send: (owner: string, blocks: number[]) => void,
    /** Whether V8 counts the mappings as this process's memory (see the class's doc). */
    private readonly counted = true,
  ) {}

  /** Bytes mapped since {@link collected} was last called. */
  get mappedSinceCollection(): number {
    return this.#mappedSinceCollection;
  }

  /** A full collection ran: mappings dropped before it have been found. */
  collected(): void {
    this.#mappedSinceCollection = 0;
  }

  /**
   * Maps the block `ref` names: copy-on-write (this process's writes stay its own), or shared when
   * the ref says so. The hold ends when the returned buffer is collected.
   */
  map(ref: StoreRef): ArrayBuffer {
    const fd = this.#segment(ref);
    let memory: ArrayBuffer;
    try {
      memory = this.addon.shmMap(fd, ref.offset, ref.length, ref.shared === true, false, this.counted);
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
    this.#mappedSinceCollection += ref.length;
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
    return this.addon.shmMap(fd, ref.offset + at, length, true, true, this.counted);
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
