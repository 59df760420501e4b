import { existsSync, readFileSync, statSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ModuleNotFoundError, packageName } from "./errors.js";

/** The conditions Node's ESM loader uses for `import`. */
const conditions = ["node", "import", "default"];

type ExportsTarget = string | null | ExportsTarget[] | { [condition: string]: ExportsTarget };

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function resolveTarget(target: ExportsTarget | undefined, star: string | undefined): string | undefined {
  if (target === null || target === undefined) return undefined;
  if (typeof target === "string") return star === undefined ? target : target.replaceAll("*", star);
  if (Array.isArray(target)) {
    for (const t of target) {
      const r = resolveTarget(t, star);
      if (r) return r;
    }
    return undefined;
  }
  for (const [condition, value] of Object.entries(target)) {
    if (!conditions.includes(condition)) continue;
    const r = resolveTarget(value, star);
    if (r) return r;
  }
  return undefined;
}

/** Resolves `subpath` ("." or "./x") through a package.json "exports" field, as Node's ESM loader does. */
export function resolveExports(exports: ExportsTarget, subpath: string): string | undefined {
  const isSubpathMap =
    typeof exports === "object" &&
    exports !== null &&
    !Array.isArray(exports) &&
    Object.keys(exports)[0]?.startsWith(".");
  const map: Record<string, ExportsTarget> = isSubpathMap
    ? (exports as Record<string, ExportsTarget>)
    : { ".": exports };
  if (subpath in map) return resolveTarget(map[subpath], undefined);
  let best: { key: string; star: string } | undefined;
  for (const key of Object.keys(map)) {
    const at = key.indexOf("*");
    if (at < 0) continue;
    const prefix = key.slice(0, at);
    const suffix = key.slice(at + 1);
    if (!subpath.startsWith(prefix) || !subpath.endsWith(suffix) || subpath.length < key.length - 1) continue;
    if (!best || prefix.length > best.key.indexOf("*")) {
      best = { key, star: subpath.slice(prefix.length, subpath.length - suffix.length) };
    }
  }
  return best ? resolveTarget(map[best.key], best.star) : undefined;
}

function legacyEntry(dir: string, relative: string): string | undefined {
  const base = join(dir, relative);
  for (const candidate of [base, `${base}.js`, `${base}.json`, join(base, "index.js")]) {
    if (isFile(candidate)) return candidate;
  }
  return undefined;
}

/** Resolves a subpath of the package in `packageDir` to a file. */
export function resolveInPackage(
  packageDir: string,
  subpath: string,
  specifier: string,
  from: string,
): string {
  const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as {
    exports?: ExportsTarget;
    main?: string;
  };
  if (manifest.exports !== undefined) {
    const target = resolveExports(manifest.exports, subpath);
    if (!target)
      throw new ModuleNotFoundError(specifier, from, `Its package.json does not export "${subpath}"`);
    return join(packageDir, target);
  }
  const entry = legacyEntry(packageDir, subpath === "." ? (manifest.main ?? "index.js") : subpath);
  if (!entry) throw new ModuleNotFoundError(specifier, from, `No file for "${subpath}" in ${packageDir}`);
  return entry;
}

/**
 * Resolves an import specifier from the folder `from` to what `import()` accepts: a builtin name
 * or a file URL. Bare specifiers are looked up in node_modules folders from `from` upwards.
 */
export function resolveImport(specifier: string, from: string): string {
  if (specifier.startsWith("node:") || isBuiltin(specifier)) return specifier;
  if (specifier.startsWith("file:")) return specifier;
  if (specifier.startsWith(".") || isAbsolute(specifier)) {
    const path = resolve(from, specifier);
    if (!existsSync(path)) throw new ModuleNotFoundError(specifier, from);
    return pathToFileURL(path).href;
  }
  const name = packageName(specifier);
  const subpath = specifier === name ? "." : `.${specifier.slice(name.length)}`;
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const packageDir = join(dir, "node_modules", name);
    if (existsSync(join(packageDir, "package.json"))) {
      return pathToFileURL(resolveInPackage(packageDir, subpath, specifier, from)).href;
    }
    if (dirname(dir) === dir) break;
  }
  throw new ModuleNotFoundError(specifier, from);
}

/** True when Node loads the file as CommonJS: `.cjs`, or `.js` whose nearest package.json is not "type": "module". */
export function isCommonJsFile(path: string): boolean {
  if (path.endsWith(".cjs")) return true;
  if (!path.endsWith(".js")) return false;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      try {
        return (JSON.parse(readFileSync(manifest, "utf8")) as { type?: unknown }).type !== "module";
      } catch {
        return true;
      }
    }
    if (dirname(dir) === dir) return true;
  }
}
