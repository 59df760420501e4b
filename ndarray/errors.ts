/**
 * Error classes thrown by tsparallel/ndarray. Each has a literal `code`, so callers (and tests) can
 * branch on the kind of failure without matching message text.
 */

/** Base class of every error thrown by tsparallel/ndarray. */
export abstract class NDArrayError extends Error {
  abstract readonly code: string;
}

/** Operand shapes are incompatible (broadcasting, matmul, reshape, concatenation). The message names every shape. */
export class ShapeError extends NDArrayError {
  readonly code = "ERR_ND_SHAPE" as const;
  override readonly name = "ShapeError";
}

/** An index is out of range for an axis, or an axis number is out of range for the array's dimensions. */
export class IndexError extends NDArrayError {
  readonly code = "ERR_ND_INDEX" as const;
  override readonly name = "IndexError";
}

/** A dtype name is not supported, or an operation does not support the given dtype. */
export class DTypeError extends NDArrayError {
  readonly code = "ERR_ND_DTYPE" as const;
  override readonly name = "DTypeError";
}

/** An argument has the right type but an unusable value (for example `linspace` with a negative count). */
export class ValueError extends NDArrayError {
  readonly code = "ERR_ND_VALUE" as const;
  override readonly name = "ValueError";
}

/** A matrix-multiply backend was requested that is not available in this process. */
export class BackendUnavailableError extends NDArrayError {
  readonly code = "ERR_ND_BACKEND" as const;
  override readonly name = "BackendUnavailableError";
}

/** Bytes handed to `ndarrayFromArrowIPC` are not an Arrow IPC stream written by `ndarrayToArrowIPC`. */
export class ArrowFormatError extends NDArrayError {
  readonly code = "ERR_ND_ARROW" as const;
  override readonly name = "ArrowFormatError";
}

/** Formats a shape like numpy does: `(2, 3)`, `(4,)`, `()`. */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}
