import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cachedDataVersionTag } from "node:v8";
import vm from "node:vm";
import { ownPackage } from "../protocol/kernel-info.js";
import { restoredFromSnapshot, restoredTypeScript } from "./snapshot-handoff.js";

/** The script loaded without a usable code cache, until {@link saveTypeScriptCodeCache} writes one. */
let uncached: { script: vm.Script; cacheFile: string } | undefined;

/**
 * Loads the `typescript` package through V8's code cache (or takes it from the startup snapshot
 * this process was restored from, see snapshot-handoff.ts).
 *
 * Compiling TypeScript's 9 MB of JavaScript takes most of a second on every kernel start; with
 * a code cache kept on disk (per TypeScript, Node version and V8 flags) later starts skip that
 * work. The module is put into Node's CommonJS cache, so every `import ts from "typescript"`
 * afterwards gets this same instance. Any failure falls back to the ordinary load.
 */
export function preloadTypeScript(): void {
  const require = createRequire(import.meta.url);
  let file: string;
  try {
    file = require.resolve("typescript");
  } catch {
    return;
  }
  if (require.cache[file]) return;
  const restored = restoredFromSnapshot() ? restoredTypeScript(file, ownPackage().version) : undefined;
  if (restored) {
    cacheModule(file, restored);
    return;
  }
  try {
    const version = (
      JSON.parse(readFileSync(join(dirname(file), "..", "package.json"), "utf8")) as { version: string }
    ).version;
    // V8's tag covers its version, its flags and the CPU: one file served processes with other
    // flags (a kernel's --max-semi-space-size, a test's none), which rejected it in turn.
    const tag = cachedDataVersionTag().toString(16);
    const cacheFile = join(
      cacheDir(),
      `typescript-${version}-node-${process.version}-${process.arch}-${tag}.v8cache`,
    );
    const cachedData = existsSync(cacheFile) ? readFileSync(cacheFile) : undefined;
    const source = readFileSync(file, "utf8");
    const script = new vm.Script(
      `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
      {
        filename: file,
        ...(cachedData ? { cachedData } : {}),
      },
    );
    const mod = { exports: {} };
    const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
    wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
    cacheModule(file, mod.exports);
    if (!cachedData || script.cachedDataRejected) uncached = { script, cacheFile };
  } catch {
    // The ordinary `import` still works; it is only slower.
  }
}

/** Puts `exports` into Node's CommonJS cache as the module `file`, loaded. */
function cacheModule(file: string, exports: unknown): void {
  const mod = new Module(file);
  mod.filename = file;
  mod.paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(
    dirname(file),
  );
  mod.exports = exports;
  mod.loaded = true;
  createRequire(import.meta.url).cache[file] = mod;
}

/**
 * Writes the code cache, once, when TypeScript loaded without one. Called after the compiler has
 * warmed up: the cache then also holds the parser, binder and checker functions V8 compiled while
 * it did (4.0 MB of cache instead of 2.4 at load), which later kernels then do not compile.
 */
export function saveTypeScriptCodeCache(): void {
  const made = uncached;
  uncached = undefined;
  if (!made) return;
  try {
    mkdirSync(dirname(made.cacheFile), { recursive: true });
    const tmp = `${made.cacheFile}.${process.pid}`;
    writeFileSync(tmp, made.script.createCachedData());
    renameSync(tmp, made.cacheFile);
  } catch {
    // The next kernel tries again.
  }
}

function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? (homedir() ? join(homedir(), ".cache") : tmpdir());
  return join(base, "tsparallel");
}
