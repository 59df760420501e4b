import type { CellError } from "../code-session.js";
import { CellCompiler, type CompiledCell } from "../compiler/cell-compiler.js";
import { compileError } from "../compiler/compile-error.js";
import { packageRoot } from "../compiler/compiler-options.js";
import { MODULES_GLOBAL } from "../compiler/runtime-transform.js";
import { ModuleLoader } from "../executor/module-loader.js";

/** `%px` code compiled for the engines: the script, and the modules it needs loaded first. */
export interface EngineCell {
  /** The compiled cell (its declarations join the engines' chain on `commit`). */
  cell: CompiledCell;
  /** JavaScript the engines run first when the cell imports modules (else undefined). */
  preamble: string | undefined;
  /** JavaScript of the cell itself. */
  js: string;
}

/** What an engine's namespace has besides Node's globals (engines/engine/engine.ts). */
const ENGINE_GLOBALS = `/** Shows a value (or, with a shortcut, one MIME type) under the %px cell, as [output:N]. */
declare const display: {
  (value: unknown, metadata?: Record<string, unknown>): void;
  html(html: string): void;
  markdown(markdown: string): void;
  svg(svg: string): void;
  png(image: Uint8Array | ArrayBuffer | string): void;
  jpeg(image: Uint8Array | ArrayBuffer | string): void;
  gif(image: Uint8Array | ArrayBuffer | string): void;
  pdf(document: Uint8Array | ArrayBuffer | string): void;
  json(value: unknown): void;
  vegalite(spec: object): void;
  latex(latex: string): void;
  text(text: string): void;
  javascript(code: string): void;
  raw(mimeType: string, data: unknown): void;
};`;

// TypeScript's "Cannot find name" errors: names the engines have but the chain has not seen
// (sent with push/scatter from the client API) are declared `any` instead of refusing the cell.
const UNKNOWN_NAME = new Set([2304, 2552]);

/**
 * The engines' declaration chain. `%px` code is type-checked here, against what earlier `%px`
 * cells declared on the engines (not against the kernel's own cells), compiled once in the
 * kernel, and shipped as JavaScript: an engine never loads TypeScript.
 */
export class EngineCompiler {
  readonly #compiler: CellCompiler;
  readonly #modules: ModuleLoader;
  /**
   * Compiled cells by source, valid while the chain is unchanged: re-running a `%px` cell that
   * declares nothing (a loop step, a counter) skips the type checker entirely.
   */
  readonly #cache = new Map<string, { version: number; value: EngineCell }>();
  #version = 0;

  constructor(cwd: string) {
    this.#compiler = new CellCompiler({ cwd, chain: "engines" });
    this.#compiler.declareStatements(ENGINE_GLOBALS);
    this.#modules = new ModuleLoader({ cwd, ownPackageRoot: packageRoot() });
  }

  get typeCheck(): boolean {
    return this.#compiler.typeCheck;
  }
  set typeCheck(on: boolean) {
    this.#compiler.typeCheck = on;
  }

  /** Declares a name the engines have (e.g. after `push`), so `%px` code may use it. */
  declare(name: string, typeText = "any"): void {
    this.#version++;
    this.#compiler.declare(name, typeText);
  }

  /** Compiles `code`; an error is shown once, with the cell's line, never once per engine. */
  compile(code: string): { ok: true; value: EngineCell } | { ok: false; error: CellError } {
    const cached = this.#cache.get(code);
    if (cached && cached.version === this.#version) return { ok: true, value: cached.value };
    let r = this.#compiler.compile(code);
    if (!r.ok && r.diagnostics.every((d) => UNKNOWN_NAME.has(d.code))) {
      const names = new Set(
        r.diagnostics.map((d) => /'([^']+)'/.exec(d.message)?.[1]).filter((n) => n !== undefined),
      );
      for (const n of names) this.#compiler.declare(n, "any");
      r = this.#compiler.compile(code);
    }
    if (!r.ok) return { ok: false, error: compileError(r.diagnostics, code, "%px cell") };
    const cell = r.cell;
    let preamble: string | undefined;
    if (cell.imports.length > 0) {
      const urls = cell.imports.map((s) => [s, this.#modules.resolve(s)] as const);
      preamble = modulePreamble(urls);
    } else if (cell.js.includes(MODULES_GLOBAL)) {
      preamble = MODULE_GLOBAL_SETUP; // a dynamic import() needs the table
    }
    const value = { cell, preamble, js: cell.js };
    if (this.#cache.size >= 64) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(code, { version: this.#version, value });
    return { ok: true, value };
  }

  /** Adds a cell's declarations to the chain (after it ran on the engines). */
  commit(cell: CompiledCell): void {
    // A cell that declares nothing leaves the chain as it was, and the cache valid.
    if (cell.globals.length === 0 && cell.typeOnlyNames.length === 0 && cell.imports.length === 0) return;
    this.#version++;
    this.#compiler.commit(cell);
  }
}

// Installs the module table compiled cells read (see CompiledCell): specifiers map to the
// namespaces loaded by `import()` of the URL the kernel resolved.
const MODULE_GLOBAL_SETUP = `globalThis.${MODULES_GLOBAL} ??= (() => {
  const loaded = new Map();
  return {
    table: loaded,
    loaded(s) { const ns = loaded.get(s); if (!ns) throw new Error("module \\"" + s + "\\" is not loaded on this engine: import it with %px first"); return ns; },
    async load(s) { if (!loaded.has(s)) loaded.set(s, await import(s)); return loaded.get(s); },
  };
})(); undefined;`;

function modulePreamble(urls: readonly (readonly [string, string])[]): string {
  return `${MODULE_GLOBAL_SETUP}
(async () => {
  const m = globalThis.${MODULES_GLOBAL};
  for (const [s, url] of ${JSON.stringify(urls)}) {
    if (!m.table.has(s)) {
      const ns = await import(url);
      // A CommonJS module's named exports are the members of its default export.
      const d = ns.default;
      m.table.set(s, d && typeof d === "object" && !("__esModule" in ns) ? { ...d, ...ns } : ns);
    }
  }
})()`;
}
