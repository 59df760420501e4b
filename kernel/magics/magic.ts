import type { CellOutcome, CodeSession } from "../code-session.js";
import { rememberTraceback } from "../executor/last-traceback.js";
import { fullTracebacks, isOwnFrame } from "../executor/own-frames.js";

/** A MIME bundle: MIME type → data (strings, or JSON for application/json and Vega-Lite). */
export type MimeData = Record<string, unknown>;

/** What a magic may do to the notebook while it runs. */
export interface MagicContext {
  /** The notebook's TypeScript session. */
  readonly session: CodeSession;
  /** Aborted when the user interrupts the cell. */
  readonly signal: AbortSignal;
  /** Runs TypeScript as if it were a cell of its own (declarations persist). */
  runCode(code: string): Promise<CellOutcome>;
  /** Writes to the cell's stdout or stderr. */
  stream(name: "stdout" | "stderr", text: string): void;
  /** Shows a MIME bundle; with `displayId` the output can later be replaced in place. */
  display(
    data: MimeData,
    opts?: { displayId?: string; update?: boolean; metadata?: Record<string, unknown> },
  ): void;
  /** Adds an entry to the execute_reply payload (e.g. the pager for `obj?`). */
  addPayload(payload: Record<string, unknown>): void;
}

/** How a magic is written: `%name args` (line), `%%name args` + body (cell), or both. */
export type MagicKind = "line" | "cell" | "both";

/** One magic command. */
export interface Magic {
  readonly name: string;
  readonly kind: MagicKind;
  /** One-line synopsis shown by usage errors, e.g. `%timeit [-n N] [-r R] [-o] [-q] statement`. */
  readonly usage: string;
  /** One sentence for %lsmagic and `%name?`. */
  readonly summary: string;
  /** TypeScript type of the result, for `const x = %name …` (default `unknown`). */
  readonly resultType?: string;
  /**
   * Runs the magic. `args` is the text after the name on the magic line; `body` is the rest of
   * the cell for a cell magic and `undefined` for a line magic.
   */
  run(args: string, body: string | undefined, ctx: MagicContext): Promise<CellOutcome>;
}

/** A magic was called with options it does not take; the message carries the usage line. */
export class MagicUsageError extends Error {
  override readonly name = "UsageError";
  readonly code = "MAGIC_USAGE" as const;
  constructor(message: string, usage?: string) {
    super(usage ? `${message}\nusage: ${usage}` : message);
  }
}

/** The outcome of a magic that shows nothing as its result. */
export const OK: CellOutcome = { status: "ok" };

/**
 * Turns an exception thrown inside a magic into a cell error (a usage error has no stack), with
 * the user's frames only (the full stack is kept for `%tb`).
 */
export function outcomeFromError(err: unknown): CellOutcome {
  if (err instanceof MagicUsageError) {
    return {
      status: "error",
      error: { ename: "UsageError", evalue: err.message, traceback: [`UsageError: ${err.message}`] },
    };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const full = (e.stack ?? `${e.name}: ${e.message}`).split("\n");
  rememberTraceback(full);
  return {
    status: "error",
    error: {
      ename: e.name,
      evalue: e.message,
      traceback: fullTracebacks() ? full : full.filter((line) => !isOwnFrame(line)),
    },
  };
}
