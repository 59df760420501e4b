import type { CellOutcome, CodeSession } from "./code-session.js";
import type { OutputSink } from "./display/output-sink.js";
import type { ExecuteRequest } from "./protocol/messages.js";

/**
 * The hook the kernel calls on every cell before the language session sees it: magics
 * (`%px`, `%%time`, `%lsmagic` …) plug in here. A hook may handle the cell itself, rewrite it,
 * or pass it through unchanged.
 */
export interface CellContext {
  /** The notebook's language session (compile, run, declare globals). */
  readonly session: CodeSession;
  /** The running request's output: stream text, displays, clear_output, raw IOPub messages. */
  readonly output: OutputSink;
  /** Aborted when the user interrupts the cell; long work must stop promptly. */
  readonly signal: AbortSignal;
  /** The execute_request as the frontend sent it (silent, store_history, user_expressions…). */
  readonly request: Readonly<ExecuteRequest>;
  /** The execution count of this cell (already incremented when store_history is set). */
  readonly executionCount: number;
}

/** What a hook decided. */
export type CellHookResult =
  /** Not mine: run the cell as it is. */
  | { action: "pass" }
  /** Run this code instead (e.g. a line magic expanded into TypeScript). */
  | { action: "rewrite"; code: string }
  /**
   * Already done: the kernel reports this outcome (a `result` becomes the execute_result).
   * `payload` entries (each with a `source`, e.g. `{ source: "page", data, start: 0 }`) go
   * into the execute_reply.
   */
  | { action: "handled"; outcome: CellOutcome; payload?: Record<string, unknown>[] };

/** A cell preprocessor (the magics framework implements this). */
export interface CellHook {
  preprocess(code: string, context: CellContext): CellHookResult | Promise<CellHookResult>;
}
