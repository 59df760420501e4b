import { Buffer } from "node:buffer";
import { isArrowTable } from "../wire/values/arrow-frames.js";
import { type NDArrayJoining, ndarrayJoining } from "../wire/values/ndarray-link.js";
import { isNDArray } from "../wire/values/serialize.js";

/**
 * Block partitioning for scatter/map and concatenation for gather (ipyparallel's `dist='b'`):
 * n items over p parts, the first n % p parts one longer. Parts are views where the type allows
 * (typed arrays, NDArrays along axis 0, Arrow tables by rows); the send makes the one copy.
 */

/** Anything `scatter` and `map` can split. */
export type Partitionable = readonly unknown[] | ArrayLike<number | bigint> | object;

interface NDArrayLike {
  shape: readonly number[];
  slice(...index: (string | number)[]): unknown;
}

/** Number of items along axis 0, or throws with what is accepted. */
/** The common length of `map`'s sequences; a clear error when there are none or they differ. */
export function mapLength(seqs: readonly unknown[]): number {
  if (seqs.length === 0) throw new TypeError("map() needs at least one sequence");
  const n = lengthOf(seqs[0], "the first sequence");
  for (const [i, s] of seqs.entries()) {
    if (lengthOf(s, `sequence ${i}`) !== n)
      throw new TypeError(`map() sequences differ in length: ${n} and ${lengthOf(s)}`);
  }
  return n;
}

export function lengthOf(seq: unknown, what = "the sequence"): number {
  if (Array.isArray(seq) || ArrayBuffer.isView(seq)) return (seq as ArrayLike<unknown>).length;
  if (isNDArray(seq)) return (seq as NDArrayLike).shape[0] ?? 0;
  if (isArrowTable(seq)) return seq.numRows;
  if (typeof seq === "string") return seq.length;
  throw new TypeError(
    `${what} must be an array, typed array, NDArray or Arrow table, got ${seq === null ? "null" : typeof seq}`,
  );
}

/** The [start, stop) bounds of each of `parts` blocks of `n` items. */
export function blockBounds(n: number, parts: number): [number, number][] {
  const base = Math.floor(n / parts);
  const extra = n % parts;
  const out: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < parts; i++) {
    const len = base + (i < extra ? 1 : 0);
    out.push([start, start + len]);
    start += len;
  }
  return out;
}

/** Items [start, stop) of `seq` as a view where possible. */
export function sliceOf(seq: unknown, start: number, stop: number): unknown {
  if (Array.isArray(seq)) return seq.slice(start, stop);
  if (ArrayBuffer.isView(seq))
    return (seq as unknown as { subarray(a: number, b: number): unknown }).subarray(start, stop);
  if (isNDArray(seq)) return (seq as NDArrayLike).slice(`${start}:${stop}`);
  if (isArrowTable(seq)) return seq.slice(start, stop);
  if (typeof seq === "string") return seq.slice(start, stop);
  throw new TypeError("cannot slice this value");
}

/** Splits `seq` into `parts` blocks; with `flatten`, one-item blocks become the item. */
export function partition(seq: unknown, parts: number, flatten = false): unknown[] {
  const n = lengthOf(seq);
  return blockBounds(n, parts).map(([a, b]) => {
    const part = sliceOf(seq, a, b);
    if (flatten && b - a === 1)
      return Array.isArray(part) || ArrayBuffer.isView(part) ? (part as ArrayLike<unknown>)[0] : part;
    return part;
  });
}

let joining: NDArrayJoining | undefined;

/** Loads ndarray's joining functions (only needed when gathering NDArrays). */
export async function loadNDArrayConcat(): Promise<void> {
  joining ??= await ndarrayJoining();
}

type View = ArrayBufferView & ArrayLike<number> & { set(a: ArrayLike<number>, o: number): void };

/**
 * The typed arrays `parts` as one array without copying, when they lie back to back and fill
 * one buffer exactly (how a gather lands them); undefined otherwise.
 */
function joinAdjacent(parts: readonly View[]): View | undefined {
  const buffer = parts[0]!.buffer;
  let at = 0;
  for (const p of parts) {
    if (p.buffer !== buffer || p.byteOffset !== at) return undefined;
    at += p.byteLength;
  }
  if (at !== buffer.byteLength) return undefined;
  const first = parts[0]!;
  if (Buffer.isBuffer(first)) return Buffer.from(buffer, 0, at);
  const Ctor = first.constructor as new (b: ArrayBufferLike, o: number, n: number) => View;
  return new Ctor(buffer, 0, at / (first as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT);
}

/** Joins gathered parts back into one value of the parts' kind. */
export function concatParts(parts: readonly unknown[]): unknown {
  const live = parts.filter((p) => p !== undefined);
  if (live.length === 0) return [];
  const first = live[0];
  if (
    ArrayBuffer.isView(first) &&
    live.every((p) => ArrayBuffer.isView(p) && p.constructor === first.constructor)
  ) {
    const views = live as unknown as View[];
    if (views.length === 1) return first; // received for this result alone: nobody else holds it
    const joined = joinAdjacent(views);
    if (joined) return joined;
    const total = views.reduce((n, p) => n + p.length, 0);
    const Ctor = first.constructor as new (n: number) => (typeof views)[number];
    const out = new Ctor(total);
    let at = 0;
    for (const p of views) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
  if (isNDArray(first) && live.every(isNDArray)) {
    if (!joining) throw new Error("internal: NDArray concatenate not loaded");
    if (live.length === 1) return first;
    return joining.joinAdjacent(live) ?? joining.concatenate(live, 0);
  }
  if (isArrowTable(first) && live.every(isArrowTable)) return first.concat(...live.slice(1));
  return live.flatMap((p) =>
    Array.isArray(p) ? p : ArrayBuffer.isView(p) ? Array.from(p as unknown as ArrayLike<unknown>) : [p],
  );
}
