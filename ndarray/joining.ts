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
  const shape = joinedShape(
    arrays.map((a) => a.shape),
    ax,
  );
  const out = allocateLike(arrays, shape);
  let at = 0;
  for (const a of arrays) {
    const len = a.shape[ax]!;
    const index = shape.map((_, i) => (i === ax ? `${at}:${at + len}` : ":"));
    copyInto(out.slice(...index), a);
    at += len;
  }
  return out;
}

/**
 * `arrays` joined along axis 0 without copying, when they are C-ordered blocks of one dtype lying
 * back to back and filling one buffer exactly (how a gather lands the parts it receives);
 * undefined otherwise. Not part of the package's API: unlike {@link concatenate}, the result
 * shares memory with the inputs.
 */
export function joinAdjacent(arrays: readonly NDArray[]): NDArray | undefined {
  const first = arrays[0];
  if (!first || first.ndim === 0) return undefined;
  const buffer = first.data.buffer;
  const itemsize = first.data.BYTES_PER_ELEMENT;
  let at = 0;
  for (const a of arrays) {
    if (a.dtype !== first.dtype || a.ndim !== first.ndim || a.data.buffer !== buffer) return undefined;
    if (a.shape.some((d, i) => i > 0 && d !== first.shape[i])) return undefined;
    const strides = stridesFor(a.shape);
    if (a.size > 0 && a.strides.some((s, i) => a.shape[i]! > 1 && s !== strides[i])) return undefined;
    if (a.data.byteOffset + a.offset * itemsize !== at) return undefined;
    at += a.size * itemsize;
  }
  if (at !== buffer.byteLength) return undefined;
  const shape = [arrays.reduce((n, a) => n + a.shape[0]!, 0), ...first.shape.slice(1)];
  const Ctor = first.data.constructor as new (b: ArrayBufferLike, o: number, n: number) => typeof first.data;
  return new NDArray(new Ctor(buffer, 0, at / itemsize), shape, stridesFor(shape), 0, first.dtype);
}

/** The shape of `shapes` joined along `ax`; every other axis must match. */
function joinedShape(shapes: readonly (readonly number[])[], ax: number): number[] {
  const first = shapes[0]!;
  for (const s of shapes) {
    if (s.length !== first.length || s.some((d, i) => i !== ax && d !== first[i])) {
      throw new ShapeError(
        `all the input array dimensions except for the concatenation axis must match exactly; got shapes ${shapes.map(formatShape).join(", ")} along axis ${ax}`,
      );
    }
  }
  const shape = [...first];
  shape[ax] = shapes.reduce((n, s) => n + s[ax]!, 0);
  return shape;
}

/** A C-ordered result of `shape` whose dtype is the promotion of the inputs'. */
function allocateLike(arrays: readonly NDArray[], shape: number[]): NDArray {
  const dtype = arrays.map((a) => a.dtype).reduce(promoteTypes);
  return new NDArray(allocate(dtype, sizeOf(shape)), shape, stridesFor(shape), 0, dtype);
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
  // Shapes and places first, then one result and one copy per tile (numpy does the same for
  // large blocks): joining level by level would copy every element once per level.
  type Placed = { tile: NDArray; at: number[] };
  const layout = (b: BlockList, level: number): { shape: number[]; tiles: Placed[] } => {
    if (!Array.isArray(b)) {
      const tile = atLeast(b as NDArray, nd);
      return { shape: [...tile.shape], tiles: [{ tile, at: tile.shape.map(() => 0) }] };
    }
    const ax = nd - (depth - level);
    const parts = (b as readonly BlockList[]).map((x) => layout(x, level + 1));
    const shape = joinedShape(
      parts.map((p) => p.shape),
      ax,
    );
    let offset = 0;
    for (const p of parts) {
      for (const t of p.tiles) t.at[ax]! += offset;
      offset += p.shape[ax]!;
    }
    return { shape, tiles: parts.flatMap((p) => p.tiles) };
  };
  const { shape, tiles: placed } = layout(tiles, 0);
  const out = allocateLike(
    placed.map((p) => p.tile),
    shape,
  );
  for (const { tile, at } of placed) {
    copyInto(out.slice(...at.map((o, i) => `${o}:${o + tile.shape[i]!}`)), tile);
  }
  return out;
}
