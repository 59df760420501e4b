import vm from "node:vm";
import { ClusterError } from "./errors.js";

/** A function ready to ship: source text that evaluates to it, and its name. */
export interface ShippedFunction {
  source: string;
  name: string;
}

const cache = new WeakMap<object, ShippedFunction>();
/**
 * By source as well: a loop that ships `() => 0` creates a new closure each time, and checking
 * that its source parses (a compile) would cost more than sending the task.
 */
const bySource = new Map<string, ShippedFunction>();
const BY_SOURCE_LIMIT = 512;

function parses(expr: string): boolean {
  try {
    new vm.Script(`(${expr})`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Turns a function into source text an engine can evaluate in its namespace. Throws a
 * {@link ClusterError} (`UNSHIPPABLE_FUNCTION`) saying what to do for native and bound functions
 * and for source that is not an expression. Free names are resolved on the engine, so a closure
 * over a local variable fails there with a hint to push the value.
 */
export function shipFunction(fn: unknown, what = "the function"): ShippedFunction {
  if (typeof fn !== "function") {
    throw new ClusterError(
      "UNSHIPPABLE_FUNCTION",
      `${what} must be a function, got ${fn === null ? "null" : typeof fn}`,
    );
  }
  const hit = cache.get(fn);
  if (hit) return hit;
  const name = fn.name;
  const src = Function.prototype.toString.call(fn);
  const key = `${name}\0${src}`;
  const known = bySource.get(key);
  if (known) {
    cache.set(fn, known);
    return known;
  }
  if (/\{\s*\[native code\]\s*\}\s*$/.test(src)) {
    if (name.startsWith("bound ")) {
      throw new ClusterError(
        "UNSHIPPABLE_FUNCTION",
        `${what} (${name}) is a bound function, whose source is not available: apply the original function and pass the bound values as arguments`,
      );
    }
    throw new ClusterError(
      "UNSHIPPABLE_FUNCTION",
      `${what} (${name || "anonymous"}) is native code and has no source to ship: wrap it, e.g. (...args) => ${name || "fn"}(...args), so the engine calls its own copy`,
    );
  }
  let source: string | undefined;
  if (parses(src)) source = src;
  else if (name && parses(`{${src}}`)) source = `({${src}})[${JSON.stringify(name)}]`; // method shorthand
  if (!source) {
    throw new ClusterError(
      "UNSHIPPABLE_FUNCTION",
      `${what} (${name || "anonymous"}) cannot be shipped as source (it is not a valid expression on its own): rewrite it as a function expression or arrow function`,
    );
  }
  const shipped = { source, name };
  cache.set(fn, shipped);
  bySource.set(key, shipped);
  if (bySource.size > BY_SOURCE_LIMIT) bySource.delete(bySource.keys().next().value!);
  return shipped;
}
