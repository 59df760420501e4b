/** `typescript`'s CommonJS exports as a default export (see typescript-module-hooks.ts). */
import { createRequire } from "node:module";
import type * as TS from "typescript";
import { preloadTypeScript } from "./typescript-code-cache.js";

preloadTypeScript();
const ts = createRequire(import.meta.url)("typescript") as typeof TS;
export default ts;
