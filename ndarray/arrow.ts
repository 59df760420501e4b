/**
 * NDArray <-> Arrow IPC stream, the wire format of the parallel runtime.
 *
 * An array travels as a one-column record batch: a flat Float64/Float32/Int32/Uint8 column of its
 * elements in C or F order, with `shape` (JSON), `dtype` and `order` in the schema metadata (under
 * `tsparallel.` keys). Arrow Tensor messages are not used: apache-arrow JS cannot read them.
 * @module
 */
import {
  type DataType,
  Field,
  Float32,
  Float64,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
  Uint8,
} from "apache-arrow";
import { DTYPES, type DType, itemSize, type TypedArray } from "./dtype.js";
import { ArrowFormatError } from "./errors.js";
import { lowestOffset } from "./memory-layout.js";
import { isNDArray, NDArray } from "./ndarray.js";

export { ndarrayCopyInto } from "./memory-layout.js";

import { type Order, sizeOf, stridesFor } from "./shape.js";

const KEY_SHAPE = "tsparallel.shape";
const KEY_DTYPE = "tsparallel.dtype";
const KEY_ORDER = "tsparallel.order";
const COLUMN = "values";

function arrowType(dtype: DType): DataType {
  switch (dtype) {
    case "float64":
      return new Float64();
    case "float32":
      return new Float32();
    case "int32":
      return new Int32();
    case "uint8":
    case "bool":
      return new Uint8();
  }
}

/**
 * Encodes an array as an Arrow IPC stream. The result is a fresh buffer (Arrow's writer
 * concatenates its chunks), so it is safe to hand to ZeroMQ's zero-copy send even if the array is
 * modified afterwards. C- and F-contiguous arrays are written as they are; other views are packed
 * in C order first. A Float64/Float32/Int32/Uint8Array, also one made in another realm (a `vm`
 * context), is accepted as a 1-D array.
 */
export function ndarrayToArrowIPC(x: NDArray | TypedArray): Uint8Array {
  return tableToIPC(ndarrayToArrowTable(x), "stream");
}

/**
 * The Arrow table `ndarrayToArrowIPC` writes: one non-null column that is a view of the array's
 * data when it is contiguous (a copy in C order otherwise), shape, dtype and order in the schema.
 */
export function ndarrayToArrowTable(x: NDArray | TypedArray): Table {
  // A bare typed array (from any realm) travels as a 1-D array of its own dtype.
  const a = isNDArray(x) ? x : new NDArray(x, [x.length]);
  const f = a.flags;
  const n = a.size;
  let order: Order = "C";
  let values: TypedArray;
  if (f.c_contiguous || f.f_contiguous) {
    order = f.c_contiguous ? "C" : "F";
    // A contiguous array's elements are the n entries from its lowest address.
    const start = n === 0 ? 0 : lowestOffset(a);
    values = a.data.subarray(start, start + n) as TypedArray;
  } else values = a.copy("C").data.subarray(0, n) as TypedArray;
  const type = arrowType(a.dtype);
  const metadata = new Map([
    [KEY_SHAPE, JSON.stringify(a.shape)],
    [KEY_DTYPE, a.dtype],
    [KEY_ORDER, order],
  ]);
  const field = new Field(COLUMN, type, false);
  const schema = new Schema([field], metadata);
  const column = makeData({ type, length: n, nullCount: 0, data: values } as never);
  const batch = new RecordBatch(
    schema,
    makeData({ type: new Struct([field]), length: n, nullCount: 0, children: [column] }),
  );
  return new Table(schema, batch);
}

/**
 * Decodes bytes written by `ndarrayToArrowIPC` (or a stream split into several frames, given in
 * order). The result is a view of the bytes' column, not a
 * copy (Arrow only copies when the column is misaligned for its element size, e.g. bytes at an
 * odd byteOffset), so keep the bytes unchanged while the array is in use.
 */
export function ndarrayFromArrowIPC(bytes: Uint8Array | readonly Uint8Array[]): NDArray {
  let table: Table;
  try {
    table = tableFromIPC(bytes as Uint8Array[]);
  } catch (e) {
    throw new ArrowFormatError(`not an Arrow IPC stream: ${e instanceof Error ? e.message : String(e)}`);
  }
  // Unsupported messages (e.g. Arrow Tensor) decode to an empty table rather than failing.
  if (table.numCols !== 1) throw new ArrowFormatError(`expected one column, got ${table.numCols}`);
  const meta = table.schema.metadata;
  const dtype = meta.get(KEY_DTYPE) as DType | undefined;
  const order = (meta.get(KEY_ORDER) ?? "C") as Order;
  const shapeText = meta.get(KEY_SHAPE);
  if (!dtype || !DTYPES.includes(dtype) || !shapeText || (order !== "C" && order !== "F")) {
    throw new ArrowFormatError(
      "missing or invalid tsparallel.shape / tsparallel.dtype / tsparallel.order metadata",
    );
  }
  const shape = JSON.parse(shapeText) as number[];
  const n = sizeOf(shape);
  const col = table.getChildAt(0)!;
  if (col.length !== n)
    throw new ArrowFormatError(`column has ${col.length} values but shape ${shapeText} needs ${n}`);
  let values: TypedArray;
  if (col.data.length === 1) {
    const v = col.data[0]!.values as TypedArray;
    values = v.subarray(0, n) as TypedArray;
  } else values = col.toArray() as TypedArray;
  if (values.BYTES_PER_ELEMENT !== itemSize(dtype)) {
    throw new ArrowFormatError(`column type ${col.type} does not hold dtype ${dtype}`);
  }
  return new NDArray(values, shape, stridesFor(shape, order), 0, dtype);
}
