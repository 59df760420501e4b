import vm from "node:vm";
import { raceAbort } from "../../engines/cancellation.js";
import { CELL_INTERRUPTED, cellInterrupted } from "./errors.js";

export interface RunScriptOptions {
  /** The file name frames of this script show (see StackMapper.fileName). */
  fileName: string;
  /** Aborting rejects a pending (awaiting) cell at once. */
  signal: AbortSignal;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

/**
 * Runs a compiled cell script in the main realm (so its arrays and typed arrays are the same
 * constructors libraries use) and returns its value. Synchronous code runs with `breakOnSigint`:
 * a SIGINT stops a busy loop with an InterruptedError. While the script runs synchronously V8
 * handles SIGINT itself; process "SIGINT" listeners fire again afterwards.
 */
export async function runCellScript(js: string, options: RunScriptOptions): Promise<unknown> {
  if (options.signal.aborted) throw cellInterrupted("abort");
  const script = new vm.Script(js, { filename: options.fileName });
  let value: unknown;
  try {
    value = script.runInThisContext({ breakOnSigint: true, displayErrors: false });
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === "ERR_SCRIPT_EXECUTION_INTERRUPTED") {
      throw cellInterrupted("SIGINT");
    }
    throw error;
  }
  return isThenable(value)
    ? raceAbort(Promise.resolve(value), options.signal, CELL_INTERRUPTED.abort)
    : value;
}
