/**
 * Registers the backends that work in any JS engine: WebAssembly SIMD and TypeScript. The native
 * OpenBLAS backend is registered separately by the Node-only `node/register-native.ts`.
 * @module
 */
import { registerBackend } from "./backend.js";
import { tsBackend } from "./gemm-ts.js";
import { wasmAvailable, wasmBackend } from "./gemm-wasm.js";

registerBackend("wasm", () => (wasmAvailable() ? wasmBackend : null));
registerBackend("ts", () => tsBackend);
