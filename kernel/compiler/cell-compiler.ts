import { join } from "node:path";
import ts from "typescript";
import type { CompletionResult, InspectionResult } from "../code-session.js";
import { kernelLog } from "../protocol/log.js";
import { analyzeCell, topLevelSources } from "./cell-analysis.js";
import { cellCompilerSettings, packageRoot } from "./compiler-options.js";
import { completeAt } from "./completion.js";
import { DeclarationChain } from "./declaration-chain.js";
import { CellTooLargeError, DeclarationError } from "./errors.js";
import { inspectAt } from "./inspection.js";
import { CellLanguageHost } from "./language-host.js";
import { type WarmFile, warmLibraries } from "./library-warm-up.js";
import { objectLiteralCell } from "./object-literal-cell.js";
import { type RuntimeShape, runtimeTransformer } from "./runtime-transform.js";
import { type RestoredLibraries, restoredLibraries } from "./snapshot-handoff.js";
import { shiftSourceColumns } from "./source-map-shift.js";

/** A compile error at a 1-based line and column of the cell. */
export interface CellDiagnostic {
  line: number;
  column: number;
  /** TypeScript's error number (TS2322 → 2322). */
  code: number;
  message: string;
}

/**
 * A cell compiled to plain JavaScript (see `runtimeTransformer` for the script's shape).
 *
 * The script expects one global, `__tsparallel_modules__`, with `loaded(specifier)` returning the
 * namespace of each specifier in `imports` (loaded before the script runs, in order) and
 * `load(specifier)` returning a promise of a namespace (for `import()`). It may run in any realm:
 * the kernel runs it with `vm.Script#runInThisContext`; an engine can run it with
 * `vm.runInContext(js, namespace)` after defining `namespace.__tsparallel_modules__` over its own
 * `import()`. Its completion value is the cell's value, or a promise of it when `isAsync`.
 */
export interface CompiledCell {
  /** The cell's source, as compiled. */
  code: string;
  js: string;
  /** Source map (JSON) from `js` back to `code`. */
  sourceMap: string;
  /** Declaration emit of the cell: what `commit` merges into the chain. */
  declarations: string;
  imports: string[];
  /** Names the script assigns on the global object. */
  globals: string[];
  /** Names without a runtime value (interfaces, type aliases, type-only imports, ambient declarations). */
  typeOnlyNames: string[];
  isAsync: boolean;
  /** Each top-level name's declaring statement, as written (shown by inspection at detail 1). */
  sources: Record<string, string>;
  /** True when the cell ends with an expression statement (the script returns its value). */
  hasValue: boolean;
}

export type CompileResult = { ok: true; cell: CompiledCell } | { ok: false; diagnostics: CellDiagnostic[] };

/** Options of one declaration chain. */
export interface CellCompilerOptions {
  /** Folder imports resolve from (the notebook's folder); default process.cwd(). */
  cwd?: string;
  /** Names this chain's in-memory files; compilers sharing a folder need distinct names. */
  chain?: string;
  /** Shares parsed library files between chains; default: one registry for the process. */
  documentRegistry?: ts.DocumentRegistry;
  /** Longest cell accepted, in UTF-16 code units; default 4,000,000. */
  maxCellLength?: number;
}

// Diagnostics that do not stop a cell: an untyped JavaScript package is simply `any`.
const ignoredDiagnostics = new Set([7016]);

let processRegistry: ts.DocumentRegistry | undefined;
/** The startup snapshot's libraries, when this process was restored from one that still fits. */
let restored: RestoredLibraries | undefined;

/** A cell the warm-up compiles: it makes the checker and the emitter do their first work. */
const WARM_UP_CELL = "const __tsparallel_warm_up__: number = [1, 2].map((x) => x * 2).length;";

/** Lets the event loop run (timers, sockets) before the next step. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A TypeScript compiler for notebook cells with its own chain of declarations: each successful
 * cell's top-level names (values and types) are visible to later cells, which may redeclare them.
 * One LanguageService per instance; instances share parsed libraries through a DocumentRegistry,
 * so a second chain (the engines' namespace for `%px`) costs little.
 */
export class CellCompiler {
  /** When false, cells are only transpiled: type errors do not stop them. */
  typeCheck = true;
  readonly cwd: string;
  /** Problems with the notebook's tsconfig.json (it is then partly or wholly ignored). */
  readonly configWarnings: string[];
  readonly #chain = new DeclarationChain();
  readonly #host: CellLanguageHost;
  readonly #service: ts.LanguageService;
  readonly #registry: ts.DocumentRegistry;
  readonly #cellFile: string;
  readonly #declsFile: string;
  readonly #defaultsFile: string;
  readonly #ambientFile: string;
  readonly #augmentFile: string;
  readonly #augmentations = new Map<string, string>();
  readonly #maxCellLength: number;
  readonly #modulePrefix: string;
  readonly #ambientModules = new Set<string>();
  #registeredCount = 0;
  #missingModule = false;
  #renderedVersion = -1;
  #disposed = false;

  constructor(options: CellCompilerOptions = {}) {
    this.cwd = options.cwd ?? process.cwd();
    const chain = (options.chain ?? "kernel").replace(/[^A-Za-z0-9_]/g, "_");
    this.#maxCellLength = options.maxCellLength ?? 4_000_000;
    const base = (what: string) => join(this.cwd, `__tsparallel_${chain}_${what}__`);
    this.#cellFile = `${base("cell")}.mts`;
    this.#declsFile = `${base("decls")}.d.mts`;
    this.#defaultsFile = `${base("defaults")}.d.mts`;
    this.#ambientFile = `${base("ambient")}.d.ts`;
    this.#augmentFile = `${base("augment")}.d.mts`;
    this.#modulePrefix = base("module");
    const settings = cellCompilerSettings(this.cwd);
    this.configWarnings = settings.warnings;
    this.#host = new CellLanguageHost(
      this.cwd,
      settings.options,
      [this.#ambientFile, this.#augmentFile, this.#declsFile, this.#cellFile],
      packageRoot(),
    );
    this.#host.setFile(this.#ambientFile, "");
    this.#host.setFile(this.#augmentFile, "export {};\n");
    this.#host.setFile(this.#defaultsFile, "export {};\n");
    this.#host.setFile(this.#cellFile, "export {};\n");
    this.#renderChain();
    if (!processRegistry) {
      restored = restoredLibraries();
      processRegistry =
        restored?.registry ?? ts.createDocumentRegistry(ts.sys.useCaseSensitiveFileNames, this.cwd);
    }
    this.#registry = options.documentRegistry ?? processRegistry;
    this.#service = ts.createLanguageService(this.#host, this.#registry);
  }

  /**
   * Builds the program (libraries, @types/node: most of a second of work) in steps, letting the
   * event loop run between them, so that the first real cell compiles quickly and messages are
   * answered meanwhile. A compile, completion or inspection may run between two steps: it does
   * what is left itself.
   */
  async warmUp(): Promise<void> {
    const held: WarmFile[] = [];
    try {
      for (const file of warmLibraries(this.#host, this.#registry, this.#cellFile)) {
        if (file) held.push(file);
        await nextTurn();
        // The kernel may shut down meanwhile: a disposed service must not be used.
        if (this.#disposed) return;
      }
      // Resolves the libraries' imports, parses what only they reach, and makes the checker.
      const program = this.#service.getProgram();
      if (restored && program && this.#registry === restored.registry) {
        const taken = program.getSourceFiles().filter((f) => restored?.sourceFiles.has(f)).length;
        kernelLog(
          `started from the startup snapshot: ${taken} of ${restored.count} library files came parsed`,
        );
      }
    } finally {
      for (const file of held) file.release();
    }
    await nextTurn();
    if (this.#disposed) return;
    const r = this.compile(WARM_UP_CELL);
    await nextTurn();
    if (r.ok && !this.#disposed) this.#completions("Math.", 5);
  }

  /** Type-checks and compiles a cell. The chain does not change until `commit`. */
  compile(code: string): CompileResult {
    if (code.length > this.#maxCellLength) throw new CellTooLargeError(code.length, this.#maxCellLength);
    this.#renderChain();
    // `{ a: 1 }` is compiled as `({ a: 1 }\n)`; positions are given back in the cell as written.
    const wrapped = objectLiteralCell(code);
    const text = wrapped?.text ?? code;
    const shift = wrapped?.shift ?? 0;
    const analysis = analyzeCell(text);
    const exported = [...analysis.declaredNames].filter((n) => !analysis.exportedNames.has(n));
    // Exporting every top-level name makes declaration emit describe them all, inferred types included.
    const suffix = exported.length ? `\nexport { ${exported.join(", ")} };\n` : "\nexport {};\n";
    this.#host.setFile(this.#cellFile, text + suffix);
    // After an import failed to resolve, look again: the user may have run `npm install` since.
    if (this.#missingModule && analysis.sourceFile.statements.some(ts.isImportDeclaration)) {
      this.#host.refreshResolution();
    }

    const program = this.#service.getProgram();
    const sourceFile = program?.getSourceFile(this.#cellFile);
    if (!program || !sourceFile) throw new Error("tsparallel: the language service lost the cell file");
    const found = [
      ...this.#service.getSyntacticDiagnostics(this.#cellFile),
      ...(this.typeCheck ? this.#service.getSemanticDiagnostics(this.#cellFile) : []),
    ];
    const diagnostics = this.#toCellDiagnostics(found, sourceFile, code.length, shift);
    this.#missingModule = diagnostics.some((d) => d.code === 2307);
    if (diagnostics.length) return { ok: false, diagnostics };

    const shape: RuntimeShape = { imports: [], globals: [] };
    let js = "";
    let sourceMap = "";
    let declarations = "";
    program.emit(
      sourceFile,
      (fileName, text) => {
        if (fileName.endsWith(".map")) sourceMap = text;
        else if (fileName.endsWith(".d.mts")) declarations = text;
        else js = text;
      },
      undefined,
      false,
      { after: [runtimeTransformer(analysis, shape)] },
    );
    js = js.replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n");
    if (shift) sourceMap = shiftSourceColumns(sourceMap, 0, -shift);
    const typeOnlyNames = [...analysis.declaredNames].filter((n) => !analysis.valueNames.has(n));
    return {
      ok: true,
      cell: {
        code,
        js,
        sourceMap,
        declarations,
        imports: shape.imports,
        globals: shape.globals,
        typeOnlyNames,
        isAsync: analysis.hasTopLevelAwait,
        sources: topLevelSources(analysis),
        hasValue: analysis.lastExpression !== undefined,
      },
    };
  }

  /**
   * Makes a compiled cell's declarations visible to later cells. `accept` limits the names (after
   * a runtime failure: only what the cell managed to assign, plus its types).
   */
  commit(cell: CompiledCell, accept?: (name: string) => boolean): void {
    this.#chain.merge(cell.declarations, accept);
    for (const [name, source] of Object.entries(cell.sources)) {
      if (!accept || accept(name)) this.#chain.recordSource(name, source);
    }
  }

  /** Declares a value that exists without a cell (pushed to engines, defined by the kernel). */
  declare(name: string, typeText = "any"): void {
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) {
      throw new DeclarationError(
        `"${name}" is not a valid identifier; use letters, digits, _ or $ (not first a digit).`,
      );
    }
    const probe = ts.createSourceFile("probe.ts", `let x: ${typeText};`, ts.ScriptTarget.ES2022);
    const statement = probe.statements[0];
    if (probe.statements.length !== 1 || !statement || !ts.isVariableStatement(statement)) {
      throw new DeclarationError(
        `"${typeText}" is not a TypeScript type (e.g. "number[]" or "(x: string) => void").`,
      );
    }
    this.#chain.declareValue(name, typeText);
  }

  /** Adds declarations written as TypeScript (`interface P { x: number }`, `declare function f(): void;`). */
  declareStatements(text: string): void {
    this.#chain.declareStatements(text);
  }

  /**
   * Makes `import … from specifier` type-check against `declaration` (module text with `export`s),
   * or as an untyped module when no declaration is given.
   */
  registerModule(specifier: string, declaration?: string): void {
    if (declaration === undefined) {
      this.#ambientModules.add(specifier);
      const text = [...this.#ambientModules].map((s) => `declare module ${JSON.stringify(s)};`).join("\n");
      this.#host.setFile(this.#ambientFile, text);
      return;
    }
    const path = `${this.#modulePrefix}${this.#registeredCount++}.d.mts`;
    const isModule = /(^|\n)\s*export\s/.test(declaration);
    this.#host.setFile(path, isModule ? declaration : `${declaration}\nexport {};\n`);
    this.#host.registerModule(specifier, path);
  }

  /**
   * Sets declarations that augment modules (`declare module "tsparallel" { interface … }`),
   * replacing whatever was set under `key` before: an interface declared again as a whole, not
   * merged with its earlier self, may change a member's type.
   */
  setAugmentation(key: string, text: string): void {
    if (text === "") this.#augmentations.delete(key);
    else this.#augmentations.set(key, text);
    this.#host.setFile(this.#augmentFile, `export {};\n${[...this.#augmentations.values()].join("\n")}\n`);
  }

  /** Names the chain declares (for tests and `%who`-like listings). */
  declaredNames(): string[] {
    return this.#chain.names();
  }

  /** The chain rendered as a declaration file (for debugging). */
  chainText(): string {
    this.#renderChain();
    return this.#host.fileText(this.#declsFile) ?? "";
  }

  complete(code: string, cursorPos: number): CompletionResult {
    return this.#completions(code, cursorPos);
  }

  inspect(code: string, cursorPos: number, detailLevel: 0 | 1): InspectionResult {
    this.#renderChain();
    this.#host.setFile(this.#cellFile, `${code}\nexport {};\n`);
    return inspectAt(this.#service, this.#cellFile, code, cursorPos, detailLevel, (name) =>
      this.#chain.sourceOf(name),
    );
  }

  dispose(): void {
    this.#disposed = true;
    this.#service.dispose();
  }

  #completions(code: string, cursorPos: number): CompletionResult {
    this.#renderChain();
    this.#host.setFile(this.#cellFile, `${code}\nexport {};\n`);
    return completeAt(this.#service, this.#cellFile, code, cursorPos);
  }

  #renderChain(): void {
    if (this.#renderedVersion === this.#chain.version) return;
    const rendered = this.#chain.render(
      `./${this.#defaultsFile.slice(this.cwd.length + 1).replace(/\.d\.mts$/, ".mjs")}`,
    );
    this.#host.setFile(this.#declsFile, rendered.declarations);
    this.#host.setFile(this.#defaultsFile, rendered.defaults);
    this.#renderedVersion = this.#chain.version;
  }

  /** Diagnostics at the cell's own positions; `shift` characters were compiled before the cell. */
  #toCellDiagnostics(
    found: readonly ts.Diagnostic[],
    sourceFile: ts.SourceFile,
    codeLength: number,
    shift: number,
  ): CellDiagnostic[] {
    const out: CellDiagnostic[] = [];
    for (const d of found) {
      if (d.category !== ts.DiagnosticCategory.Error || ignoredDiagnostics.has(d.code)) continue;
      const start = Math.max(shift, d.start ?? 0);
      if (start - shift > codeLength) continue; // in the appended `export { … }`
      const { line, character } = ts.getLineAndCharacterOfPosition(sourceFile, start);
      out.push({
        line: line + 1,
        column: character + 1 - (line === 0 ? shift : 0),
        code: d.code,
        message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
      });
    }
    return out;
  }
}
