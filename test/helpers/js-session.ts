/**
 * A small JavaScript-only {@link CodeSession} for protocol tests: real vm execution with
 * persistent globals, breakOnSigint, top-level await (in an async wrapper), and answers for
 * complete/inspect/is_complete that come from the live globals. It lets the protocol layer be
 * tested without loading the TypeScript compiler.
 */
import vm from "node:vm";
import type {
  CellOutcome,
  CodeSession,
  CompletenessResult,
  CompletionResult,
  ExecuteOptions,
  InspectionResult,
} from "../../kernel/code-session.js";
import { cellConsole } from "../../kernel/display/stdio-capture.js";

export class JsSession implements CodeSession {
  typeCheck = false;
  readonly context: vm.Context;
  readonly declarations = new Map<string, string>();
  readonly #modules = new Map<string, Record<string, unknown>>();

  constructor() {
    this.context = vm.createContext({
      setTimeout,
      clearTimeout,
      setInterval,
      clearInterval,
      setImmediate,
      Buffer,
      process,
      // A fresh vm context has no printing console; the TypeScript session runs in the main realm.
      console: cellConsole(),
      require: (spec: string) => {
        const m = this.#modules.get(spec);
        if (!m) throw new Error(`Cannot find module '${spec}'`);
        return m;
      },
    });
  }

  async execute(code: string, opts: ExecuteOptions): Promise<CellOutcome> {
    try {
      let value: unknown;
      if (/\bawait\b/.test(code)) {
        const body = code.trim().replace(/;$/, "");
        // Last line as a return value, so `await x` shows x.
        const lines = body.split("\n");
        const last = lines.pop()!;
        const src = `(async () => {\n${lines.join("\n")}\nreturn (${last});\n})()`;
        value = await vm.runInContext(src, this.context, { breakOnSigint: true });
      } else {
        value = vm.runInContext(code, this.context, { breakOnSigint: true, filename: "cell.js" });
      }
      opts.signal.throwIfAborted();
      return { status: "ok", result: { value } };
    } catch (e) {
      const err = e as Error;
      const name = err?.name ?? "Error";
      return {
        status: "error",
        error: { ename: name, evalue: err?.message ?? String(e), traceback: [err?.stack ?? String(e)] },
      };
    }
  }

  #wordAt(code: string, cursor: number): { start: number; word: string; object?: string } {
    let start = cursor;
    while (start > 0 && /[\w$]/.test(code[start - 1]!)) start--;
    const word = code.slice(start, cursor);
    let object: string | undefined;
    if (code[start - 1] === ".") {
      let s = start - 1;
      while (s > 0 && /[\w$.]/.test(code[s - 1]!)) s--;
      object = code.slice(s, start - 1);
    }
    return { start, word, ...(object ? { object } : {}) };
  }

  #lookup(path: string): unknown {
    try {
      return vm.runInContext(path, this.context);
    } catch {
      return undefined;
    }
  }

  complete(code: string, cursorPos: number): CompletionResult {
    const { start, word, object } = this.#wordAt(code, cursorPos);
    let names: string[];
    if (object) {
      const o = this.#lookup(object);
      names = [];
      for (let p = o; p !== null && p !== undefined; p = Object.getPrototypeOf(p)) {
        names.push(...Object.getOwnPropertyNames(p));
      }
    } else {
      names = [...Object.getOwnPropertyNames(this.context), ...this.declarations.keys()];
    }
    const matches = [...new Set(names.filter((n) => n.startsWith(word)))].sort();
    return { matches, cursorStart: start, cursorEnd: cursorPos };
  }

  inspect(code: string, cursorPos: number, detailLevel: 0 | 1): InspectionResult {
    let end = cursorPos;
    while (end < code.length && /[\w$]/.test(code[end]!)) end++;
    let start = end;
    while (start > 0 && /[\w$.]/.test(code[start - 1]!)) start--;
    const path = code.slice(start, end);
    if (!path) return { found: false, data: {} };
    const value = this.#lookup(path);
    if (value === undefined && !this.declarations.has(path)) return { found: false, data: {} };
    const decl = this.declarations.get(path);
    const text = `${path}: ${typeof value}${detailLevel === 1 ? `\n${String(value)}` : ""}${decl ? `\n${decl}` : ""}`;
    return { found: true, data: { "text/plain": text } };
  }

  isComplete(code: string): CompletenessResult {
    try {
      new vm.Script(code);
      return { status: "complete" };
    } catch (e) {
      const msg = (e as Error).message;
      if (/Unexpected end of input|Unterminated/.test(msg)) return { status: "incomplete", indent: "  " };
      return { status: "invalid" };
    }
  }

  defineGlobal(name: string, value: unknown, declaration?: string): void {
    this.context[name] = value;
    if (declaration) this.declarations.set(name, declaration);
  }

  registerModule(specifier: string, namespace: Record<string, unknown>): void {
    this.#modules.set(specifier, namespace);
  }

  dispose(): void {}
}
