/**
 * The contract between the Jupyter protocol layer (kernel/protocol) and the TypeScript
 * language layer (kernel/compiler + kernel/executor). The protocol layer knows nothing about
 * TypeScript; the language layer knows nothing about ZeroMQ or message framing.
 */

/** A failure shown to the user: Jupyter's ename/evalue/traceback triple. */
export interface CellError {
  ename: string;
  evalue: string;
  /** Lines, may contain ANSI colour codes; positions refer to cell lines, never generated code. */
  traceback: string[];
}

/** The result of running one cell. */
export type CellOutcome =
  | {
      status: "ok" /** set when the cell ends with an expression whose value should be displayed */;
      result?: { value: unknown };
    }
  | { status: "error"; error: CellError };

/** Tab completion at a cursor (offsets in UTF-16 code units of `code`). */
export interface CompletionResult {
  matches: string[];
  cursorStart: number;
  cursorEnd: number;
  /** Jupyter's experimental `_jupyter_types_experimental` entries, one per match. */
  types?: { text: string; type: string; start: number; end: number; signature?: string }[];
}

/** Shift-Tab inspection: a MIME bundle (text/plain at least) or not found. */
export interface InspectionResult {
  found: boolean;
  data: Record<string, string>;
}

/** Jupyter's is_complete answer. */
export interface CompletenessResult {
  status: "complete" | "incomplete" | "invalid" | "unknown";
  indent?: string;
}

/** Options of one execution. */
export interface ExecuteOptions {
  /** Aborted when the user interrupts; a pending await must reject promptly. */
  signal: AbortSignal;
}

/**
 * One notebook's language state: declarations persist across `execute` calls.
 * Implemented by kernel/typescript-session.ts.
 */
export interface CodeSession {
  /** Compiles and runs a cell (TypeScript). Type errors give `status: "error"` and nothing runs. */
  execute(code: string, opts: ExecuteOptions): Promise<CellOutcome>;
  complete(code: string, cursorPos: number): CompletionResult;
  inspect(code: string, cursorPos: number, detailLevel: 0 | 1): InspectionResult;
  isComplete(code: string): CompletenessResult;
  /** Makes `value` a global of the cell namespace, with an optional TypeScript declaration. */
  defineGlobal(name: string, value: unknown, declaration?: string): void;
  /**
   * Gives `name` a type for the checker only, when the session does not declare it already: a
   * name that lives on the engines, so that a function shipped there may refer to it.
   */
  declareRemote?(name: string, typeText: string): void;
  /**
   * Sets declarations that augment modules (`declare module "tsparallel" { … }`) for the checker,
   * replacing what was set under the same `key` before.
   */
  augmentModules?(key: string, text: string): void;
  /** Makes `import … from specifier` resolve to `namespace` (e.g. "tslab" → our display API). */
  registerModule(specifier: string, namespace: Record<string, unknown>, declaration?: string): void;
  /** Type checking on (default) or off for the rest of the session. */
  typeCheck: boolean;
  /** Frees the language service. */
  dispose(): void;
}
