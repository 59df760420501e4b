import { register } from "node:module";
import type { CodeSession } from "./code-session.js";
import { Kernel } from "./kernel.js";
import { coreMagics } from "./magics/core/index.js";
import { MagicsHook } from "./magics/magics-hook.js";
import { clusterMagic } from "./parallel/cluster-magic.js";
import { ParallelMagics } from "./parallel/parallel-magics.js";
import { watchParent } from "./parent-watch.js";
import { readConnectionFile } from "./protocol/connection-file.js";
import { kernelLog } from "./protocol/log.js";

/**
 * Loads the TypeScript session after the sockets are bound: the compiler takes a moment to
 * load, and kernel_info must not wait for it.
 */
async function loadTypeScriptSession(cwd: string) {
  // TypeScript loads from V8's code cache, and without Node scanning it for exports (see
  // compiler/typescript-module-hooks.ts): this halves the time to the first cell.
  register("./compiler/typescript-module-hooks.js", import.meta.url);
  const { TypeScriptSession } = await import("./typescript-session.js");
  return new TypeScriptSession({ cwd });
}

/**
 * Warms the session's compiler up, then keeps what V8 compiled doing it for the next kernel, and
 * rebuilds the startup snapshot if the one kernel.json names no longer fits.
 */
async function warmUp(session: CodeSession): Promise<void> {
  await (session as CodeSession & { warmUp?(): Promise<void> }).warmUp?.();
  const { saveTypeScriptCodeCache } = await import("./compiler/typescript-code-cache.js");
  saveTypeScriptCodeCache();
  const { rebuildStaleSnapshot } = await import("./compiler/snapshot-build.js");
  rebuildStaleSnapshot();
}

/** The kernel's magics: the core ones, and the parallel ones (%px, %cluster …). */
function magics(cwd: string): { hook: MagicsHook; parallel: ParallelMagics } {
  const registry = coreMagics();
  const hook = new MagicsHook(registry);
  const parallel = new ParallelMagics(registry, hook, cwd);
  registry.register(clusterMagic(parallel));
  return { hook, parallel };
}

/** Runs a kernel for `connectionFile` until it is shut down; resolves with the exit code. */
export async function runKernel(connectionFile: string): Promise<number> {
  const connection = await readConnectionFile(connectionFile);
  const { hook, parallel } = magics(process.cwd());
  const kernel = await Kernel.start({
    connection,
    session: async () => {
      const session = await loadTypeScriptSession(process.cwd());
      parallel.session = session;
      return session;
    },
    warmUp,
    cellHook: hook,
  });
  watchParent(() => {
    kernelLog("the Jupyter server that started this kernel is gone: shutting down");
    void kernel.stop();
  });
  return kernel.exited;
}
