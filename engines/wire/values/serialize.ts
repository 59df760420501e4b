import { Buffer } from "node:buffer";
import { deserialize, serialize } from "node:v8";
import type { NDArray } from "../../../ndarray/ndarray.js";
import type { Lease, SendArena } from "../transport/send-arena.js";
import {
  type AnyTypedArray,
  encodeTable,
  encodeTableSplit,
  isArrowTable,
  type OwnedCopy,
  ownedCopyMemory,
  ownTypedArray,
  tableFromIPC,
  typedArrayFromIPC,
  typedArrayName,
  typedArrayTable,
} from "./arrow-frames.js";
import {
  loadedNDArrayConversion,
  type NDArrayConversion,
  ndarrayConversion,
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
    if (value.byteLength >= threshold && typedArrayName(value)) return placeholder("typed");
    return value;
  }
  if (isNDArray(value)) return placeholder("ndarray");
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
  let head: Buffer;
  try {
    head = serialize(structure);
  } catch (e) {
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
  const { arena, leases } = opts;
  for (const item of oob) {
    if (item.kind === "typed") Object.assign(item, ownTypedArray(item.value as AnyTypedArray, arena, leases));
    else if (item.kind === "ndarray") {
      const nd = loadedNDArrayConversion();
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
  return { head, oob };
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

/** Decodes frames made by {@link encodeValue}. Arrays are views of the frames (no copy). */
export async function decodeValue(frames: readonly Buffer[]): Promise<unknown> {
  const inline = decodeInline(frames);
  if (inline) return inline.value;
  const structure: unknown = deserialize(frames[0]!);
  const values: unknown[] = [];
  // Placeholders say their kind and whether they are split, so decode the frames in order.
  const marks = new Map<number, Placeholder>();
  collectMarks(structure, marks, new Set());
  for (let i = 1, k = 0; i < frames.length; k++) {
    const mark = marks.get(k);
    const n = mark?.split ? 3 : 1;
    if (i + n > frames.length)
      throw new SerializationError("", "a value is missing some of its array frames");
    const f = n === 1 ? frames[i]! : frames.slice(i, i + n);
    i += n;
    if (mark?.kind === "table") values.push(await tableFromIPC(f));
    else if (mark?.kind === "ndarray") values.push((await conversion()).ndarrayFromArrowIPC(f));
    else values.push(await typedArrayFromIPC(f));
  }
  return restore(structure, values);
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
  return { value: deserialize(head) };
}

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
