import { randomBytes } from "node:crypto";
import { availableParallelism, totalmem } from "node:os";
import process from "node:process";
import { clearTimeout, setImmediate, setTimeout } from "node:timers";
import type { NativeAddon } from "../../ndarray/node/native-addon.js";
import type { EngineId } from "../wire/protocol/messages.js";
import { collectGarbage } from "./collect-garbage.js";
import { StoreError } from "./store-error.js";
import { SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, type StoreRef } from "./store-ref.js";

/**
 * Who holds a block: an engine (it mapped it, or will), a load-balanced task not yet placed, this
 * process, or (in an engine's store) a client by its session.
 */
export type Holder = EngineId | "lb" | "local" | string;

/** One block: a page-aligned range of a segment holding one array. */
export interface Block {
  readonly id: number;
  readonly segment: Segment;
  readonly offset: number;
  /** Bytes asked for. */
  readonly length: number;
  /** Bytes taken in the segment (a whole number of pages). */
  readonly size: number;
  /** Holds by holder; the block is freed when none is left. */
  readonly holders: Map<Holder, number>;
}

/** A memfd of the store, mapped shared in the owner. */
interface Segment {
  readonly fd: number;
  readonly token: string;
  readonly size: number;
  /** The owner's mapping of the whole segment (writes go to the segment). */
  readonly memory: ArrayBuffer;
  /** Free ranges [offset, size], sorted by offset. */
  free: [number, number][];
  used: number;
  idle: NodeJS.Timeout | undefined;
}

/** How the store is set up. */
export interface StoreOptions {
  /** Most bytes its segments may take together. */
  limit: number;
  /** Size of a new segment (a larger block gets a segment of its own size). */
  segmentBytes?: number;
  /** How long a segment with nothing in it is kept before it is given back, in ms. */
  idleMs?: number;
}

/** Arrays this large or larger travel through a store between processes on one host. */
export const STORE_THRESHOLD = 256 << 10;

const PAGE = 4096;
/** Threads a large copy into a block may use (one core's copy leaves the memory bus half idle). */
const COPY_THREADS = Math.min(4, availableParallelism());
/** A block this large is worth a garbage collection to find reusable memory for (see allocateWarm). */
const WARM_COLLECT_BYTES = 64 << 20;
/** Four 64 MiB blocks and the header page. */
const DEFAULT_SEGMENT_BYTES = (256 << 20) + SEGMENT_HEADER_BYTES;
const DEFAULT_IDLE_MS = 30_000;

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/**
 * The default size limit: `TSPARALLEL_STORE_BYTES` (bytes, or with a K/M/G suffix), else a
 * quarter of the memory this process may use.
 */
export function defaultStoreLimit(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.TSPARALLEL_STORE_BYTES?.trim();
  if (text) {
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text);
    if (!m)
      throw new StoreError(
        "STORE_UNAVAILABLE",
        `TSPARALLEL_STORE_BYTES="${text}" is not a size (e.g. 4G, 512M)`,
      );
    const scale = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2]!.toLowerCase() as "" | "k"]!;
    return Math.floor(Number(m[1]) * scale);
  }
  const limit = process.constrainedMemory?.();
  return Math.floor((limit ? Math.min(limit, totalmem()) : totalmem()) / 4);
}

/**
 * A client's same-host object store, as Ray's plasma store is to Ray: large arrays placed once in
 * shared memory, which engines on this host map instead of receiving a copy over a socket.
 *
 * Memory comes in segments (memfds: they cannot outlive their last holder, so a crash leaves nothing
 * behind), each mapped shared here, and is handed out as page-aligned blocks. A block counts its
 * holds (an engine that was sent it, this process's own views) and is freed when the last goes:
 * engines release what their garbage collector has let go, and an engine that dies lets go of
 * everything. Segments stay mapped here while anything is in them, so a freed block's pages are
 * reused warm; a segment left empty for a while is given back. The sum of segments is capped.
 */
export class ObjectStore {
  readonly #segments = new Set<Segment>();
  readonly #blocks = new Map<number, Block>();
  #nextId = 1;
  #bytes = 0;
  readonly #segmentBytes: number;
  readonly #idleMs: number;
  #lastCollect = 0;

  constructor(
    private readonly addon: NativeAddon,
    /** The owner's session, written into every ref (releases are routed to it). */
    readonly owner: string,
    readonly options: StoreOptions,
  ) {
    this.#segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.#idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
  }

  /** Bytes the segments take now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Bytes held by blocks in use. */
  get used(): number {
    let n = 0;
    for (const s of this.#segments) n += s.used;
    return n;
  }

  /** Blocks in use. */
  get blocks(): number {
    return this.#blocks.size;
  }

  /**
   * A block of `length` bytes, or undefined when the store cannot hold it (at its limit with the
   * rest in use). The block starts with no holds: {@link retain} it before it travels.
   */
  allocate(length: number): Block | undefined {
    const size = roundUp(Math.max(length, 1), PAGE);
    const fit = this.#fit(size, length);
    if (fit) return fit;
    // A segment of the usual size, or what is left under the limit, or this block's own size.
    const needed = roundUp(size + SEGMENT_HEADER_BYTES, PAGE);
    const segSize = Math.max(needed, Math.min(this.#segmentBytes, this.options.limit - this.#bytes));
    if (this.#bytes + segSize > this.options.limit) return undefined;
    const seg = this.#segment(segSize);
    return this.#block(seg, takeRange(seg, size)!, length, size);
  }

  /**
   * A block of `length` bytes, preferring memory the store already has: when it would need a new
   * segment while this process holds blocks of its own, it first lets the garbage collector find
   * those the program has dropped (at most once a second), since fresh memory costs far more than
   * a collection. Undefined when even a new segment does not fit.
   */
  async allocateWarm(length: number): Promise<Block | undefined> {
    const block = this.#fit(roundUp(Math.max(length, 1), PAGE), length);
    if (block) return block;
    const now = Date.now();
    // A large block's fresh pages cost more than a collection every time; smaller ones, now and then.
    const worth = length >= WARM_COLLECT_BYTES || now - this.#lastCollect > 1000;
    if (this.#localHolds() > 0 && worth) {
      this.#lastCollect = now;
      collectGarbage();
      // Finalizers run in a later turn of the event loop.
      await new Promise((r) => setTimeout(r, 0));
      await new Promise((r) => setImmediate(r));
    }
    return this.allocate(length);
  }

  #localHolds(): number {
    let n = 0;
    for (const b of this.#blocks.values()) n += b.holders.get("local") ?? 0;
    return n;
  }

  /** A message saying the store is full, with what to do. */
  fullMessage(length: number): string {
    const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
    return `the shared-memory store cannot hold ${gib(length)} more: ${gib(this.used)} of its ${gib(this.options.limit)} are in use by ${this.#blocks.size} arrays. Drop arrays you no longer need (engines free theirs when their garbage collector does), or give the store more room (Client.connect(..., { storeBytes }) or TSPARALLEL_STORE_BYTES)`;
  }

  /** Copies `from` into `into` (a block's bytes) with the machine's cores, for large copies. */
  copy(into: Uint8Array, from: Uint8Array): void {
    this.addon.shmCopy(into, from, COPY_THREADS);
  }

  /** The owner's writable view of a block's bytes. */
  bytesOf(block: Block): Uint8Array {
    return new Uint8Array(block.segment.memory, block.offset, block.length);
  }

  /** How a task names `block` (shared: receivers' writes reach the segment). */
  ref(block: Block, shared = false): StoreRef {
    const seg = block.segment;
    return {
      pid: process.pid,
      fd: seg.fd,
      token: seg.token,
      offset: block.offset,
      length: block.length,
      block: block.id,
      owner: this.owner,
      ...(shared ? { shared: true } : {}),
    };
  }

  /** Adds `n` holds of `holder`. */
  retain(block: Block, holder: Holder, n = 1): void {
    block.holders.set(holder, (block.holders.get(holder) ?? 0) + n);
  }

  /** One hold of `holder` on block `id` ends; the block is freed when none is left. */
  release(id: number, holder: Holder): void {
    const block = this.#blocks.get(id);
    const n = block?.holders.get(holder);
    if (!block || !n) return;
    if (n > 1) block.holders.set(holder, n - 1);
    else block.holders.delete(holder);
    if (block.holders.size === 0) this.#free(block);
  }

  /** The block with id `id`, if it is in use. */
  block(id: number): Block | undefined {
    return this.#blocks.get(id);
  }

  /**
   * Engine `engine` released block `id`: one of its holds ends, or, when it has none, one
   * load-balanced hold (it was that task's engine and its release came before the task's reply).
   */
  releaseFromEngine(id: number, engine: EngineId): void {
    const block = this.#blocks.get(id);
    if (!block) return;
    this.release(id, block.holders.has(engine) ? engine : "lb");
  }

  /** Moves one hold from `from` to `to` (a load-balanced task's engine became known). */
  transfer(id: number, from: Holder, to: Holder): void {
    const block = this.#blocks.get(id);
    const n = block?.holders.get(from);
    if (!block || !n) return;
    if (n > 1) block.holders.set(from, n - 1);
    else block.holders.delete(from);
    this.retain(block, to);
  }

  /** `holder` is gone (an engine died, a client's process ended): its holds end with its mappings. */
  holderGone(holder: Holder): void {
    for (const block of [...this.#blocks.values()]) {
      if (!block.holders.delete(holder)) continue;
      if (block.holders.size === 0) this.#free(block);
    }
  }

  /** Every holder of some block now. */
  holders(): Set<Holder> {
    const out = new Set<Holder>();
    for (const block of this.#blocks.values()) for (const h of block.holders.keys()) out.add(h);
    return out;
  }

  /** Frees a block that never travelled (its encoding failed). */
  discard(block: Block): void {
    if (this.#blocks.has(block.id) && block.holders.size === 0) this.#free(block);
  }

  /**
   * A mapping of `block` of this process's own, held until the returned buffer is collected: the
   * memory of a gathered array or a shared array the user holds. Shared: writes reach the block
   * (everyone mapping it shared sees them); otherwise copy-on-write.
   */
  ownMapping(block: Block, shared: boolean): ArrayBuffer {
    // Not counted either (see #segment): V8 would collect each time the mappings grew by 64 MiB,
    // a pause that grows with the program's heap (a gather from 64 engines took 100–500 ms instead
    // of 65–75 in a client holding 1.5 million objects). allocateWarm collects instead, before the
    // store takes fresh memory while this process holds blocks.
    const memory = this.addon.shmMap(block.segment.fd, block.offset, block.length, shared, false, false);
    this.retain(block, "local");
    localHolds.register(memory, { store: new WeakRef(this), id: block.id });
    return memory;
  }

  /** Closes every segment (blocks still mapped elsewhere live on until their holders unmap). */
  close(): void {
    for (const seg of this.#segments) this.#dropSegment(seg);
    this.#blocks.clear();
  }

  /** A block in a segment the store has, or undefined. */
  #fit(size: number, length: number): Block | undefined {
    for (const seg of this.#segments) {
      const at = takeRange(seg, size);
      if (at !== undefined) return this.#block(seg, at, length, size);
    }
    return undefined;
  }

  #segment(size: number): Segment {
    const fd = this.addon.shmCreate("tsparallel-store", size);
    let memory: ArrayBuffer;
    try {
      // Not populated: the pages are reserved already, and filling the page tables of a whole
      // segment costs more (here ~80 ms for 256 MiB) than the faults of the blocks that are used,
      // which a parallel copy takes on several threads. Not counted as V8's memory: the store
      // frees a segment, never the collector, and counting it made V8 run a full collection each
      // time the store grew by 64 MiB.
      memory = this.addon.shmMap(fd, 0, size, true, false, false);
    } catch (e) {
      this.addon.shmClose(fd);
      throw e;
    }
    const token = randomBytes(16).toString("hex");
    Buffer.from(memory, 0, SEGMENT_HEADER_BYTES).write(SEGMENT_MAGIC + token, "latin1");
    const seg: Segment = {
      fd,
      token,
      size,
      memory,
      free: [[SEGMENT_HEADER_BYTES, size - SEGMENT_HEADER_BYTES]],
      used: 0,
      idle: undefined,
    };
    this.#segments.add(seg);
    this.#bytes += size;
    return seg;
  }

  #block(seg: Segment, offset: number, length: number, size: number): Block {
    clearTimeout(seg.idle);
    seg.idle = undefined;
    seg.used += size;
    const block: Block = { id: this.#nextId++, segment: seg, offset, length, size, holders: new Map() };
    this.#blocks.set(block.id, block);
    return block;
  }

  #free(block: Block): void {
    this.#blocks.delete(block.id);
    const seg = block.segment;
    giveRange(seg, block.offset, block.size);
    seg.used -= block.size;
    if (seg.used === 0 && this.#segments.has(seg)) {
      seg.idle = setTimeout(() => this.#dropSegment(seg), this.#idleMs);
      seg.idle.unref();
    }
  }

  #dropSegment(seg: Segment): void {
    clearTimeout(seg.idle);
    if (!this.#segments.delete(seg)) return;
    this.#bytes -= seg.size;
    this.addon.shmUnmap(seg.memory);
    this.addon.shmClose(seg.fd);
  }
}

/** Ends this process's own holds when their mappings are collected. */
const localHolds = new FinalizationRegistry<{ store: WeakRef<ObjectStore>; id: number }>(({ store, id }) =>
  store.deref()?.release(id, "local"),
);

/** First fit: takes `size` bytes from a segment's free ranges; returns the offset. */
function takeRange(seg: Segment, size: number): number | undefined {
  for (let i = 0; i < seg.free.length; i++) {
    const [at, len] = seg.free[i]!;
    if (len < size) continue;
    if (len === size) seg.free.splice(i, 1);
    else seg.free[i] = [at + size, len - size];
    return at;
  }
  return undefined;
}

/** Gives a range back, merged with its free neighbours. */
function giveRange(seg: Segment, at: number, size: number): void {
  const free = seg.free;
  let i = 0;
  while (i < free.length && free[i]![0] < at) i++;
  free.splice(i, 0, [at, size]);
  if (i + 1 < free.length && free[i]![0] + free[i]![1] === free[i + 1]![0]) {
    free[i] = [free[i]![0], free[i]![1] + free[i + 1]![1]];
    free.splice(i + 1, 1);
  }
  if (i > 0 && free[i - 1]![0] + free[i - 1]![1] === free[i]![0]) {
    free[i - 1] = [free[i - 1]![0], free[i - 1]![1] + free[i]![1]];
    free.splice(i, 1);
  }
}
