/**
 * Arrays in shared memory: `nd.shared(shape, dtype)` makes an NDArray whose memory engines on this
 * host map rather than copy, so what they write into it (a block of a product, a slice of a
 * result) is in the notebook's array when their task returns: the seed lessons' shared
 * `multiprocessing` arrays, across processes. The memory comes from the cluster client's store;
 * the client registers where it comes from when it connects (this module knows no cluster).
 * @module
 */
import { type DTypeLike, itemSize, type TypedArray, toDType } from "./dtype.js";
import { ValueError } from "./errors.js";
import { NDArray } from "./ndarray.js";
import { type Order, type ShapeLike, sizeOf, stridesFor, toShape } from "./shape.js";

/** Gives zeroed shared memory of `byteLength` bytes (a cluster client's store). */
export type SharedAllocator = (byteLength: number) => ArrayBuffer;

let allocator: SharedAllocator | undefined;

/** @internal Installs where shared memory comes from (the cluster client, on connect), or removes it. */
export function setSharedAllocator(next: SharedAllocator | undefined): void {
  allocator = next;
}

/**
 * A zeroed NDArray of `shape` in shared memory. Pass it to tasks like any array: engines on this
 * host write into the same memory (slices included), and the notebook sees their writes once their
 * tasks are done. Needs a connected cluster client (`Cluster.start`, `Client.connect`) with its
 * shared-memory store, which needs the native addon.
 */
export function shared(shape: ShapeLike, dtype: DTypeLike = "float64", order: Order = "C"): NDArray {
  if (!allocator)
    throw new ValueError(
      "nd.shared needs a connected cluster client with a shared-memory store (Cluster.start or Client.connect first; the store needs the native addon, built when a C compiler is present)",
    );
  const s = toShape(shape);
  const dt = toDType(dtype);
  const n = sizeOf(s);
  const memory = allocator(Math.max(1, n * itemSize(dt)));
  const data = typedView(dt, memory, n);
  return new NDArray(data, s, stridesFor(s, order), 0, dt);
}

function typedView(dtype: string, memory: ArrayBuffer, n: number): TypedArray {
  switch (dtype) {
    case "float64":
      return new Float64Array(memory, 0, n);
    case "float32":
      return new Float32Array(memory, 0, n);
    case "int32":
      return new Int32Array(memory, 0, n);
    default:
      return new Uint8Array(memory, 0, n);
  }
}
