/**
 * The few Node built-ins the GEMM backends need, reached without static `node:` imports, so that
 * the modules every NDArray depends on (the backend registry, matmul) still load in any JS engine.
 *
 * `process.getBuiltinModule` (Node ≥ 20.16) gives them synchronously wherever the array code
 * happens to run first: an engine that only ever loaded `ndarray/arrow.ts` through `import()`
 * still finds OpenBLAS on its first `a.dot(b)`. On older Node, `node/register-native.ts` (imported
 * by the package entry) passes the statically imported modules instead.
 * @module
 */
import type * as fs from "node:fs";
import type * as nodeModule from "node:module";
import type * as url from "node:url";
import type * as v8 from "node:v8";

/** The Node functions the backends use. */
export interface NodeHost {
  existsSync: typeof fs.existsSync;
  readFileSync: typeof fs.readFileSync;
  createRequire: typeof nodeModule.createRequire;
  fileURLToPath: typeof url.fileURLToPath;
  setFlagsFromString: typeof v8.setFlagsFromString;
}

interface ProcessWithBuiltins {
  getBuiltinModule?: (id: string) => unknown;
  env?: Record<string, string | undefined>;
}

let cached: NodeHost | null | undefined;

/** Node's built-ins, or null outside Node (or on Node before 20.16). */
export function nodeHost(): NodeHost | null {
  if (cached !== undefined) return cached;
  const proc = (globalThis as { process?: ProcessWithBuiltins }).process;
  const get = proc?.getBuiltinModule;
  if (typeof get !== "function") {
    cached = null;
    return cached;
  }
  const f = get.call(proc, "node:fs") as typeof fs;
  const m = get.call(proc, "node:module") as typeof nodeModule;
  const u = get.call(proc, "node:url") as typeof url;
  const v = get.call(proc, "node:v8") as typeof v8;
  cached = {
    existsSync: f.existsSync,
    readFileSync: f.readFileSync,
    createRequire: m.createRequire,
    fileURLToPath: u.fileURLToPath,
    setFlagsFromString: v.setFlagsFromString,
  };
  return cached;
}

let liftoffOff = false;

/**
 * Makes V8 compile WebAssembly with its optimising compiler straight away (once per process,
 * unless TSPARALLEL_WASM_LIFTOFF is set). V8 first runs wasm in its baseline compiler (Liftoff)
 * and has no on-stack replacement for wasm, so the first long GEMM call in a process would stay
 * 3x slower until it returns. Only affects modules compiled afterwards.
 */
export function preferOptimizedWasm(host: NodeHost | null): void {
  if (liftoffOff || !host) return;
  liftoffOff = true;
  const env = (globalThis as { process?: ProcessWithBuiltins }).process?.env;
  if (!env?.TSPARALLEL_WASM_LIFTOFF) host.setFlagsFromString("--no-liftoff");
}
