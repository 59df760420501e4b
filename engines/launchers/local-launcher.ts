import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { LaunchedEngine, Launcher } from "./launcher.js";

/** The engine entry script next to this file in dist/. */
export const ENGINE_MAIN = fileURLToPath(new URL("../engine/main.js", import.meta.url));

/** Starts engines as child processes of this process (`process.execPath dist/engines/engine/main.js <file>`). */
export class LocalLauncher implements Launcher {
  readonly kind = "local";
  readonly #running = new Map<number, LaunchedEngine>();

  constructor(
    private readonly connectionFile: string,
    private readonly onExit: (
      pid: number,
      code: number | null,
      signal: NodeJS.Signals | null,
    ) => void = () => {},
  ) {}

  start(n: number): LaunchedEngine[] {
    const out: LaunchedEngine[] = [];
    for (let i = 0; i < n; i++) {
      const child: ChildProcess = spawn(process.execPath, [ENGINE_MAIN, this.connectionFile], {
        stdio: ["ignore", "inherit", "inherit"],
        env: { ...process.env, TSPARALLEL_KEY: undefined },
      });
      const pid = child.pid;
      if (pid === undefined) throw new Error(`could not start an engine with ${process.execPath}`);
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        child.once("exit", (code, signal) => {
          this.#running.delete(pid);
          this.onExit(pid, code, signal);
          resolve({ code, signal });
        });
      });
      const engine: LaunchedEngine = { pid, exited, kill: (sig = "SIGTERM") => void child.kill(sig) };
      this.#running.set(pid, engine);
      out.push(engine);
    }
    return out;
  }

  running(): LaunchedEngine[] {
    return [...this.#running.values()];
  }

  async stopAll(graceMs = 2000): Promise<void> {
    const all = this.running();
    for (const e of all) e.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const e of this.running()) e.kill("SIGKILL");
    }, graceMs);
    await Promise.all(all.map((e) => e.exited));
    clearTimeout(timer);
  }
}
