/**
 * tsparallel/ndarray: numpy-style n-dimensional arrays for TypeScript notebooks and engines.
 *
 * ```ts
 * import * as nd from "tsparallel/ndarray";
 * const A = nd.random.random([512, 512]);
 * const C = A.dot(A.T);          // GEMM via OpenBLAS, WebAssembly SIMD or TypeScript
 * nd.backend();                   // "native" | "wasm" | "ts"
 * nd.backendInfo().blas;          // the BLAS library, its version and the kernel it runs
 * ```
 * @module
 */
import "./node/register-native.js";

export { ndarrayFromArrowIPC, ndarrayToArrowIPC } from "./arrow.js";
export { allclose, arrayEqual, type CloseOptions, isclose } from "./comparison.js";
export {
  arange,
  array,
  asarray,
  type CreateOptions,
  empty,
  emptyLike,
  eye,
  frombuffer,
  full,
  fullLike,
  identity,
  linspace,
  type NestedArray,
  ones,
  onesLike,
  zeros,
  zerosLike,
} from "./creation.js";
export {
  DTYPES,
  type DType,
  type DTypeLike,
  type FloatDType,
  promoteTypes,
  type TypedArray,
  toDType,
} from "./dtype.js";
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
  type OutOptions,
  power,
  sign,
  sin,
  sqrt,
  square,
  subtract,
  tanh,
  where,
} from "./elementwise.js";
export {
  ArrowFormatError,
  BackendUnavailableError,
  DTypeError,
  IndexError,
  NDArrayError,
  ShapeError,
  ValueError,
} from "./errors.js";
export { ellipsis, type IndexSpec, newaxis, type Slice, s } from "./indexing.js";
export { type BlockList, block, concatenate, hstack, stack, vstack } from "./joining.js";
export {
  availableBackends,
  BACKENDS,
  type BackendInfo,
  type BackendName,
  type BlasInfo,
  backend,
  backendError,
  backendInfo,
  blasThreads,
  type StrassenSettings,
  setBackend,
  setBlasThreads,
  setStrassen,
  strassen,
} from "./linalg/backend.js";
export { dot, gemmInto, matmul } from "./linalg/matmul.js";
export {
  type ArrayLike,
  type CopyOrder,
  isNDArray,
  type LayoutFlags,
  type MimeBundle,
  NDArray,
} from "./ndarray.js";
export * as random from "./random.js";
export {
  type AxisLike,
  argmax,
  argmin,
  max,
  mean,
  min,
  prod,
  std,
  sum,
  variance as var,
} from "./reductions.js";
export { put, repeat, take, tile } from "./repetition.js";
export { broadcastShapes, type Order, type ShapeLike } from "./shape.js";
export { type SharedAllocator, setSharedAllocator, shared } from "./shared.js";
