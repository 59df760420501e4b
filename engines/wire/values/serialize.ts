import { Buffer } from "node:buffer";
import { deserialize, serialize } from "node:v8";
import type { NDArrayLayout } from "../../../ndarray/memory-layout.js";
import type { NDArray } from "../../../ndarray/ndarray.js";
import { storedRefOf } from "../../store/shared-arrays.js";
import { StoreHandle } from "../../store/store-handle.js";
import { isStoreRef, type StoreRef } from "../../store/store-ref.js";
import type { Lease, SendArena } from "../transport/send-arena.js";
import {
  type AnyTypedArray,
  encodeTable,
  encodeTableSplit,
  isArrowTable,
  type OwnedCopy,
  ownedCopyMemory,
  ownTypedArray,
  TYPED_ARRAY_CTORS,
  type TypedArrayName,
  tableFromIPC,
  typedArrayFromIPC,
  typedArrayName,
  typedArrayTable,
} from "./arrow-frames.js";
import {
  loadedNDArrayMemory,
  type NDArrayConversion,
  ndarrayConversion,
  ndarrayMemory,
  preloadNDArrays,
} from "./ndarray-link.js";

/**
 * Values on the wire: one structured-clone frame plus one Arrow IPC frame per large array.
 *
 * The value is walked; typed arrays at or above the threshold, NDArrays and Arrow tables are
 * replaced by small placeholders and travel as their own frames. Everything else goes through
 * `v8.serialize`, which handles cycles, Maps, Dates, BigInts and small typed arrays.
 */

/** Arrays this big or bigger go out of band. */
export const DEFAULT_OOB_THRESHOLD = 64 * 1024;

/** A value that cannot be sent; `path` names the offending field (e.g. `args[1].callback`). */
export class SerializationError extends Error {
  override readonly name = "SerializationError";
  readonly code = "UNSERIALIZABLE" as const;
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** The brand ndarray/ puts on its arrays. */
export const NDARRAY_BRAND: unique symbol = Symbol.for("tsparallel.NDArray") as never;

/** ndarray's conversion, or a SerializationError saying it could not load. */
async function conversion(): Promise<NDArrayConversion> {
  try {
    return await ndarrayConversion();
  } catch (e) {
    throw new SerializationError(
      "",
      `NDArrays need tsparallel/ndarray's Arrow conversion, which failed to load: ${(e as Error).message}`,
    );
  }
}

/** True for arrays made by tsparallel/ndarray (checked by brand, so any copy of the module works). */
export function isNDArray(v: unknown): v is NDArray {
  return typeof v === "object" && v !== null && (v as Record<symbol, unknown>)[NDARRAY_BRAND] === true;
}

/**
 * Bytes of the arrays in `value` (typed arrays and NDArrays, up to two levels into arrays and
 * plain objects): what encoding it will roughly cost, known without encoding it.
 */
export function arrayBytes(value: unknown, depth = 2): number {
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (isNDArray(value)) {
    const a = value as { size: number; data: { BYTES_PER_ELEMENT?: number } };
    return a.size * (a.data.BYTES_PER_ELEMENT ?? 8);
  }
  if (depth <= 0 || typeof value !== "object" || value === null) return 0;
  let n = 0;
  if (Array.isArray(value)) for (const v of value) n += arrayBytes(v, depth - 1);
  else if (isPlainObject(value)) for (const v of Object.values(value)) n += arrayBytes(v, depth - 1);
  return n;
}

const OOB_KEY = "\u0000tsparallel.oob";

type OobKind = "typed" | "ndarray" | "table";
interface Oob {
  kind: OobKind;
  value: unknown;
  /** The sender's copy `value` lies in (see {@link captureValue}). */
  owned?: OwnedCopy;
  /** What stands in for it in the structure. */
  mark: Placeholder;
}
interface Placeholder {
  [OOB_KEY]: number;
  kind: OobKind;
  /** It travels as a split stream: three frames (see arrow-frames.ts `encodeTableSplit`). */
  split?: true;
  /** It lies in a block of the sender's shared-memory store instead of a frame of its own. */
  stored?: Stored;
}

/** What a receiver needs to view an array placed in the store. */
interface Stored {
  ref: StoreRef;
  /** A typed array's constructor name. */
  array?: TypedArrayName;
  /** An NDArray's layout over the block. */
  layout?: NDArrayLayout;
  /** A typed array that is a part of the block: its byte offset and length in it. */
  slice?: [number, number];
}

/**
 * Where a sender may place large arrays so that receivers on its host map them instead of reading
 * a frame (see engines/store/).
 */
export interface StorePlacer {
  /** Arrays of this many bytes or more are placed. */
  readonly threshold: number;
  /**
   * Room for `length` bytes: the bytes to write and the block's ref (with `slice`, the part of the
   * block they are, as [byte offset, byte length]), or undefined to use a frame.
   */
  place(length: number): { bytes: Uint8Array; ref: StoreRef; slice?: [number, number] } | undefined;
  /** Takes holds on a block that already exists (a put or shared array); false if it cannot. */
  hold(ref: StoreRef): boolean;
  /** Gives back a block (placed or held) that will not travel after all. */
  discard(ref: StoreRef): void;
  /** Copies bytes into a placed block (a parallel copy for large ones; default: `set`). */
  copy?(into: Uint8Array, from: Uint8Array): void;
}

/** How {@link decodeValue} reaches arrays placed in a sender's store. */
export interface DecodeOptions {
  /** Maps a placed array's block (a receiver without one cannot take such a value). */
  map?: (ref: StoreRef) => ArrayBuffer;
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Replaces big arrays by placeholders, cloning only the containers on the way to one. */
function extract(value: unknown, threshold: number, oob: Oob[], seen: Set<object>): unknown {
  if (typeof value !== "object" || value === null) return value;
  const placeholder = (kind: OobKind): Placeholder => {
    const mark: Placeholder = { [OOB_KEY]: oob.length, kind };
    oob.push({ kind, value, mark });
    return mark;
  };
  if (ArrayBuffer.isView(value)) {
    // An array in a store block goes by reference whatever its size (writes to a shared one must reach).
    if ((value.byteLength >= threshold || storedRefOf(value.buffer)) && typedArrayName(value))
      return placeholder("typed");
    return value;
  }
  if (isNDArray(value)) return placeholder("ndarray");
  if (value instanceof StoreHandle) return placeholder(value.layout ? "ndarray" : "typed");
  if (isArrowTable(value)) return placeholder("table");
  if (seen.has(value)) return value;
  if (Array.isArray(value)) {
    seen.add(value);
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item !== "object" || item === null) continue;
      const x = extract(item, threshold, oob, seen);
      if (x === item) continue;
      out ??= value.slice();
      out[i] = x;
    }
    seen.delete(value);
    return out ?? value;
  }
  if (isPlainObject(value)) {
    seen.add(value);
    let out: Record<string, unknown> | undefined;
    for (const k of Object.keys(value)) {
      const item = value[k];
      if (typeof item !== "object" || item === null) continue;
      const x = extract(item, threshold, oob, seen);
      if (x === item) continue;
      out ??= { ...value };
      out[k] = x;
    }
    seen.delete(value);
    return out ?? value;
  }
  return value;
}

function describe(v: unknown): string {
  if (typeof v === "function") return `a function (${v.name || "anonymous"})`;
  if (typeof v === "symbol") return `a symbol (${String(v)})`;
  const ctor = (v as object)?.constructor?.name;
  return ctor ? `a ${ctor}` : "a value structured clone rejects";
}

/** Finds the first field structured clone rejects, for an error that names it. */
function findUncloneable(v: unknown, path: string, seen: Set<object>): string | undefined {
  if (typeof v === "function" || typeof v === "symbol") return path;
  if (typeof v !== "object" || v === null || seen.has(v)) return undefined;
  seen.add(v);
  try {
    serialize(v);
    return undefined;
  } catch {
    const entries: [string, unknown][] =
      v instanceof Map
        ? [...v.entries()].map(([k, x]) => [`.get(${JSON.stringify(k)})`, x])
        : v instanceof Set
          ? [...v].map((x, i) => [`<set item ${i}>`, x])
          : Array.isArray(v)
            ? v.map((x, i) => [`[${i}]`, x])
            : Object.keys(v).map((k) => [
                /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`,
                (v as Record<string, unknown>)[k],
              ]);
    for (const [suffix, x] of entries) {
      const found = findUncloneable(x, path + suffix, seen);
      if (found) return found;
    }
    return path;
  }
}

function pathValue(root: unknown, rootName: string, path: string): unknown {
  // Only used for the error text: re-walk is cheap and avoids threading values through.
  if (path === rootName) return root;
  try {
    return new Function("r", `return r${path.slice(rootName.length)}`)(root);
  } catch {
    return undefined;
  }
}

/** Options for {@link encodeValue}. */
export interface EncodeOptions {
  /** Out-of-band threshold in bytes (default 64 KiB). */
  threshold?: number;
  /** Name of the value in error messages (default `value`). */
  name?: string;
  /**
   * Copy arrays into memory leased from this arena (reused across sends) instead of fresh
   * memory; each lease is added to `leases`, and must be released once the frames are sent.
   */
  arena?: SendArena;
  leases?: Lease[];
  /**
   * Send typed arrays and NDArrays as split streams (metadata, column, end: three frames), so
   * the receiver can land each column where it wants it (see `GatherLanding`).
   */
  split?: boolean;
  /** Place large typed arrays and NDArrays here instead of in frames (same-host receivers). */
  store?: StorePlacer;
  /** Collects the refs of the blocks the value was placed in (a task lists them). */
  placed?: StoreRef[];
}

/**
 * Encodes `value` into frames: `[structure, ...arrowFrames]`. Throws {@link SerializationError}
 * naming the field that cannot be sent.
 *
 * What is sent is the value as it was when this was called: it is serialised and its typed
 * arrays and NDArrays copied synchronously ({@link captureValue}) before the first `await`, so
 * code that changes an array right after `push({ a })` or `apply(f, a)` returns cannot change
 * what the engine gets. Arrow tables, immutable by convention, are read when their frame is
 * written.
 */
export function encodeValue(value: unknown, opts: EncodeOptions = {}): Promise<Buffer[]> {
  try {
    return Promise.resolve(encodeValueNow(value, opts));
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * {@link encodeValue}, with the frames at once when there is no Arrow frame to write (no large
 * array): a flood of small tasks then costs no promise per payload. Throws what encodeValue rejects.
 */
export function encodeValueNow(value: unknown, opts: EncodeOptions = {}): Buffer[] | Promise<Buffer[]> {
  const captured = captureValue(value, opts);
  return captured.oob.length ? framesOf(captured, opts) : [captured.head];
}

/** A value taken at call time: its structure frame, and large arrays as the sender's own copies. */
interface CapturedValue {
  head: Buffer;
  oob: Oob[];
}

/**
 * Takes `value` now: the structure is serialised and each large typed array or NDArray copied
 * into memory this send owns (leased from `opts.arena` when given), laid out so the Arrow frame
 * can later be written around the copy without copying it again. Arrow tables are immutable
 * and travel as they are.
 */
function captureValue(value: unknown, opts: EncodeOptions): CapturedValue {
  const plain = plainJson(value);
  if (plain !== undefined) return { head: plain, oob: [] };
  const name = opts.name ?? "value";
  const oob: Oob[] = [];
  const structure = extract(value, opts.threshold ?? DEFAULT_OOB_THRESHOLD, oob, new Set());
  if (opts.split) for (const item of oob) if (item.kind !== "table") item.mark.split = true;
  const placed = placeInStore(oob, opts.store);
  let head: Buffer;
  try {
    head = serialize(structure);
  } catch (e) {
    for (const ref of placed) opts.store!.discard(ref);
    const path = findUncloneable(value, name, new Set()) ?? name;
    const what = describe(pathValue(value, name, path));
    const hint =
      typeof pathValue(value, name, path) === "function"
        ? " Functions are not values on the wire: apply the function itself, or define it on the engines with execute()."
        : " Convert it to plain data (objects, arrays, numbers, strings, typed arrays) first.";
    throw new SerializationError(
      path,
      `cannot send ${path}: it is ${what}, which cannot be serialised.${hint} (${(e as Error).message})`,
    );
  }
  opts.placed?.push(...placed);
  const { arena, leases } = opts;
  const framed = placed.length ? oob.filter((item) => !item.mark.stored) : oob;
  for (const item of framed) {
    if (item.kind === "typed") Object.assign(item, ownTypedArray(item.value as AnyTypedArray, arena, leases));
    else if (item.kind === "ndarray") {
      const nd = loadedNDArrayMemory();
      if (nd) {
        item.value = nd.ndarrayCopyInto(item.value as NDArray, (n) => {
          item.owned = ownedCopyMemory(n, arena, leases);
          return item.owned.data;
        });
      } else {
        // The codec is still loading (clients start it when they connect): copy with the
        // array's own method, into fresh memory, and the frame copies once more.
        item.value = (item.value as { copy(): unknown }).copy();
        preloadNDArrays();
      }
    }
  }
  return { head, oob: framed };
}

/**
 * Copies the large typed arrays and NDArrays among `oob` into blocks of the store and marks their
 * placeholders so; returns the blocks' refs. An array the store cannot take (full, or an NDArray
 * before ndarray's layouts have loaded) stays in `oob` for a frame.
 */
function placeInStore(oob: Oob[], store: StorePlacer | undefined): StoreRef[] {
  const refs: StoreRef[] = [];
  for (const item of oob) {
    if (item.value instanceof StoreHandle) {
      const h = item.value;
      if (store?.hold(h.ref)) {
        item.mark.stored = {
          ref: h.ref,
          array: h.array as TypedArrayName,
          ...(h.layout ? { layout: h.layout } : {}),
        };
        refs.push(h.ref);
        continue;
      }
      item.value = h.value; // a receiver that cannot map the block gets the bytes
    }
    if (item.kind !== "table" && byReference(item, store)) {
      refs.push(item.mark.stored!.ref);
      continue;
    }
    if (!store) continue;
    if (item.kind === "typed") {
      const v = item.value as AnyTypedArray;
      const array = typedArrayName(v);
      if (v.byteLength < store.threshold || !array) continue;
      const block = store.place(v.byteLength);
      if (!block) continue;
      copyBytes(store, block.bytes, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      item.mark.stored = { ref: block.ref, array, ...(block.slice ? { slice: block.slice } : {}) };
      refs.push(block.ref);
    } else if (item.kind === "ndarray") {
      const nd = loadedNDArrayMemory();
      const a = item.value as NDArray;
      const bytes = a.size * (a.data.BYTES_PER_ELEMENT ?? 8);
      if (!nd || bytes < store.threshold) continue;
      const block = store.place(bytes);
      if (!block) continue;
      let layout: NDArrayLayout;
      const flags = a.flags;
      if (flags.c_contiguous || flags.f_contiguous) {
        // Its elements lie together: their bytes are copied as they are, layout kept.
        const start = a.size === 0 ? 0 : nd.lowestOffset(a);
        const width = a.data.BYTES_PER_ELEMENT;
        copyBytes(
          store,
          block.bytes,
          new Uint8Array(a.data.buffer, a.data.byteOffset + start * width, bytes),
        );
        layout = { ...nd.ndarrayLayout(a), offset: a.offset - start };
      } else layout = nd.ndarrayLayout(nd.ndarrayCopyInto(a, () => block.bytes));
      // Within a slice of a block, the layout's offset counts from the block's start.
      if (block.slice) layout.offset += block.slice[0] / a.data.BYTES_PER_ELEMENT;
      item.mark.stored = { ref: block.ref, array: typedArrayName(a.data as AnyTypedArray), layout };
      refs.push(block.ref);
    }
  }
  return refs;
}

/** Copies into a placed block, in parallel where the placer can. */
function copyBytes(store: StorePlacer, into: Uint8Array, from: Uint8Array): void {
  if (store.copy) store.copy(into, from);
  else into.set(from);
}

/**
 * Sends an array that already lives in the store (a put or shared array, or a view of one) by its
 * block's ref, holding the block for the receivers. A shared array that cannot travel by ref (its
 * receivers are on another host) is an error: a copy would not share anything.
 */
function byReference(item: Oob, store: StorePlacer | undefined): boolean {
  const a = item.value as AnyTypedArray | NDArray;
  const data = item.kind === "ndarray" ? (a as NDArray).data : (a as AnyTypedArray);
  const ref = storedRefOf(data.buffer);
  if (!ref) return false;
  if (!store?.hold(ref)) {
    if (ref.shared)
      throw new SerializationError(
        "",
        "a shared array (nd.shared) can only go to engines on the client's host, which map its memory; send a copy (array.copy()) to others",
      );
    return false;
  }
  const array = typedArrayName(data);
  item.mark.stored =
    item.kind === "ndarray"
      ? {
          ref,
          array,
          layout: {
            dtype: (a as NDArray).dtype,
            shape: [...(a as NDArray).shape],
            strides: [...(a as NDArray).strides],
            // In elements from the block's start (a view's data may start inside the block).
            offset: (a as NDArray).offset + data.byteOffset / data.BYTES_PER_ELEMENT,
          },
        }
      : data.byteOffset === 0 && data.byteLength === ref.length
        ? { ref, array }
        : { ref, array, slice: [data.byteOffset, data.byteLength] };
  return true;
}

/** The frames of a captured value (the Arrow frames written around the owned copies). */
async function framesOf(captured: CapturedValue, opts: EncodeOptions): Promise<Buffer[]> {
  const frames: Buffer[] = [captured.head];
  const { arena, leases } = opts;
  for (const item of captured.oob) {
    const table =
      item.kind === "typed"
        ? await typedArrayTable(item.value as AnyTypedArray)
        : item.kind === "table"
          ? (item.value as import("apache-arrow").Table)
          : (await conversion()).ndarrayToArrowTable(item.value as NDArray);
    const out = item.mark.split
      ? await encodeTableSplit(table, item.owned)
      : [await encodeTable(table, arena, leases, item.owned)];
    for (const f of out) frames.push(Buffer.from(f.buffer, f.byteOffset, f.byteLength));
  }
  return frames;
}

function isPlaceholder(v: unknown): v is Placeholder {
  return typeof v === "object" && v !== null && typeof (v as Placeholder)[OOB_KEY] === "number";
}

function restore(v: unknown, values: unknown[], seen = new Set<object>()): unknown {
  if (typeof v !== "object" || v === null || ArrayBuffer.isView(v)) return v;
  if (isPlaceholder(v)) return values[v[OOB_KEY]];
  if (seen.has(v)) return v;
  seen.add(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = restore(v[i], values, seen);
  } else if (isPlainObject(v)) {
    for (const k of Object.keys(v)) v[k] = restore(v[k], values, seen);
  }
  return v;
}

/**
 * The value as a JSON frame when it is a lone number, string, boolean or null, or a short array
 * of them (an apply's arguments, a small result); undefined otherwise. Such values are most of a
 * flood of tiny tasks, and JSON costs a fraction of a structured-clone (de)serializer object per
 * value. The frame never starts with 0xFF, the structured-clone version tag, so decoding tells
 * them apart. -0, NaN and ±Infinity are not JSON: they take the structured-clone path.
 */
function plainJson(value: unknown): Buffer | undefined {
  const ok = (v: unknown) =>
    v === null ||
    typeof v === "boolean" ||
    (typeof v === "number" && Number.isFinite(v) && !Object.is(v, -0)) ||
    (typeof v === "string" && v.length <= 256);
  if (ok(value)) return Buffer.from(JSON.stringify(value));
  if (!Array.isArray(value) || value.length > 16 || Object.getPrototypeOf(value) !== Array.prototype)
    return undefined;
  for (let i = 0; i < value.length; i++) if (!(i in value) || !ok(value[i])) return undefined;
  return Buffer.from(JSON.stringify(value));
}

/** The structured-clone format's first byte; a JSON frame (see {@link plainJson}) never has it. */
const CLONE_TAG = 0xff;

/**
 * Decodes frames made by {@link encodeValue}. Arrays are views of the frames (no copy), or of the
 * sender's store blocks, mapped through `opts.map`.
 */
export async function decodeValue(frames: readonly Buffer[], opts: DecodeOptions = {}): Promise<unknown> {
  const inline = decodeInline(frames);
  if (inline) return inline.value;
  const structure: unknown = deserialize(frames[0]!);
  const values: unknown[] = [];
  // Placeholders say their kind, whether they are split or stored: decode them in order.
  const marks = new Map<number, Placeholder>();
  collectMarks(structure, marks, new Set());
  for (let k = 0, i = 1; k < marks.size; k++) {
    const mark = marks.get(k);
    if (!mark) throw new SerializationError("", "a value's array placeholders are not numbered in order");
    if (mark.stored) {
      values.push(await storedValue(mark.stored, opts));
      continue;
    }
    const n = mark.split ? 3 : 1;
    if (i + n > frames.length)
      throw new SerializationError("", "a value is missing some of its array frames");
    const f = n === 1 ? frames[i]! : frames.slice(i, i + n);
    i += n;
    if (mark.kind === "table") values.push(await tableFromIPC(f));
    else if (mark.kind === "ndarray") values.push((await conversion()).ndarrayFromArrowIPC(f));
    else values.push(await typedArrayFromIPC(f));
  }
  return restore(structure, values);
}

/** The array a stored placeholder stands for: a view of its block, mapped here. */
async function storedValue(stored: Stored, opts: DecodeOptions): Promise<unknown> {
  const Ctor = stored.array ? TYPED_ARRAY_CTORS[stored.array] : undefined;
  if (!isStoreRef(stored.ref) || !Ctor)
    throw new SerializationError(
      "",
      "a value names a shared-memory block in a form this version does not read",
    );
  if (!opts.map)
    throw new SerializationError(
      "",
      "a value lies in another process's shared memory, which this process cannot map",
    );
  const memory = opts.map(stored.ref);
  // An NDArray views the whole block (its layout's offset counts from the block's start).
  const [at, bytes] = (!stored.layout && stored.slice) || [0, stored.ref.length];
  if (!Number.isSafeInteger(at) || !Number.isSafeInteger(bytes) || at < 0 || at + bytes > stored.ref.length)
    throw new SerializationError("", "a value names bytes outside its shared-memory block");
  const View = Ctor as Float64ArrayConstructor;
  const data =
    Ctor === Buffer ? Buffer.from(memory, at, bytes) : new View(memory, at, bytes / View.BYTES_PER_ELEMENT);
  if (!stored.layout) return data;
  return (await ndarrayMemory()).ndarrayFromLayout(data as never, stored.layout);
}

/**
 * Decodes a value that came in one frame (JSON or structured clone, no arrays out of band) at
 * once; undefined when it has out-of-band frames, which {@link decodeValue} decodes.
 */
export function decodeInline(frames: readonly Buffer[]): { value: unknown } | undefined {
  if (frames.length === 0) throw new SerializationError("", "no value frames in the message");
  if (frames.length > 1) return undefined;
  const head = frames[0]!;
  if (head.length > 0 && head[0] !== CLONE_TAG) {
    try {
      return { value: JSON.parse(head.toString("utf8")) };
    } catch (e) {
      throw new SerializationError(
        "",
        `a value frame is neither structured clone nor JSON: ${(e as Error).message}`,
      );
    }
  }
  // A value whose arrays lie in a store has placeholders but no frames for them.
  if (head.includes(OOB_KEY_BYTES)) return undefined;
  return { value: deserialize(head) };
}

/** The placeholder key as structured clone writes it (a one-byte string). */
const OOB_KEY_BYTES = Buffer.from(OOB_KEY, "latin1");

function collectMarks(v: unknown, marks: Map<number, Placeholder>, seen: Set<object>): void {
  if (typeof v !== "object" || v === null || ArrayBuffer.isView(v) || seen.has(v)) return;
  if (isPlaceholder(v)) {
    marks.set(v[OOB_KEY], v);
    return;
  }
  seen.add(v);
  if (Array.isArray(v)) for (const x of v) collectMarks(x, marks, seen);
  else if (isPlainObject(v)) for (const k of Object.keys(v)) collectMarks(v[k], marks, seen);
}
