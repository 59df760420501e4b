import type { CodeSession } from "./code-session.js";
import { Kernel } from "./kernel.js";
import { coreMagics } from "./magics/core/index.js";
import { MagicsHook } from "./magics/magics-hook.js";
import { readConnectionFile } from "./protocol/connection-file.js";

/**
 * Loads the TypeScript session after the sockets are bound: the compiler takes a moment to
 * load, and kernel_info must not wait for it.
 */
async function loadTypeScriptSession(cwd: string) {
  const { TypeScriptSession } = await import("./typescript-session.js");
  return new TypeScriptSession({ cwd });
}

/** Runs a kernel for `connectionFile` until it is shut down; resolves with the exit code. */
export async function runKernel(connectionFile: string): Promise<number> {
  const connection = await readConnectionFile(connectionFile);
  const kernel = await Kernel.start({
    connection,
    session: () => loadTypeScriptSession(process.cwd()),
    warmUp: async (s: CodeSession) => (s as CodeSession & { warmUp?(): Promise<void> }).warmUp?.(),
    cellHook: new MagicsHook(coreMagics()),
  });
  return kernel.exited;
}
