/**
 * Node-only set-up imported by the package entry: registers the OpenBLAS backend (loaded lazily,
 * on the first matmul or `backend()` call) and makes V8 compile WebAssembly with its optimising
 * compiler straight away.
 *
 * Why the V8 flag: V8 first runs wasm in its baseline compiler (Liftoff) and has no on-stack
 * replacement for wasm, so the first long GEMM call in a process (each notebook cell runs once)
 * would stay 3x slower until it returns. `--no-liftoff` only affects modules compiled afterwards.
 * @module
 */
import { setFlagsFromString } from "node:v8";
import { registerBackend } from "../linalg/backend.js";
import { loadNativeBackend } from "./native-gemm.js";

if (!process.env.TSPARALLEL_WASM_LIFTOFF) setFlagsFromString("--no-liftoff");
registerBackend("native", loadNativeBackend);
