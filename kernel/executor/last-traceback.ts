/**
 * The full stack of the last error a cell ended with (our own frames included), which errors do
 * not show by default and `%tb` shows on request. One kernel runs one notebook, so one slot.
 */
let last: string[] | undefined;

/** Keeps `lines` as the last error's full traceback. */
export function rememberTraceback(lines: readonly string[]): void {
  last = [...lines];
}

/** The last error's full traceback, if a cell has failed yet. */
export function lastTraceback(): readonly string[] | undefined {
  return last;
}
