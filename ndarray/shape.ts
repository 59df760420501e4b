/**
 * Shape and stride arithmetic shared by every operation: strides for C/F order, contiguity checks,
 * axis normalisation and broadcasting of shapes. Strides are counted in elements, not bytes.
 */
import { formatShape, IndexError, ShapeError, ValueError } from "./errors.js";

/** Memory order of a new array: `C` (row-major, last axis fastest) or `F` (column-major). */
export type Order = "C" | "F";

/** A shape argument: one length or a list of lengths. */
export type ShapeLike = number | readonly number[];

/** Validates a shape argument and returns it as a fresh array. */
export function toShape(shape: ShapeLike): number[] {
  const s = typeof shape === "number" ? [shape] : [...shape];
  for (const d of s) {
    if (!Number.isInteger(d) || d < 0)
      throw new ValueError(`invalid shape ${formatShape(s)}: lengths must be integers >= 0`);
  }
  return s;
}

/** Number of elements of a shape (1 for a 0-d shape). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Element strides of a packed array of `shape` in the given order. */
export function stridesFor(shape: readonly number[], order: Order = "C"): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  if (order === "C") {
    for (let i = shape.length - 1; i >= 0; i--) {
      strides[i] = step;
      step *= Math.max(shape[i]!, 1);
    }
  } else {
    for (let i = 0; i < shape.length; i++) {
      strides[i] = step;
      step *= Math.max(shape[i]!, 1);
    }
  }
  return strides;
}

/** True when elements are laid out packed in C order (axes of length 1 may have any stride). */
export function isCContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i]!;
    if (d === 0) return true;
    if (d !== 1 && strides[i] !== step) return false;
    step *= d;
  }
  return true;
}

/** True when elements are laid out packed in Fortran order (axes of length 1 may have any stride). */
export function isFContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let step = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d === 0) return true;
    if (d !== 1 && strides[i] !== step) return false;
    step *= d;
  }
  return true;
}

/** Resolves a possibly negative axis against `ndim`; out-of-range axes throw an IndexError. */
export function normalizeAxis(axis: number, ndim: number): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim) {
    throw new IndexError(`axis ${axis} is out of bounds for array of dimension ${ndim}`);
  }
  return axis < 0 ? axis + ndim : axis;
}

/** Resolves an axis list (or all axes for null/undefined), rejecting repeats. */
export function normalizeAxes(axis: number | readonly number[] | null | undefined, ndim: number): number[] {
  if (axis === null || axis === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = (typeof axis === "number" ? [axis] : axis).map((a) => normalizeAxis(a, ndim));
  if (new Set(list).size !== list.length) throw new ValueError(`repeated axis in ${JSON.stringify(axis)}`);
  return list.sort((a, b) => a - b);
}

/** The shape operands broadcast to, following numpy's rules; incompatible shapes throw a ShapeError naming all of them. */
export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  const ndim = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(ndim).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = ndim - s.length + i;
      const d = s[i]!;
      if (d === out[j]) continue;
      if (out[j] === 1) out[j] = d;
      else if (d !== 1) {
        throw new ShapeError(
          `operands could not be broadcast together with shapes ${shapes.map(formatShape).join(" ")}`,
        );
      }
    }
  }
  return out;
}

/**
 * Strides that read an array of `shape`/`strides` as if it had shape `target` (which must be a
 * broadcast of it): new leading axes and stretched length-1 axes get stride 0.
 */
export function broadcastStrides(
  shape: readonly number[],
  strides: readonly number[],
  target: readonly number[],
): number[] {
  const out = new Array<number>(target.length).fill(0);
  const lead = target.length - shape.length;
  for (let i = 0; i < shape.length; i++) {
    out[lead + i] = shape[i] === 1 && target[lead + i] !== 1 ? 0 : strides[i]!;
  }
  return out;
}

/** Resolves a reshape target with at most one -1 against `size`. */
export function resolveReshape(size: number, from: readonly number[], shape: readonly number[]): number[] {
  const out = [...shape];
  let unknown = -1;
  let known = 1;
  for (let i = 0; i < out.length; i++) {
    const d = out[i]!;
    if (d === -1) {
      if (unknown >= 0) throw new ValueError("can only specify one unknown dimension (-1)");
      unknown = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new ValueError(`invalid reshape target ${formatShape(shape)}`);
    } else known *= d;
  }
  if (unknown >= 0) {
    if (known === 0 || size % known !== 0) {
      throw new ShapeError(
        `cannot reshape array of size ${size} (shape ${formatShape(from)}) into shape ${formatShape(shape)}`,
      );
    }
    out[unknown] = size / known;
  } else if (known !== size) {
    throw new ShapeError(
      `cannot reshape array of size ${size} (shape ${formatShape(from)}) into shape ${formatShape(shape)}`,
    );
  }
  return out;
}

/**
 * Strides that view an array of `shape`/`strides` with `newShape` without copying, or null when the
 * memory layout does not allow it (then reshape must copy). `order` is the index order in which
 * elements are read and placed, as in numpy's `reshape(order=...)`.
 */
export function reshapeStrides(
  shape: readonly number[],
  strides: readonly number[],
  newShape: readonly number[],
  order: Order,
): number[] | null {
  if (sizeOf(shape) === 0) return stridesFor(newShape, order);
  // Work in C index order; F order is the same problem on reversed axes.
  const rev = order === "F";
  const oldS = (rev ? [...shape].reverse() : [...shape]).filter((d) => d !== 1);
  const oldT = (rev ? [...strides].reverse() : [...strides]).filter(
    (_, i) => (rev ? [...shape].reverse() : shape)[i] !== 1,
  );
  const ns = rev ? [...newShape].reverse() : [...newShape];
  const nt = new Array<number>(ns.length).fill(0);
  let oi = 0;
  let ni = 0;
  while (ni < ns.length) {
    if (ns[ni] === 1) {
      nt[ni] = 1;
      ni++;
      continue;
    }
    // Grow a group of old axes [oi, oj) and new axes [ni, nj) until both cover the same count.
    let oj = oi + 1;
    let nj = ni + 1;
    let op = oldS[oi]!;
    let np = ns[ni]!;
    while (op !== np) {
      if (op < np) op *= oldS[oj++]!;
      else np *= ns[nj++]!;
    }
    // The old axes of one group must be mutually contiguous to be re-split freely.
    for (let k = oi; k < oj - 1; k++) if (oldT[k] !== oldS[k + 1]! * oldT[k + 1]!) return null;
    let step = oldT[oj - 1]!;
    for (let k = nj - 1; k >= ni; k--) {
      nt[k] = step;
      step *= ns[k]!;
    }
    oi = oj;
    ni = nj;
  }
  return rev ? nt.reverse() : nt;
}
