import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { fileURLToPath } from "node:url";
import { withHugePages } from "./huge-pages.js";
import type { EngineLocation, Launcher, LauncherAction, LauncherContext } from "./launcher.js";

/** The engine entry script next to this file in dist/. */
export const ENGINE_MAIN = fileURLToPath(new URL("../engine/main.js", import.meta.url));

/** Engine entry that also puts the MPI/Slurm rank into the namespace (see ranked-engine-main.ts). */
export const RANKED_ENGINE_MAIN = fileURLToPath(new URL("./ranked-engine-main.js", import.meta.url));

/**
 * The libuv pool size engines start with: their heart's proxy holds one pool thread for the
 * engine's life, so user code keeps Node's usual four. It must be in the environment the process
 * starts with (Node's module loader already uses the pool before any of our code runs).
 */
export const ENGINE_THREADPOOL_SIZE = "5";

/**
 * Set in the environment of engines a launcher starts on the controller's host, whose processes
 * the controller signals by pid itself (see Launcher.startedHere); any other engine starts a
 * signal thread of its own.
 */
export const SIGNALLED_BY_PID = "TSPARALLEL_SIGNALLED_BY_PID";

/**
 * The environment an engine gets: this one without the cluster key (engines read it from the
 * file), with {@link ENGINE_THREADPOOL_SIZE} unless the user set a pool size, and huge pages for
 * large arrays ({@link withHugePages}).
 */
export function engineEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.TSPARALLEL_KEY;
  env.UV_THREADPOOL_SIZE ??= ENGINE_THREADPOOL_SIZE;
  const tunables = withHugePages(env);
  if (tunables) env.GLIBC_TUNABLES = tunables;
  return env;
}

/** util-linux's setpriv, when this host has it (every Debian and Ubuntu does). */
const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));

/**
 * The command that runs `command args` as a process the kernel sends SIGKILL when this process
 * dies (Linux's parent-death signal, set by setpriv, which then execs the command: same pid). An
 * engine exits by itself when its controller goes, but not while it is stuck in synchronous code;
 * the kernel's signal needs no thread in the engine. Without setpriv, the command as it is.
 */
function withParentDeathSignal(command: string, args: string[]): [string, string[]] {
  return SETPRIV ? [SETPRIV, ["--pdeathsig", "SIGKILL", "--", command, ...args]] : [command, args];
}

/** Starts engines as child processes of this process (`process.execPath dist/engines/engine/main.js <file>`). */
export class LocalLauncher implements Launcher {
  readonly kind = "local";
  readonly #children = new Map<number, { child: ChildProcess; exited: Promise<void> }>();
  readonly #host = hostname();

  constructor(private readonly ctx: Pick<LauncherContext, "connectionFile" | "onExit">) {}

  async start(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const [command, args] = withParentDeathSignal(process.execPath, [ENGINE_MAIN, this.ctx.connectionFile]);
      const child = spawn(command, args, {
        stdio: ["ignore", "inherit", "inherit"],
        env: engineEnv({ [SIGNALLED_BY_PID]: "1" }),
      });
      const pid = child.pid;
      if (pid === undefined) throw new Error(`could not start an engine with ${process.execPath}`);
      const exited = new Promise<void>((resolve) => {
        child.once("exit", (code, signal) => {
          this.#children.delete(pid);
          this.ctx.onExit({ pid, hostname: this.#host }, code, signal);
          resolve();
        });
      });
      this.#children.set(pid, { child, exited });
    }
  }

  running(): number {
    return this.#children.size;
  }

  refusal(_action: LauncherAction): string | undefined {
    return undefined;
  }

  startedHere(engine: EngineLocation): boolean {
    return engine.hostname === this.#host && this.#children.has(engine.pid);
  }

  release(engine: EngineLocation): void {
    if (engine.hostname === this.#host) this.#children.get(engine.pid)?.child.kill("SIGTERM");
  }

  async stopAll(graceMs = 2000): Promise<void> {
    const all = [...this.#children.values()];
    for (const e of all) e.child.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const e of this.#children.values()) e.child.kill("SIGKILL");
    }, graceMs);
    await Promise.all(all.map((e) => e.exited));
    clearTimeout(timer);
  }

  describe(): string {
    return `local: ${this.#children.size} engine processes`;
  }
}
