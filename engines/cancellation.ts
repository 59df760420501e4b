/**
 * Cancellation and time limits, said the same way across tsparallel's API (client, cluster,
 * kernel): an options object `{ signal, timeout }`. A `signal` that aborts rejects with an
 * {@link InterruptedError}; a `timeout` (milliseconds, a finite number ≥ 0; leave it out to wait
 * as long as it takes) ends the wait the way the call documents (a `false`, or an error with its
 * own code). A bad value is an {@link InvalidOptionError} at the call, never a wait forever.
 * @module
 */

/** How long a call may wait, and what may cancel it. */
export interface CancelOptions {
  /** Milliseconds; left out, the call waits as long as it takes. */
  timeout?: number;
  /** Cancels the wait (the call rejects with {@link InterruptedError}). */
  signal?: AbortSignal;
}

/** Something was interrupted: a cell (SIGINT, the interrupt button), or a wait whose signal aborted. */
export class InterruptedError extends Error {
  override readonly name = "Interrupted";
  readonly code = "INTERRUPTED" as const;
  constructor(message = "interrupted") {
    super(message);
  }
}

/** An option with a value it cannot have; the message names the option and what it takes. */
export class InvalidOptionError extends RangeError {
  override readonly name = "InvalidOptionError";
  readonly code = "INVALID_OPTION" as const;
}

/** Checks a `timeout` option: undefined, or a finite number of milliseconds ≥ 0. */
export function checkTimeout(timeout: unknown, what = "timeout"): number | undefined {
  if (timeout === undefined) return undefined;
  if (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout < 0)
    throw new InvalidOptionError(
      `${what} must be a number of milliseconds ≥ 0 (got ${String(timeout)}); leave it out to wait as long as it takes`,
    );
  return timeout;
}

/** Checks a whole-number option against its least value. */
export function checkCount(value: unknown, what: string, least: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < least)
    throw new InvalidOptionError(`${what} must be a whole number ≥ ${least} (got ${String(value)})`);
  return value;
}

/** Settles like `promise`, or rejects with an {@link InterruptedError} as soon as `signal` aborts. */
export function raceAbort<T>(
  promise: PromiseLike<T>,
  signal: AbortSignal | undefined,
  message?: string,
): Promise<T> {
  if (!signal) return Promise.resolve(promise);
  if (signal.aborted) return Promise.reject(interruption(signal, message));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(interruption(signal, message));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Waits for `promise` within `opts`: its value, or `onTimeout()`'s once the timeout passes first;
 * rejects with an {@link InterruptedError} when the signal aborts first.
 */
export function withinLimits<T, F>(
  promise: PromiseLike<T>,
  opts: CancelOptions,
  onTimeout: () => F,
): Promise<T | F> {
  const timeout = checkTimeout(opts.timeout);
  let timer: NodeJS.Timeout | undefined;
  const limited =
    timeout === undefined
      ? Promise.resolve(promise)
      : Promise.race([
          promise,
          new Promise<F>((resolve) => {
            timer = setTimeout(() => resolve(onTimeout()), timeout);
          }),
        ]);
  return raceAbort(limited, opts.signal).finally(() => clearTimeout(timer));
}

/**
 * The error a wait whose `signal` aborted rejects with: an {@link InterruptedError} (with
 * `message` when the caller has its own words for it), or the signal's own TimeoutError.
 */
export function interruption(signal: AbortSignal, message?: string): Error {
  if (message !== undefined) return new InterruptedError(message);
  const reason: unknown = signal.reason;
  // A signal aborted with an error of its own (AbortSignal.timeout's TimeoutError) keeps it.
  if (reason instanceof InterruptedError || (reason instanceof Error && reason.name === "TimeoutError"))
    return reason;
  return new InterruptedError();
}
