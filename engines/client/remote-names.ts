import { isNDArray } from "../wire/values/serialize.js";

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
