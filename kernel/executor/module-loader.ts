import { fileURLToPath, pathToFileURL } from "node:url";
import { raceAbort } from "../../engines/cancellation.js";
import { CELL_INTERRUPTED, cellInterrupted, ModuleNotFoundError, ModuleNotLoadedError } from "./errors.js";
import { isCommonJsFile, resolveImport, resolveInPackage } from "./package-resolution.js";

/** A module namespace (or any object standing in for one). */
export type ModuleNamespace = Record<string, unknown>;

/** What compiled cell code calls, installed as the global `__tsparallel_modules__`. */
export interface CellModules {
  loaded(specifier: string): ModuleNamespace;
  load(specifier: string): Promise<ModuleNamespace>;
}

export interface ModuleLoaderOptions {
  /** Folder imports resolve from (the notebook's folder). */
  cwd: string;
  /** The tsparallel package: "tsparallel" and "tsparallel/…" resolve here when `cwd` lacks them. */
  ownPackageRoot?: string;
}

/**
 * Loads the modules cells import: registered namespaces first, then Node builtins, files and
 * packages resolved from the notebook's folder with Node's ESM rules (`import()`), so ESM-only and
 * CommonJS packages both load, into the main realm.
 */
export class ModuleLoader {
  readonly #registered = new Map<string, ModuleNamespace>();
  readonly #loaded = new Map<string, ModuleNamespace>();
  readonly #options: ModuleLoaderOptions;
  /** The object cells reach through `__tsparallel_modules__`. */
  readonly api: CellModules;

  constructor(options: ModuleLoaderOptions) {
    this.#options = options;
    this.api = {
      loaded: (specifier) => this.loaded(specifier),
      load: (specifier) => this.load(specifier),
    };
  }

  /** Makes `specifier` resolve to `namespace` (e.g. "tslab" → the kernel's display API). */
  register(specifier: string, namespace: ModuleNamespace): void {
    this.#registered.set(specifier, namespace);
  }

  /** A module loaded earlier (by `preload` or `load`). */
  loaded(specifier: string): ModuleNamespace {
    const ns = this.#registered.get(specifier) ?? this.#loaded.get(specifier);
    if (!ns) throw new ModuleNotLoadedError(specifier);
    return ns;
  }

  /** Loads a module (once; later calls return the same namespace). */
  async load(specifier: string): Promise<ModuleNamespace> {
    const known = this.#registered.get(specifier) ?? this.#loaded.get(specifier);
    if (known) return known;
    const url = this.resolve(specifier);
    // Node needs the attribute for JSON modules (TypeScript type-checks `with { type: "json" }`).
    const ns: ModuleNamespace = url.endsWith(".json")
      ? await import(url, { with: { type: "json" } })
      : await import(url);
    const usable =
      url.startsWith("file:") && isCommonJsFile(fileURLToPath(url)) ? withCommonJsMembers(ns) : ns;
    this.#loaded.set(specifier, usable);
    return usable;
  }

  /** Loads `specifiers` in order before a cell runs; rejects promptly when `signal` aborts. */
  async preload(specifiers: readonly string[], signal?: AbortSignal): Promise<void> {
    for (const specifier of specifiers) {
      if (signal?.aborted) throw cellInterrupted("abort");
      await raceAbort(this.load(specifier), signal, CELL_INTERRUPTED.abort);
    }
  }

  /** What `import()` is given for `specifier`. */
  resolve(specifier: string): string {
    const { cwd, ownPackageRoot } = this.#options;
    try {
      return resolveImport(specifier, cwd);
    } catch (error) {
      const own = specifier === "tsparallel" || specifier.startsWith("tsparallel/");
      if (!(error instanceof ModuleNotFoundError) || !own || !ownPackageRoot) throw error;
      const subpath = specifier === "tsparallel" ? "." : `.${specifier.slice("tsparallel".length)}`;
      return pathToFileURL(resolveInPackage(ownPackageRoot, subpath, specifier, cwd)).href;
    }
  }
}

/**
 * Node finds a CommonJS module's named exports by scanning its source, and misses names set on
 * `module.exports` as a function's properties (`fn.version = …`), which TypeScript's
 * `export =` typings allow as named imports. Those names are taken from the default export.
 */
function withCommonJsMembers(ns: ModuleNamespace): ModuleNamespace {
  const exported = ns.default;
  if ((typeof exported !== "object" && typeof exported !== "function") || exported === null) return ns;
  const merged: ModuleNamespace = Object.create(null);
  for (const key of Object.keys(exported)) merged[key] = (exported as Record<string, unknown>)[key];
  for (const key of Object.keys(ns)) merged[key] = ns[key];
  return merged;
}
