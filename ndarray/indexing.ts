/**
 * numpy-style basic indexing: integers, `start:stop:step` slices, new axes and an ellipsis, turned
 * into the shape, strides and offset of a view. No data is touched here.
 * @module
 */
import { IndexError, ValueError } from "./errors.js";

/** A slice with optional bounds, as written `start:stop:step` in numpy. */
export interface Slice {
  readonly start?: number | null;
  readonly stop?: number | null;
  readonly step?: number | null;
}

/** Marker for numpy's `...`; the string `"..."` works too. */
export const ellipsis: unique symbol = Symbol("ndarray.ellipsis");

/** numpy's `np.newaxis`: inserts an axis of length 1. */
export const newaxis = null;

/**
 * One entry of an index:
 * - a number selects one position and removes the axis (negative counts from the end);
 * - a string `"1:5"`, `":"`, `"::-1"`, `"-3:"` is a slice, `"..."` an ellipsis, `"2"` an integer;
 * - a {@link Slice} object, or `null` ({@link newaxis}) for a new axis of length 1.
 */
export type IndexSpec = number | string | null | Slice | typeof ellipsis;

/** Builds a {@link Slice}, like Python's `slice(start, stop, step)`. */
export function s(start?: number | null, stop?: number | null, step?: number | null): Slice {
  return { start: start ?? null, stop: stop ?? null, step: step ?? null };
}

type Parsed =
  | { kind: "int"; value: number }
  | { kind: "slice"; start: number | null; stop: number | null; step: number | null }
  | { kind: "new" }
  | { kind: "ellipsis" };

function parseBound(text: string, spec: string): number | null {
  const t = text.trim();
  if (t === "") return null;
  const v = Number(t);
  if (!Number.isInteger(v)) throw new ValueError(`invalid slice "${spec}": "${t}" is not an integer`);
  return v;
}

function parse(spec: IndexSpec): Parsed {
  if (spec === null) return { kind: "new" };
  if (spec === ellipsis) return { kind: "ellipsis" };
  if (typeof spec === "number") {
    if (!Number.isInteger(spec))
      throw new IndexError(`only integers and slices are valid indices (got ${spec})`);
    return { kind: "int", value: spec };
  }
  if (typeof spec === "string") {
    const t = spec.trim();
    if (t === "...") return { kind: "ellipsis" };
    if (t === "newaxis") return { kind: "new" };
    const parts = t.split(":");
    if (parts.length === 1) {
      const v = parseBound(t, spec);
      if (v === null) throw new ValueError(`invalid index "${spec}"`);
      return { kind: "int", value: v };
    }
    if (parts.length > 3) throw new ValueError(`invalid slice "${spec}"`);
    return {
      kind: "slice",
      start: parseBound(parts[0]!, spec),
      stop: parseBound(parts[1]!, spec),
      step: parts.length === 3 ? parseBound(parts[2]!, spec) : null,
    };
  }
  if (typeof spec === "object") {
    return { kind: "slice", start: spec.start ?? null, stop: spec.stop ?? null, step: spec.step ?? null };
  }
  throw new IndexError(`invalid index ${String(spec)}`);
}

/** Resolves Python slice bounds against a length: `[start, step, count]`. */
export function resolveSlice(
  len: number,
  start: number | null,
  stop: number | null,
  step: number | null,
): [number, number, number] {
  const st = step ?? 1;
  if (st === 0) throw new ValueError("slice step cannot be zero");
  let a: number;
  let b: number;
  if (st > 0) {
    a = start === null ? 0 : start < 0 ? Math.max(start + len, 0) : Math.min(start, len);
    b = stop === null ? len : stop < 0 ? Math.max(stop + len, 0) : Math.min(stop, len);
  } else {
    a = start === null ? len - 1 : start < 0 ? Math.max(start + len, -1) : Math.min(start, len - 1);
    b = stop === null ? -1 : stop < 0 ? Math.max(stop + len, -1) : Math.min(stop, len - 1);
  }
  const count = Math.max(0, Math.ceil((b - a) / st));
  return [a, st, count];
}

/** The view an index selects: new shape, strides and offset. */
export interface ViewGeometry {
  shape: number[];
  strides: number[];
  offset: number;
}

/** Applies an index to an array geometry. Out-of-range integers throw an IndexError naming the axis. */
export function applyIndex(
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
  specs: readonly IndexSpec[],
): ViewGeometry {
  const parsed = specs.map(parse);
  const nEllipsis = parsed.filter((p) => p.kind === "ellipsis").length;
  if (nEllipsis > 1) throw new IndexError("an index can only have a single ellipsis ('...')");
  const consumed = parsed.filter((p) => p.kind === "int" || p.kind === "slice").length;
  if (consumed > shape.length) {
    throw new IndexError(
      `too many indices for array: array is ${shape.length}-dimensional, but ${consumed} were indexed`,
    );
  }
  const out: ViewGeometry = { shape: [], strides: [], offset };
  let axis = 0;
  for (const p of parsed) {
    if (p.kind === "new") {
      out.shape.push(1);
      out.strides.push(0);
    } else if (p.kind === "ellipsis") {
      const skip = shape.length - consumed;
      for (let i = 0; i < skip; i++, axis++) {
        out.shape.push(shape[axis]!);
        out.strides.push(strides[axis]!);
      }
    } else if (p.kind === "int") {
      const len = shape[axis]!;
      const i = p.value < 0 ? p.value + len : p.value;
      if (i < 0 || i >= len)
        throw new IndexError(`index ${p.value} is out of bounds for axis ${axis} with size ${len}`);
      out.offset += i * strides[axis]!;
      axis++;
    } else {
      const [a, st, count] = resolveSlice(shape[axis]!, p.start, p.stop, p.step);
      if (count > 0) out.offset += a * strides[axis]!;
      out.shape.push(count);
      out.strides.push(strides[axis]! * st);
      axis++;
    }
  }
  for (; axis < shape.length; axis++) {
    out.shape.push(shape[axis]!);
    out.strides.push(strides[axis]!);
  }
  return out;
}
