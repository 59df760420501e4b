/**
 * Node-only set-up imported by the package entry. The backend registry finds every backend by
 * itself on Node ≥ 20.16 (see `node-host.ts`); this module makes the same work on older Node by
 * handing it the statically imported built-ins, and switches wasm to the optimising compiler
 * before anything is compiled.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { registerBackend } from "../linalg/backend.js";
import { loadNativeBackend } from "./native-gemm.js";
import { type NodeHost, nodeHost, preferOptimizedWasm } from "./node-host.js";

const host: NodeHost = nodeHost() ?? {
  existsSync,
  readFileSync,
  createRequire,
  fileURLToPath,
  setFlagsFromString,
};
preferOptimizedWasm(host);
registerBackend("native", () => loadNativeBackend(host));
