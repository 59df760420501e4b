/**
 * An NDArray's memory as a sender and a receiver share it: a contiguous copy into memory the sender
 * chose (the copy that makes a send safe), and the layout (dtype, shape, strides, offset) that lets
 * a receiver view the same bytes as the same array without Apache Arrow (the cluster's shared-
 * memory store places arrays this way).
 * @module
 */
import { type DType, itemSize, type TypedArray } from "./dtype.js";
import { copyInto, isNDArray, NDArray } from "./ndarray.js";

/** Where an array's elements lie in a flat buffer of its dtype. */
export interface NDArrayLayout {
  dtype: DType;
  shape: number[];
  /** In elements. */
  strides: number[];
  /** Of the first element, in elements. */
  offset: number;
}

/**
 * A contiguous copy of `x` in memory from `alloc` (asked for the copy's byte length): a C- or
 * F-contiguous array keeps its layout, any other view is packed in C order. The cluster's sender
 * copies an array when the call is made, so later changes to it do not travel.
 */
export function ndarrayCopyInto(x: NDArray | TypedArray, alloc: (byteLength: number) => Uint8Array): NDArray {
  const a = isNDArray(x) ? x : new NDArray(x, [x.length]);
  const n = a.size;
  const width = itemSize(a.dtype);
  const bytes = alloc(n * width);
  const Ctor = a.data.constructor as new (b: ArrayBufferLike, o: number, n: number) => TypedArray;
  const dest = new Ctor(bytes.buffer, bytes.byteOffset, n);
  const f = a.flags;
  if (f.c_contiguous || f.f_contiguous) {
    const start = n === 0 ? 0 : lowestOffset(a);
    dest.set(a.data.subarray(start, start + n) as never);
    return new NDArray(dest, a.shape, a.strides, a.offset - start, a.dtype);
  }
  const out = new NDArray(dest, a.shape, undefined, 0, a.dtype);
  copyInto(out, a);
  return out;
}

/** The data index of the element at the lowest address (strides may be negative). */
export function lowestOffset(a: NDArray): number {
  let o = a.offset;
  for (let i = 0; i < a.ndim; i++) if (a.strides[i]! < 0) o += (a.shape[i]! - 1) * a.strides[i]!;
  return o;
}

/** The layout of `a` (over its own data). */
export function ndarrayLayout(a: NDArray): NDArrayLayout {
  return { dtype: a.dtype, shape: [...a.shape], strides: [...a.strides], offset: a.offset };
}

/** An NDArray viewing `data` (a typed array of the layout's dtype) the way `layout` says. */
export function ndarrayFromLayout(data: TypedArray, layout: NDArrayLayout): NDArray {
  return new NDArray(data, layout.shape, layout.strides, layout.offset, layout.dtype);
}
