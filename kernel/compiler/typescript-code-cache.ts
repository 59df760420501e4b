import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import vm from "node:vm";

/**
 * Loads the `typescript` package through V8's code cache.
 *
 * Compiling TypeScript's 9 MB of JavaScript takes most of a second on every kernel start; with
 * a code cache kept on disk (per TypeScript and Node version) later starts skip that work. The
 * module is put into Node's CommonJS cache, so every `import ts from "typescript"` afterwards
 * gets this same instance. Any failure falls back to the ordinary load.
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
  try {
    const version = (
      JSON.parse(readFileSync(join(dirname(file), "..", "package.json"), "utf8")) as { version: string }
    ).version;
    const dir = cacheDir();
    const cacheFile = join(dir, `typescript-${version}-node-${process.version}-${process.arch}.v8cache`);
    const cachedData = existsSync(cacheFile) ? readFileSync(cacheFile) : undefined;
    const source = readFileSync(file, "utf8");
    const script = new vm.Script(
      `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
      {
        filename: file,
        ...(cachedData ? { cachedData } : {}),
      },
    );
    const mod = new Module(file);
    mod.filename = file;
    mod.paths = (Module as unknown as { _nodeModulePaths(d: string): string[] })._nodeModulePaths(
      dirname(file),
    );
    const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
    wrapper.call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
    mod.loaded = true;
    require.cache[file] = mod;
    if (!cachedData || script.cachedDataRejected) {
      // Written after the module ran, so the cache also holds the functions it compiled lazily.
      mkdirSync(dir, { recursive: true });
      const tmp = `${cacheFile}.${process.pid}`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    }
  } catch {
    // The ordinary `import` still works; it is only slower.
  }
}

function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME ?? (homedir() ? join(homedir(), ".cache") : tmpdir());
  return join(base, "tsparallel");
}
