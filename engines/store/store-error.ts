/** Why the shared-memory store could not do what was asked. */
export type StoreErrorCode =
  /** The store is at its size limit and what it holds is still in use. */
  | "STORE_FULL"
  /** No store here: no native addon (it needs a C compiler), not Linux, or turned off. */
  | "STORE_UNAVAILABLE"
  /** A receiver could not map a block (its owner is gone, another host, another user). */
  | "STORE_UNREACHABLE";

/** An error of the same-host object store; the message says what to do. */
export class StoreError extends Error {
  override readonly name = "StoreError";
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}
