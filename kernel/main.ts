import type { CodeSession } from "./code-session.js";
import { Kernel } from "./kernel.js";
import { readConnectionFile } from "./protocol/connection-file.js";

/** The TypeScript session with its warm-up (kernel/typescript-session.ts). */
type WarmableSession = CodeSession & { warmUp?(): Promise<void> };

/**
 * Loads the TypeScript session after the sockets are bound: the compiler takes a moment to
 * load, and kernel_info must not wait for it.
 */
async function loadTypeScriptSession(cwd: string): Promise<WarmableSession> {
  // A variable specifier keeps this file compiling while typescript-session.ts is being written.
  const specifier = "./typescript-session.js";
  const mod = (await import(specifier)) as { TypeScriptSession: new (o: { cwd: string }) => WarmableSession };
  return new mod.TypeScriptSession({ cwd });
}

/** Runs a kernel for `connectionFile` until it is shut down; resolves with the exit code. */
export async function runKernel(connectionFile: string): Promise<number> {
  const connection = await readConnectionFile(connectionFile);
  const kernel = await Kernel.start({
    connection,
    session: loadTypeScriptSession(process.cwd()),
    warmUp: async (s: WarmableSession) => s.warmUp?.(),
  });
  return kernel.exited;
}
