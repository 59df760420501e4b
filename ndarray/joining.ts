/**
 * Joining arrays: `concatenate`, `stack`, `vstack`, `hstack` and `block` (numpy's assembly of a
 * matrix from nested lists of tiles).
 * @module
 */
import { allocate, promoteTypes } from "./dtype.js";
import { formatShape, ShapeError, ValueError } from "./errors.js";
import { copyInto, NDArray } from "./ndarray.js";
import { normalizeAxis, sizeOf, stridesFor } from "./shape.js";

/** Joins arrays along an existing axis; all other axes must match. The dtype is the promotion of all inputs. */
export function concatenate(arrays: readonly NDArray[], axis = 0): NDArray {
  if (arrays.length === 0) throw new ValueError("need at least one array to concatenate");
  const first = arrays[0]!;
  if (first.ndim === 0) throw new ValueError("zero-dimensional arrays cannot be concatenated");
  const ax = normalizeAxis(axis, first.ndim);
  for (const a of arrays) {
    const ok = a.ndim === first.ndim && a.shape.every((d, i) => i === ax || d === first.shape[i]);
    if (!ok) {
      throw new ShapeError(
        `all the input array dimensions except for the concatenation axis must match exactly; got shapes ${arrays.map((x) => formatShape(x.shape)).join(", ")} along axis ${ax}`,
      );
    }
  }
  const dtype = arrays.map((a) => a.dtype).reduce(promoteTypes);
  const shape = [...first.shape];
  shape[ax] = arrays.reduce((n, a) => n + a.shape[ax]!, 0);
  const out = new NDArray(allocate(dtype, sizeOf(shape)), shape, stridesFor(shape), 0, dtype);
  let at = 0;
  for (const a of arrays) {
    const len = a.shape[ax]!;
    const index = shape.map((_, i) => (i === ax ? `${at}:${at + len}` : ":"));
    copyInto(out.slice(...index), a);
    at += len;
  }
  return out;
}

/** Joins same-shaped arrays along a new axis. */
export function stack(arrays: readonly NDArray[], axis = 0): NDArray {
  if (arrays.length === 0) throw new ValueError("need at least one array to stack");
  const first = arrays[0]!;
  for (const a of arrays) {
    if (a.ndim !== first.ndim || a.shape.some((d, i) => d !== first.shape[i])) {
      throw new ShapeError(
        `all input arrays must have the same shape; got ${arrays.map((x) => formatShape(x.shape)).join(", ")}`,
      );
    }
  }
  const ax = normalizeAxis(axis, first.ndim + 1);
  return concatenate(
    arrays.map((a) => a.expandDims(ax)),
    ax,
  );
}

function atLeast(a: NDArray, nd: number): NDArray {
  let x = a;
  while (x.ndim < nd) x = x.expandDims(0);
  return x;
}

/** Stacks arrays vertically (row-wise); 1-D inputs become rows. */
export function vstack(arrays: readonly NDArray[]): NDArray {
  return concatenate(
    arrays.map((a) => atLeast(a, 2)),
    0,
  );
}

/** Stacks arrays horizontally (column-wise); 1-D inputs are joined end to end. */
export function hstack(arrays: readonly NDArray[]): NDArray {
  const as1 = arrays.map((a) => atLeast(a, 1));
  return concatenate(as1, as1[0]!.ndim === 1 ? 0 : 1);
}

/** Nested lists of arrays for `block`. */
export type BlockList = NDArray | readonly BlockList[];

function depthOf(b: BlockList): number {
  if (!Array.isArray(b)) return 0;
  const list = b as readonly BlockList[];
  if (list.length === 0) throw new ValueError("block: lists cannot be empty");
  const depths = list.map(depthOf);
  if (depths.some((d) => d !== depths[0])) throw new ValueError("block: list depths are mismatched");
  return depths[0]! + 1;
}

function maxNdim(b: BlockList): number {
  return Array.isArray(b) ? Math.max(...(b as readonly BlockList[]).map(maxNdim)) : (b as NDArray).ndim;
}

/**
 * Assembles an array from nested lists of tiles, like numpy's `block`: the innermost lists are
 * joined along the last axis, the next level along the second-to-last, and so on.
 * `block([[c00, c01], [c10, c11]])` rebuilds a matrix from four quadrants.
 */
export function block(tiles: BlockList): NDArray {
  const depth = depthOf(tiles);
  const nd = Math.max(depth, maxNdim(tiles));
  const rec = (b: BlockList, level: number): NDArray => {
    if (!Array.isArray(b)) return atLeast(b as NDArray, nd);
    const parts = (b as readonly BlockList[]).map((x) => rec(x, level + 1));
    return concatenate(parts, -(depth - level));
  };
  return rec(tiles, 0);
}
