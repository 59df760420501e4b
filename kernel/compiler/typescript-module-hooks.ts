/**
 * Module hooks for the kernel process (registered with `module.register`): this package's own
 * `import ts from "typescript"` resolves to a small ESM module that re-exports the CommonJS
 * instance from `require`. Node's ESM loader otherwise scans TypeScript's 9 MB of source for
 * export names on every start (about half a second), although the modules only use the default
 * export.
 */

interface ResolveContext {
  parentURL?: string;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<{ url: string }>;

const shim = new URL("./typescript-default.js", import.meta.url).href;
const ownDir = new URL("../../", import.meta.url).href;

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve) {
  if (specifier === "typescript" && context.parentURL?.startsWith(ownDir) && context.parentURL !== shim) {
    return { url: shim, shortCircuit: true };
  }
  return next(specifier, context);
}
