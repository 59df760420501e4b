import ts from "typescript";
import type {
  CellOutcome,
  CodeSession,
  CompletenessResult,
  CompletionResult,
  ExecuteOptions,
  InspectionResult,
} from "./code-session.js";
import { CellCompiler } from "./compiler/cell-compiler.js";
import { compileError } from "./compiler/compile-error.js";
import { packageRoot } from "./compiler/compiler-options.js";
import { isCompleteCode } from "./compiler/completeness.js";
import { MODULES_GLOBAL } from "./compiler/runtime-transform.js";
import { cellErrorFrom } from "./executor/cell-error.js";
import { runCellScript } from "./executor/cell-runner.js";
import { ModuleLoader, type ModuleNamespace } from "./executor/module-loader.js";
import { StackMapper } from "./executor/stack-mapper.js";

export interface TypeScriptSessionOptions {
  /** The notebook's folder: imports and tsconfig.json are looked up here. Default process.cwd(). */
  cwd?: string;
  /** Longest cell accepted (UTF-16 code units); default 4,000,000. */
  maxCellLength?: number;
}

// Statement kinds that make a defineGlobal declaration a statement rather than a type.
const declarationKinds = new Set([
  ts.SyntaxKind.VariableStatement,
  ts.SyntaxKind.FunctionDeclaration,
  ts.SyntaxKind.ClassDeclaration,
  ts.SyntaxKind.InterfaceDeclaration,
  ts.SyntaxKind.TypeAliasDeclaration,
  ts.SyntaxKind.EnumDeclaration,
  ts.SyntaxKind.ModuleDeclaration,
]);

function isDeclarationText(text: string): boolean {
  const file = ts.createSourceFile("d.ts", text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const first = file.statements[0];
  return first !== undefined && declarationKinds.has(first.kind);
}

/**
 * A notebook's TypeScript state: a cell compiler with its declaration chain, and the main realm's
 * global object as the cell namespace. Top-level names of a cell become real globals; later cells
 * see their values and types and may redeclare them.
 */
export class TypeScriptSession implements CodeSession {
  readonly cwd: string;
  readonly #compiler: CellCompiler;
  readonly #loader: ModuleLoader;
  readonly #mapper = new StackMapper();
  #cells = 0;

  constructor(options: TypeScriptSessionOptions = {}) {
    this.cwd = options.cwd ?? process.cwd();
    const compilerOptions = {
      cwd: this.cwd,
      chain: "kernel",
      ...(options.maxCellLength ? { maxCellLength: options.maxCellLength } : {}),
    };
    this.#compiler = new CellCompiler(compilerOptions);
    this.#loader = new ModuleLoader({ cwd: this.cwd, ownPackageRoot: packageRoot() });
  }

  get typeCheck(): boolean {
    return this.#compiler.typeCheck;
  }

  set typeCheck(on: boolean) {
    this.#compiler.typeCheck = on;
  }

  /** Problems found in the notebook folder's tsconfig.json (shown once by the kernel, if it likes). */
  get configWarnings(): readonly string[] {
    return this.#compiler.configWarnings;
  }

  /**
   * Builds the language service now, in steps that let the event loop run (see
   * {@link CellCompiler.warmUp}), so the first cell the user runs is fast.
   */
  warmUp(): Promise<void> {
    return this.#compiler.warmUp();
  }

  async execute(code: string, opts: ExecuteOptions): Promise<CellOutcome> {
    const number = ++this.#cells;
    const label = `cell ${number}`;
    let compiled: ReturnType<CellCompiler["compile"]>;
    try {
      compiled = this.#compiler.compile(code);
    } catch (error) {
      return { status: "error", error: cellErrorFrom(error, this.#mapper) };
    }
    if (!compiled.ok) return { status: "error", error: compileError(compiled.diagnostics, code, label) };
    const cell = compiled.cell;
    const fileName = StackMapper.fileName(number);
    this.#mapper.add(fileName, label, cell.sourceMap);

    const global = globalThis as Record<string, unknown>;
    const before = new Map(cell.globals.map((n) => [n, { had: Object.hasOwn(global, n), value: global[n] }]));
    try {
      await this.#loader.preload(cell.imports, opts.signal);
      global[MODULES_GLOBAL] = this.#loader.api;
      const value = await runCellScript(cell.js, { fileName, signal: opts.signal });
      this.#compiler.commit(cell);
      return cell.hasValue && value !== undefined ? { status: "ok", result: { value } } : { status: "ok" };
    } catch (thrown) {
      // Keep what the cell assigned before it failed, with its types, and all of its types.
      const typeOnly = new Set(cell.typeOnlyNames);
      const assigned = (name: string) => {
        const old = before.get(name);
        if (!old) return false;
        return old.had ? !Object.is(old.value, global[name]) : global[name] !== undefined;
      };
      this.#compiler.commit(cell, (name) => typeOnly.has(name) || assigned(name));
      return { status: "error", error: cellErrorFrom(thrown, this.#mapper) };
    }
  }

  complete(code: string, cursorPos: number): CompletionResult {
    try {
      return this.#compiler.complete(code, cursorPos);
    } catch {
      return { matches: [], cursorStart: cursorPos, cursorEnd: cursorPos };
    }
  }

  inspect(code: string, cursorPos: number, detailLevel: 0 | 1): InspectionResult {
    try {
      return this.#compiler.inspect(code, cursorPos, detailLevel);
    } catch {
      return { found: false, data: {} };
    }
  }

  isComplete(code: string): CompletenessResult {
    try {
      return isCompleteCode(code);
    } catch {
      return { status: "unknown" };
    }
  }

  declareRemote(name: string, typeText: string): void {
    if (this.#compiler.declaredNames().includes(name) || name in globalThis) return;
    this.#compiler.declare(name, typeText);
  }

  augmentModules(key: string, text: string): void {
    this.#compiler.setAugmentation(key, text);
  }

  /**
   * Makes `value` a global of the cell namespace. `declaration` is either a type ("(x: unknown) =>
   * void") or declaration statements ("declare function display(x: unknown): void;"); without it
   * the name is typed `any`.
   */
  defineGlobal(name: string, value: unknown, declaration?: string): void {
    if (declaration !== undefined && isDeclarationText(declaration))
      this.#compiler.declareStatements(declaration);
    else this.#compiler.declare(name, declaration ?? "any");
    const global = globalThis as Record<string, unknown>;
    const current = Object.getOwnPropertyDescriptor(global, name);
    if (current && !current.writable && !current.set && current.configurable === false) {
      throw new TypeError(
        `Cannot define global "${name}": the global object has a read-only property of that name.`,
      );
    }
    if (current?.writable || current?.set) global[name] = value;
    else
      Object.defineProperty(global, name, { value, writable: true, configurable: true, enumerable: false });
  }

  registerModule(specifier: string, namespace: Record<string, unknown>, declaration?: string): void {
    this.#loader.register(specifier, namespace as ModuleNamespace);
    this.#compiler.registerModule(specifier, declaration);
  }

  dispose(): void {
    this.#compiler.dispose();
  }
}
