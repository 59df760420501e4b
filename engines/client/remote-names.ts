import { isNDArray } from "../wire/values/serialize.js";

/**
 * The types of names on the engines, by name: what `pull`, `get` and `gather` of a name give.
 * Empty in plain TypeScript, so those calls give `unknown` (or the type argument passed, as in
 * `pull<Float64Array>("a")`). In the kernel it holds the type of every name the notebook sent
 * with `push`, `set` or `scatter`; a program may fill it too, by declaration merging:
 *
 * ```ts
 * declare module "tsparallel" {
 *   interface RemoteNames { counts: number[] }
 * }
 * ```
 *
 * Each entry is the type of the value on one engine (for a scattered name: the type of a part).
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging
export interface RemoteNames {}

/** A name {@link RemoteNames} gives a type. */
export type RemoteName = keyof RemoteNames & string;

/**
 * What `pull`/`get` of `names` read on one engine: `R` when the caller gave a type argument (it
 * defaults to `never`, which no caller means), else the name's type in {@link RemoteNames}, else
 * `unknown` (a name nobody sent from here, a list of names, a name only known as a `string`).
 */
export type PulledValue<R, N> = [R] extends [never] ? (N extends RemoteName ? RemoteNames[N] : unknown) : R;

/**
 * What `gather` makes of parts of type `T`: arrays are joined into one array, typed arrays,
 * NDArrays and Arrow tables into one of the same kind, and other values are listed, one per engine.
 */
export type Gathered<T> = T extends readonly (infer E)[]
  ? E[]
  : T extends ArrayBufferView | { readonly shape: readonly number[] } | { readonly numRows: number }
    ? T
    : T[];

/** What `gather(name)` gives: `R` when given, else the joined type of the name's parts, else `unknown`. */
export type GatheredValue<R, N> = [R] extends [never]
  ? N extends RemoteName
    ? Gathered<RemoteNames[N]>
    : unknown
  : R;

/** Names just given a value on the engines (by push, set or scatter), with a sample value each. */
export type RemoteNamesListener = (names: Readonly<Record<string, unknown>>) => void;

const listeners = new Set<RemoteNamesListener>();

/**
 * Hears about every name a view sends to its engines. The kernel uses this to type-check code
 * that refers to those names: a function shipped with `apply` or a `%px` cell.
 */
export function onRemoteNames(listener: RemoteNamesListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** @internal Called by the views when names are sent. */
export function announceRemoteNames(names: Readonly<Record<string, unknown>>): void {
  for (const l of listeners) l(names);
}

/**
 * A TypeScript type for a value, as precise as is useful for code that reads it on an engine:
 * primitives, typed arrays, NDArrays and arrays of primitives by name; anything else `any`.
 */
export function typeTextOf(value: unknown): string {
  switch (typeof value) {
    case "number":
    case "string":
    case "boolean":
    case "bigint":
      return typeof value;
  }
  if (value === null || value === undefined) return "any";
  if (isNDArray(value)) return 'import("tsparallel/ndarray").NDArray';
  if (ArrayBuffer.isView(value)) {
    const tag = Object.prototype.toString.call(value).slice(8, -1);
    return /^(Float(32|64)|U?Int(8|16|32)|Uint8Clamped|Big(Ui|I)nt64)Array$/.test(tag) ? tag : "any";
  }
  if (Array.isArray(value)) {
    const kinds = new Set(value.slice(0, 1000).map((v) => typeof v));
    if (kinds.size === 1) {
      const [k] = kinds;
      if (k === "number" || k === "string" || k === "boolean") return `${k}[]`;
    }
    return "any[]";
  }
  return "any";
}
