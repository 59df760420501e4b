import { type ChildProcess, spawn } from "node:child_process";
import { hostname } from "node:os";
import process from "node:process";
import { findCommand } from "./find-command.js";
import {
  type EngineLocation,
  type Launcher,
  type LauncherAction,
  type LauncherContext,
  LauncherError,
} from "./launcher.js";
import { engineEnv, RANKED_ENGINE_MAIN, SIGNALLED_BY_PID } from "./local-launcher.js";
import { parseStartedLine } from "./process-rank.js";
import { shellJoin } from "./shell-words.js";

/** Options of the MPI launcher. */
export interface MPILauncherOptions {
  /** The mpiexec to run (default `mpiexec` on $PATH). */
  mpiexec?: string;
  /** Arguments after `-n N`: `--host a:2,b:2`, `--hostfile F`, `-x VAR`, `--mca …`. */
  mpiArgs?: string[];
  /**
   * Allow more ranks than cores (default true: engines mostly wait for work). Set through Open
   * MPI's environment, so MPICH (which oversubscribes anyway) is not handed an unknown flag.
   */
  oversubscribe?: boolean;
  /** The node executable on every host (default: this one's path). */
  node?: string;
}

/** How long to wait for every rank to say it started before giving up. */
const START_TIMEOUT_MS = 30_000;
/** How much of mpiexec's stderr to keep for error messages. */
const KEPT_OUTPUT = 16 * 1024;

/**
 * Starts the engines as the ranks of one `mpiexec -n N` (Open MPI or MPICH). Each engine gets its
 * rank as the globals `rank` and `nranks`. An MPI world is started and ended as one: the cluster
 * cannot grow or lose single engines, and stopping it signals mpiexec, which stops every rank.
 */
export class MPILauncher implements Launcher {
  readonly kind = "mpi";
  #mpiexec: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  #size = 0;
  readonly #ranks = new Map<string, EngineLocation & { rank: number }>();
  readonly #released = new Set<string>();
  #output = "";

  constructor(
    private readonly ctx: LauncherContext,
    private readonly opts: MPILauncherOptions = {},
  ) {}

  async start(n: number): Promise<void> {
    if (n === 0) return;
    const refused = this.refusal("add");
    if (refused) throw new LauncherError(refused);
    const mpiexec = this.opts.mpiexec ?? "mpiexec";
    const found = findCommand(mpiexec);
    if (!found)
      throw new LauncherError(
        `${mpiexec} was not found${mpiexec.includes("/") ? "" : " on PATH"}: the MPI launcher runs the engines with mpiexec. Install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin) or MPICH, load your MPI module (module load openmpi), or give the path with mpiexec: "/path/to/mpiexec" (CLI: --mpiexec PATH)`,
      );
    const args = [
      "-n",
      String(n),
      ...(this.opts.mpiArgs ?? []),
      this.opts.node ?? process.execPath,
      RANKED_ENGINE_MAIN,
      this.ctx.connectionFile,
    ];
    const env = engineEnv({
      // Ranks on this host are signalled by pid; the others run signal threads anyway.
      [SIGNALLED_BY_PID]: "1",
      // Each rank's stdout is a pty under Open MPI: keep Node from colouring what engines print.
      NO_COLOR: "1",
      ...(this.opts.oversubscribe === false ? {} : { OMPI_MCA_rmaps_base_oversubscribe: "1" }),
      // Open MPI refuses to run as root without both; a root CI runner or container is common.
      ...(process.getuid?.() === 0
        ? { OMPI_ALLOW_RUN_AS_ROOT: "1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: "1" }
        : {}),
    });
    this.ctx.log(`starting ${n} engines: ${shellJoin([found, ...args])}`);
    const child = spawn(found, args, { stdio: ["ignore", "inherit", "pipe"], env });
    this.#mpiexec = child;
    this.#size = n;
    let pending = "";
    let onRank = () => {};
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      pending += chunk;
      const lines = pending.split(/\r?\n/);
      pending = lines.pop()!;
      for (const raw of lines) {
        const line = raw.replace(/\r$/, "");
        const started = parseStartedLine(line);
        if (started) {
          this.#ranks.set(key(started), started);
          onRank();
          continue;
        }
        this.#output = (this.#output + line + "\n").slice(-KEPT_OUTPUT);
        process.stderr.write(`${line}\n`);
      }
    });
    this.#exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        this.#mpiexec = undefined;
        for (const r of this.#ranks.values()) {
          if (!this.#released.has(key(r))) this.ctx.onExit(r, code, signal);
        }
        this.#ranks.clear();
        this.#released.clear();
        this.#size = 0;
        resolve();
      });
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        done();
        reject(
          new LauncherError(
            `only ${this.#ranks.size} of ${n} MPI ranks started within ${START_TIMEOUT_MS / 1000} s${this.#tail()}`,
          ),
        );
      }, START_TIMEOUT_MS);
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        done();
        reject(
          new LauncherError(
            `mpiexec ended (${signal ?? `exit code ${code}`}) before its ${n} ranks started${this.#tail()}\nCheck that -n ${n} fits the slots (or leave oversubscribe on), the --host/--hostfile in mpiArgs, and that ${this.opts.node ?? process.execPath} exists on every host.`,
          ),
        );
      };
      const onError = (e: Error) => {
        done();
        reject(new LauncherError(`could not run ${found}: ${e.message}`));
      };
      onRank = () => {
        if (this.#ranks.size < n) return;
        done();
        resolve();
      };
      const done = () => {
        clearTimeout(timer);
        child.off("exit", onExit);
        child.off("error", onError);
        onRank = () => {};
      };
      child.once("exit", onExit);
      child.once("error", onError);
    });
    this.ctx.log(this.describe());
  }

  #tail(): string {
    const lines = this.#output.trimEnd().split("\n").slice(-30).join("\n").trim();
    return lines ? `; mpiexec said:\n${lines}` : "";
  }

  running(): number {
    return this.#mpiexec ? this.#size - this.#released.size : 0;
  }

  refusal(action: LauncherAction): string | undefined {
    if (action === "add")
      return this.#mpiexec
        ? `an MPI world has a fixed size: these ${this.#size} engines were started by one mpiexec and it cannot grow. Stop the cluster and start it again with a larger -n`
        : undefined;
    return `engines started by mpiexec live and end together (stopping one rank makes mpiexec stop them all), so one cannot be ${action === "remove" ? "stopped" : "restarted"} alone. Stop the cluster and start it again with the -n you need`;
  }

  startedHere(engine: EngineLocation): boolean {
    // mpiexec's ranks print their pid and host when they start (see ranked-engine-main.ts).
    return engine.hostname === hostname() && this.#ranks.has(key(engine)) && !this.#released.has(key(engine));
  }

  release(engine: EngineLocation): void {
    if (this.#ranks.has(key(engine))) this.#released.add(key(engine));
  }

  async stopAll(graceMs = 2000): Promise<void> {
    const child = this.#mpiexec;
    if (!child) return;
    const local = [...this.#ranks.values()].filter((r) => r.hostname === hostname());
    // mpiexec passes SIGTERM on to every rank and exits when they have.
    child.kill("SIGTERM");
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      // A SIGKILLed mpiexec cannot stop its ranks: do it for the ones on this host.
      for (const r of local) {
        try {
          process.kill(r.pid, "SIGKILL");
        } catch {
          // gone
        }
      }
    }, graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  describe(): string {
    const pid = this.#mpiexec?.pid;
    if (pid === undefined) return "mpi: no engines running";
    const hosts = [...new Set([...this.#ranks.values()].map((r) => r.hostname))];
    return `mpiexec (pid ${pid}): ${this.#size} ranks on ${hosts.join(", ") || "?"}`;
  }
}

function key(e: EngineLocation): string {
  return `${e.pid}@${e.hostname}`;
}
