import { InterruptedError } from "../../engines/cancellation.js";

/** What an interrupted cell says: SIGINT stopped synchronous code, or the interrupt ended an await. */
export const CELL_INTERRUPTED = {
  SIGINT:
    "The cell was interrupted (SIGINT) while running synchronous code. Names it assigned before that are kept.",
  abort:
    "The cell was interrupted while awaiting. Names it assigned before that are kept; work it started in the background (timers, requests) may still finish.",
} as const;

/** The user interrupted a running cell (SIGINT during synchronous code, or the abort signal). */
export function cellInterrupted(how: keyof typeof CELL_INTERRUPTED): InterruptedError {
  return new InterruptedError(CELL_INTERRUPTED[how]);
}

/** An import that names no module the notebook folder can load. */
export class ModuleNotFoundError extends Error {
  readonly code = "ERR_CELL_MODULE_NOT_FOUND";
  constructor(
    readonly specifier: string,
    from: string,
    detail?: string,
  ) {
    const bare = !/^(\.|\/|file:)/.test(specifier);
    const hint = bare
      ? ` Install it in the notebook's folder (cd ${from} && npm install ${packageName(specifier)}).`
      : " Check the path: relative imports resolve from the notebook's folder and need their file extension.";
    super(`Cannot find module "${specifier}" from ${from}.${detail ? ` ${detail}.` : ""}${hint}`);
    this.name = "ModuleNotFoundError";
  }
}

/** The package part of a bare specifier: "a/b" → "a", "@s/a/b" → "@s/a". */
export function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

/** Cell code asked for a module that was not loaded before it ran (a contract violation of the runner). */
export class ModuleNotLoadedError extends Error {
  readonly code = "ERR_CELL_MODULE_NOT_LOADED";
  constructor(specifier: string) {
    super(
      `Module "${specifier}" was not loaded before the cell ran; load it with load("${specifier}") first.`,
    );
    this.name = "ModuleNotLoadedError";
  }
}
