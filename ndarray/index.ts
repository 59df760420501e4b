/**
 * tsparallel/ndarray: numpy-style n-dimensional arrays for TypeScript notebooks and engines.
 *
 * ```ts
 * import * as nd from "tsparallel/ndarray";
 * const A = nd.random.random([512, 512]);
 * const C = A.dot(A.T);          // GEMM via OpenBLAS, WebAssembly SIMD or TypeScript
 * nd.backend();                   // "native" | "wasm" | "ts"
 * ```
 * @module
 */
import "./linalg/default-backends.js";
import "./node/register-native.js";

export { ArrowFormatError, BackendUnavailableError, DTypeError, IndexError, NDArrayError, ShapeError, ValueError } from "./errors.js";
export { type DType, type DTypeLike, type FloatDType, type TypedArray, DTYPES, promoteTypes, toDType } from "./dtype.js";
export { type Order, type ShapeLike, broadcastShapes } from "./shape.js";
export { type IndexSpec, type Slice, ellipsis, newaxis, s } from "./indexing.js";
export {
  type ArrayLike,
  type CopyOrder,
  type LayoutFlags,
  type MimeBundle,
  NDArray,
  isNDArray,
} from "./ndarray.js";
export {
  type CreateOptions,
  type NestedArray,
  arange,
  array,
  asarray,
  empty,
  emptyLike,
  eye,
  frombuffer,
  full,
  fullLike,
  identity,
  linspace,
  ones,
  onesLike,
  zeros,
  zerosLike,
} from "./creation.js";
export {
  abs,
  add,
  ceil,
  clip,
  cos,
  divide,
  equal,
  exp,
  floor,
  floorDivide,
  greater,
  greaterEqual,
  less,
  lessEqual,
  log,
  maximum,
  minimum,
  mod,
  multiply,
  negative,
  notEqual,
  power,
  sign,
  sin,
  sqrt,
  square,
  subtract,
  tanh,
  where,
} from "./elementwise.js";
export { type AxisLike, argmax, argmin, max, mean, min, prod, std, sum, variance as var } from "./reductions.js";
export { type CloseOptions, allclose, arrayEqual, isclose } from "./comparison.js";
export { type BlockList, block, concatenate, hstack, stack, vstack } from "./joining.js";
export { repeat, take, tile } from "./repetition.js";
export { dot, gemmInto, matmul } from "./linalg/matmul.js";
export {
  type BackendName,
  BACKENDS,
  availableBackends,
  backend,
  backendError,
  blasThreads,
  setBackend,
  setBlasThreads,
} from "./linalg/backend.js";
export { ndarrayFromArrowIPC, ndarrayToArrowIPC } from "./arrow.js";
export * as random from "./random.js";
