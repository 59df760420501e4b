/**
 * Out-of-band array frames: one Arrow IPC stream per typed array, NDArray or Arrow table.
 *
 * apache-arrow costs ~130 ms to import, so engines load it only when the first large array
 * crosses the wire. Sending makes exactly one copy, taken when the call is made (see
 * {@link OwnedCopy}), which is also what makes the send safe while the caller keeps changing its
 * array; decoding is zero-copy (the typed array is a view of the received frame).
 */
import { Buffer } from "node:buffer";
import type { Lease, SendArena } from "../transport/send-arena.js";

type Arrow = typeof import("apache-arrow");

let arrow: Arrow | undefined;
let loading: Promise<Arrow> | undefined;

/** Loads apache-arrow once. */
export function loadArrow(): Promise<Arrow> {
  if (arrow) return Promise.resolve(arrow);
  loading ??= import("apache-arrow").then((m) => {
    arrow = m;
    return m;
  });
  return loading;
}

/** Typed-array constructors that travel as one flat Arrow column. */
export const TYPED_ARRAY_CTORS = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  Buffer,
} as const;

export type TypedArrayName = keyof typeof TYPED_ARRAY_CTORS;
export type AnyTypedArray = InstanceType<(typeof TYPED_ARRAY_CTORS)[TypedArrayName]>;

const META_KEY = "tsparallel";

/** The typed-array name of `v`, or undefined for DataView and unknown views. */
export function typedArrayName(v: ArrayBufferView): TypedArrayName | undefined {
  if (Buffer.isBuffer(v)) return "Buffer";
  const name = v.constructor?.name;
  return name && name in TYPED_ARRAY_CTORS ? (name as TypedArrayName) : undefined;
}

/**
 * Memory a sender copied an array into when the call was made (see serialize.ts `captureValue`),
 * with room on both sides so the IPC stream can be written around the copy instead of copying
 * it again: `data` is the copy, `frame` the whole block it lies in.
 */
export interface OwnedCopy {
  frame: Uint8Array;
  data: Uint8Array;
}

/** Room before an owned copy for the stream's schema and batch header (measured: ~300–600 B). */
const OWNED_PREFIX = 4096;
/** Room after it for the body's padding and the end-of-stream marker. */
const OWNED_SUFFIX = 64;

/** `size` bytes for a frame: leased from `arena` (the lease goes to `leases`), else fresh. */
function frameMemory(size: number, arena?: SendArena, leases?: Lease[]): Uint8Array {
  if (!arena) return Buffer.allocUnsafeSlow(size);
  const lease = arena.lease(size);
  leases?.push(lease);
  return lease.bytes;
}

/** `byteLength` bytes of owned memory, with room for the stream around them. */
export function ownedCopyMemory(byteLength: number, arena?: SendArena, leases?: Lease[]): OwnedCopy {
  const frame = frameMemory(OWNED_PREFIX + byteLength + OWNED_SUFFIX, arena, leases);
  return { frame, data: frame.subarray(OWNED_PREFIX, OWNED_PREFIX + byteLength) };
}

/** Writes `chunks` one after another into `into` from `at`; returns where they end. */
function writeChunks(into: Uint8Array, chunks: readonly Uint8Array[], at: number): number {
  for (const c of chunks) {
    into.set(c, at);
    at += c.byteLength;
  }
  return at;
}

const totalBytes = (chunks: readonly Uint8Array[]) => chunks.reduce((n, c) => n + c.byteLength, 0);

/**
 * The stream written around an owned copy (see {@link OwnedCopy}), or undefined when the copy is
 * not the column the writer handed out or the rest does not fit around it.
 */
function aroundOwned(chunks: readonly Uint8Array[], owned: OwnedCopy): Uint8Array | undefined {
  const k = chunks.findIndex((c) => sameView(c, owned.data));
  if (k < 0) return undefined;
  const head = chunks.slice(0, k);
  const tail = chunks.slice(k + 1);
  const start = owned.data.byteOffset - owned.frame.byteOffset - totalBytes(head);
  const end = start + totalBytes(head) + owned.data.byteLength + totalBytes(tail);
  if (start < 0 || end > owned.frame.byteLength) return undefined;
  writeChunks(owned.frame, tail, writeChunks(owned.frame, head, start) + owned.data.byteLength);
  return owned.frame.subarray(start, end);
}

const sameView = (x: ArrayBufferView, y: ArrayBufferView) =>
  x.buffer === y.buffer && x.byteOffset === y.byteOffset && x.byteLength === y.byteLength;

/** The chunks of `table`'s IPC stream; the body chunks are views of the table's own buffers. */
async function streamChunks(table: import("apache-arrow").Table): Promise<Uint8Array[]> {
  const A = await loadArrow();
  const writer = new A.RecordBatchStreamWriter();
  writer.write(table);
  writer.finish();
  const chunks: Uint8Array[] = [];
  for await (const c of writer) chunks.push(c);
  return chunks;
}

/**
 * Writes `table` as an Arrow IPC stream into one contiguous frame: fresh memory, or memory leased
 * from `arena` (the lease goes to `leases`, to be released when the frame has been sent). The
 * writer hands its body chunks out as views of the table's own buffers, so this is one copy. With
 * `owned`, the table's column is an owned copy and the stream is written around it (no copy).
 */
export async function encodeTable(
  table: import("apache-arrow").Table,
  arena?: SendArena,
  leases?: Lease[],
  owned?: OwnedCopy,
): Promise<Uint8Array> {
  if (!arena && !owned) return (await loadArrow()).tableToIPC(table, "stream");
  const chunks = await streamChunks(table);
  const around = owned && aroundOwned(chunks, owned);
  if (around) return around;
  const out = frameMemory(totalBytes(chunks), arena, leases);
  writeChunks(out, chunks, 0);
  return out;
}

/**
 * The same stream as three frames, the way Arrow Flight splits a message: the stream's metadata
 * (schema and batch header, a few hundred bytes), the column's bytes (the owned copy itself), and
 * the end of the stream. A receiver can land the middle frame wherever it wants the array to be
 * (a gather lands each engine's part in its place in the joined result); the three frames read in
 * order are the stream {@link encodeTable} writes. When the column is not the owned copy, the
 * whole stream is the first frame and the other two are empty.
 */
export async function encodeTableSplit(
  table: import("apache-arrow").Table,
  owned: OwnedCopy | undefined,
): Promise<Uint8Array[]> {
  const chunks = await streamChunks(table);
  const k = owned ? chunks.findIndex((c) => sameView(c, owned.data)) : -1;
  if (!owned || k < 0) return [Buffer.concat(chunks), EMPTY, EMPTY];
  return [Buffer.concat(chunks.slice(0, k)), owned.data, Buffer.concat(chunks.slice(k + 1))];
}

const EMPTY = new Uint8Array(0);

/** The one-column table a typed array travels as (no copy: the column is a view of the array). */
export async function typedArrayTable(a: AnyTypedArray): Promise<import("apache-arrow").Table> {
  const A = await loadArrow();
  const name = typedArrayName(a);
  if (!name) throw new TypeError("not a supported typed array");
  // Arrow has no clamped/Buffer types: ship the bytes as Uint8 and restore the class from metadata.
  const plain =
    name === "Uint8ClampedArray" || name === "Buffer" ? new Uint8Array(a.buffer, a.byteOffset, a.length) : a;
  const vec = A.makeVector(plain as Float64Array);
  const schema = new A.Schema(
    [new A.Field("values", vec.type, false)],
    new Map([[META_KEY, JSON.stringify({ ctor: name })]]),
  );
  const data = A.makeData({
    type: new A.Struct(schema.fields),
    length: vec.length,
    children: [vec.data[0]!],
  });
  return new A.Table([new A.RecordBatch(schema, data)]);
}

/** A copy of `a` in owned memory (see {@link OwnedCopy}), and the same kind of array over it. */
export function ownTypedArray(
  a: AnyTypedArray,
  arena?: SendArena,
  leases?: Lease[],
): { value: AnyTypedArray; owned: OwnedCopy } {
  const owned = ownedCopyMemory(a.byteLength, arena, leases);
  owned.data.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  const d = owned.data;
  const value = Buffer.isBuffer(a)
    ? Buffer.from(d.buffer, d.byteOffset, d.byteLength)
    : new (a.constructor as new (b: ArrayBufferLike, o: number, n: number) => AnyTypedArray)(
        d.buffer,
        d.byteOffset,
        a.length,
      );
  return { value, owned };
}

/**
 * Decodes the stream of a {@link typedArrayTable}: one frame ({@link encodeTable}) or the three of
 * a split stream ({@link encodeTableSplit}). The result is a view of the frame holding the column.
 */
export async function typedArrayFromIPC(frame: Uint8Array | readonly Uint8Array[]): Promise<AnyTypedArray> {
  const A = await loadArrow();
  const table = A.tableFromIPC(frame as Uint8Array[]);
  const meta = JSON.parse(table.schema.metadata.get(META_KEY) ?? "{}") as { ctor?: TypedArrayName };
  const col = table.getChild("values");
  if (!col || !meta.ctor || !(meta.ctor in TYPED_ARRAY_CTORS)) {
    throw new TypeError("the Arrow frame is not a tsparallel typed-array frame");
  }
  // One batch by construction; a multi-chunk column (another writer) is flattened with one copy.
  // The column's buffer is padded to 8 bytes: only its first `col.length` values are the array's.
  const values = (col.data.length === 1 ? col.data[0]!.values : col.toArray()).subarray(
    0,
    col.length,
  ) as AnyTypedArray;
  const ctor = TYPED_ARRAY_CTORS[meta.ctor];
  if (meta.ctor === "Buffer") return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  if (values.constructor === ctor) return values;
  const bytes = values.BYTES_PER_ELEMENT;
  return new (ctor as unknown as new (b: ArrayBufferLike, o: number, n: number) => AnyTypedArray)(
    values.buffer,
    values.byteOffset,
    values.byteLength / bytes,
  );
}

/** Structural check for an apache-arrow Table without importing apache-arrow. */
export function isArrowTable(v: unknown): v is import("apache-arrow").Table {
  if (typeof v !== "object" || v === null) return false;
  const t = v as { schema?: unknown; batches?: unknown; getChild?: unknown; numRows?: unknown };
  return (
    typeof t.schema === "object" &&
    Array.isArray(t.batches) &&
    typeof t.getChild === "function" &&
    typeof t.numRows === "number"
  );
}

/** Decodes an IPC stream (one frame or a split one) into a table whose buffers are views of it. */
export async function tableFromIPC(
  frame: Uint8Array | readonly Uint8Array[],
): Promise<import("apache-arrow").Table> {
  return (await loadArrow()).tableFromIPC(frame as Uint8Array[]);
}
