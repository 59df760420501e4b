import { hostname } from "node:os";
import type { Launcher } from "../launchers/launcher.js";
import { hostIdentity } from "../store/host-identity.js";
import {
  type ContentByType,
  ENGINE_SIGNALS,
  type EngineId,
  type EngineInfo,
} from "../wire/protocol/messages.js";
import type { SignedSocket } from "../wire/transport/signed-socket.js";
import { ControllerError } from "./controller-error.js";
import type { EngineRecord, EngineRegistry } from "./engine-registry.js";
import type { TaskRouting } from "./task-routing.js";

/** Signals that end an engine: a paused one is continued after them, or it would not act on them. */
const STOPPING_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(["SIGTERM", "SIGHUP", "SIGQUIT"]);

/** What engine control tells the rest of the controller. */
export interface EngineEvents {
  added(rec: EngineRecord): void;
  removed(rec: EngineRecord, reason: string): void;
}

/**
 * The engines' lifecycle as the controller runs it: registration, death (however it is noticed),
 * and the control requests clients make of engines (signal, scale, restart, shut down), each
 * refused with a {@link ControllerError} when it cannot be done.
 */
export class EngineControl {
  /** Engines (host:pid) removed from the registry whose processes have not exited yet. */
  readonly #leaving = new Set<string>();
  readonly #registrationWaiters: (() => void)[] = [];
  /** Engines a client asked to shut down: their exits are departures, not deaths. */
  readonly #asked = new Set<EngineRecord>();
  #stopping = false;
  launcher: Launcher | undefined;
  /**
   * How many more dead engines may be replaced (see ControllerOptions.respawn). A death that was
   * asked for (stop, scale, restart) or a clean exit is no death and uses none of it.
   */
  respawnsLeft = 0;
  /** Dead engines replaced so far. */
  respawned = 0;

  constructor(
    private readonly registry: EngineRegistry,
    private readonly engines: SignedSocket,
    private readonly hearts: SignedSocket,
    private readonly tasks: TaskRouting,
    private readonly events: EngineEvents,
  ) {}

  /**
   * Registers an engine; returns its record. Call {@link joined} once the engine has been told
   * its id: until then nothing may be sent to it.
   */
  register(req: ContentByType["registration_request"]): EngineRecord {
    return this.registry.register(req);
  }

  /**
   * Why a registration from routing id `identity` is refused, or undefined to accept it. A pid and
   * host that a live engine has already registered are refused: whatever sent it cannot be that
   * process, and must not make the controller take it for that process later.
   */
  refusal(req: ContentByType["registration_request"], identity: Buffer): string | undefined {
    if (identity.toString() !== req.uuid) return "routing id and uuid differ";
    if (!Number.isSafeInteger(req.pid) || typeof req.hostname !== "string")
      return "the registration names no pid and host";
    const claimed = this.registry.byPid(req.pid);
    if (claimed && claimed.info.hostname === req.hostname && claimed.info.uuid !== req.uuid)
      return `pid ${req.pid} on ${req.hostname} is engine ${claimed.info.id}'s`;
    return undefined;
  }

  /**
   * True when the controller may signal `rec`'s process by pid: its launcher started that process
   * on this host, and the engine's host identity, when it sent one, is this host's. Never any
   * other process, whatever pid an engine claims.
   */
  #ownProcess(rec: EngineRecord): boolean {
    if (!this.launcher?.startedHere(rec.info)) return false;
    const here = hostIdentity();
    return !rec.info.host_id || !here || rec.info.host_id === here;
  }

  /** A registered engine knows its id: clients hear of it, and the scheduler may use it. */
  joined(rec: EngineRecord): void {
    this.events.added(rec);
    this.tasks.scheduler.pump();
    for (const w of this.#registrationWaiters.splice(0)) w();
  }

  /**
   * An engine is gone (heartbeat lost, process exited, unregistered, stopped): forget it and its
   * tasks. `planned`: it left because it was asked to (scaled down, restarted, shut down) or
   * exited cleanly, which is no death to report. `leaving`: it said it is exiting on its own, so it
   * is not killed; a hung process the launcher started here is.
   */
  died(rec: EngineRecord, reason: string, opts: { planned?: boolean; leaving?: boolean } = {}): void {
    if (!this.registry.remove(rec.info.id)) return;
    this.#asked.delete(rec);
    if (!opts.planned && this.#respawn())
      reason += `; a replacement is starting (${this.respawnsLeft} more allowed)`;
    if (!opts.planned)
      process.stderr.write(`[tsparallel controller] engine ${rec.info.id} is dead: ${reason}\n`);
    this.tasks.engineLost(rec, reason);
    this.events.removed(rec, reason);
    // A hung engine (stopped, or its heart gone) ignores SIGTERM: only a process the launcher
    // started here is killed; others are the launcher's to stop (release), or not ours at all.
    if (!opts.leaving && this.#ownProcess(rec)) {
      try {
        process.kill(rec.info.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    this.launcher?.release(rec.info);
    this.#leaving.add(`${rec.info.hostname}:${rec.info.pid}`);
  }

  /**
   * A registered engine said it is exiting (`unregistration_request`): a departure, not a death,
   * when a client asked for it or the engine exits cleanly (`code` 0).
   */
  left(rec: EngineRecord, reason: string, code: number): void {
    const asked = this.#asked.has(rec);
    this.died(rec, asked ? "shut down" : `it left: ${reason}`, {
      planned: asked || code === 0,
      leaving: true,
    });
  }

  /**
   * Starts a replacement for an engine that died, if the budget and the launcher allow; true when
   * one is starting. It registers as a new engine (a new id, an empty namespace).
   */
  #respawn(): boolean {
    const launcher = this.launcher;
    if (this.#stopping || this.respawnsLeft <= 0 || !launcher || launcher.refusal("add")) return false;
    this.respawnsLeft--;
    this.respawned++;
    launcher.start(1).catch((e: Error) => {
      process.stderr.write(`[tsparallel controller] could not start a replacement engine: ${e.message}\n`);
    });
    return true;
  }

  /** The launcher saw an engine process exit. */
  exited(where: { pid: number; hostname: string }, code: number | null, signal: NodeJS.Signals | null): void {
    const rec = this.registry
      .alive()
      .find((r) => r.info.pid === where.pid && r.info.hostname === where.hostname);
    if (rec && !this.#stopping) {
      if (this.#asked.has(rec)) this.died(rec, "shut down", { planned: true });
      else
        this.died(rec, signal ? `killed by ${signal}` : `exited with code ${code}`, { planned: code === 0 });
    }
    this.#leaving.delete(`${where.hostname}:${where.pid}`);
  }

  /** Sends `signal` to engines `targets`; returns the ids signalled. */
  signal(targets: readonly EngineId[], signal: NodeJS.Signals): EngineId[] {
    const missing = targets.filter((id) => !this.registry.get(id));
    if (missing.length)
      throw new ControllerError(
        "INVALID_TARGET",
        `engine ${missing.join(", ")} does not exist (ids: ${this.tasks.ids()})`,
      );
    if (!ENGINE_SIGNALS.includes(signal))
      throw new ControllerError(
        "INVALID_SIGNAL",
        `cannot send "${signal}": choose one of ${ENGINE_SIGNALS.join(", ")}`,
      );
    const signalled: EngineId[] = [];
    for (const id of targets) {
      const rec = this.registry.get(id)!;
      if (!this.#ownProcess(rec)) {
        if (signal === "SIGSTOP")
          throw new ControllerError(
            "SIGNAL_FAILED",
            `engine ${id} (pid ${rec.info.pid} on ${rec.info.hostname}) is signalled by its own signal thread, which stops with it and could not resume it: pause the process there (kill -STOP), or interrupt it (SIGINT) instead`,
          );
        // Another host (or a process this cluster did not start here): the engine's signal
        // thread signals its own process. It answers even while the engine runs a long task; a
        // stopped process cannot, so SIGCONT cannot.
        if (!rec.signals)
          throw new ControllerError(
            "SIGNAL_FAILED",
            rec.info.hostname === hostname()
              ? `engine ${id} (pid ${rec.info.pid}) was not started by this cluster's launcher on this host, and the controller signals no process it did not start: signal it yourself if it is yours`
              : `engine ${id} runs on ${rec.info.hostname} without a signal thread; signal its process ${rec.info.pid} there`,
          );
        void this.hearts.send("signal_request", { targets: [id], signal }, { identities: [rec.signals] });
        signalled.push(id);
        continue;
      }
      try {
        process.kill(rec.info.pid, signal);
        signalled.push(id);
      } catch (e) {
        throw new ControllerError("SIGNAL_FAILED", `could not signal engine ${id}: ${(e as Error).message}`);
      }
      this.#paused(rec, signal);
    }
    return signalled;
  }

  /**
   * Keeps track of engines paused on purpose: a stopped process cannot echo heartbeats, and must
   * not be declared dead for it (see HeartbeatMonitor), nor be given new load-balanced tasks.
   */
  #paused(rec: EngineRecord, signal: NodeJS.Signals): void {
    if (signal === "SIGSTOP") rec.paused = true;
    else if (signal === "SIGCONT" && rec.paused) {
      rec.paused = false;
      rec.lastPong = Date.now(); // its echoes resume now; the pause was not silence
      this.tasks.scheduler.pump();
    } else if (rec.paused && STOPPING_SIGNALS.has(signal)) {
      // A stopped process acts on these only once continued: let it, so that it stops.
      try {
        process.kill(rec.info.pid, "SIGCONT");
      } catch {
        // gone already: the launcher reports its exit
      }
      rec.paused = false;
      rec.lastPong = Date.now();
    }
  }

  /** Asks engines to exit (`all`, or the ids given); they leave on their own, as planned. */
  shutdown(targets: readonly EngineId[] | "all"): void {
    const recs =
      targets === "all"
        ? this.registry.alive()
        : targets.map((id) => this.registry.get(id)).filter((r) => r !== undefined);
    for (const r of recs) {
      this.#asked.add(r);
      this.#askToExit(r);
    }
  }

  /** Resolves when `n` engines are registered (or rejects after `timeoutMs`). */
  async waitForEngines(n: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.registry.alive().length < n) {
      if (Date.now() > deadline)
        throw new ControllerError(
          "ENGINES_LATE",
          `only ${this.registry.alive().length} of ${n} engines registered within ${timeoutMs} ms`,
        );
      await new Promise<void>((resolve) => {
        this.#registrationWaiters.push(resolve);
        setTimeout(resolve, 200).unref();
      });
    }
  }

  /** Starts or stops engines until `n` are alive; resolves with the count. */
  async scale(n: number): Promise<number> {
    if (!Number.isInteger(n) || n < 0)
      throw new ControllerError(
        "INVALID_ENGINE_COUNT",
        `cannot scale to ${n} engines: give a whole number ≥ 0`,
      );
    const launcher = this.#launcher();
    const alive = this.registry.alive();
    if (n > alive.length) {
      this.#refuseIf(launcher.refusal("add"));
      // Started and not registered yet; engines told to go still run for a moment: not pending.
      const pending = launcher.running() - alive.length - this.#leaving.size;
      const missing = n - alive.length - Math.max(0, pending);
      if (missing > 0) await launcher.start(missing);
      await this.waitForEngines(n);
    } else {
      const extra = alive.slice(n).reverse();
      if (extra.length) this.#refuseIf(launcher.refusal("remove"));
      for (const rec of extra) this.#stop(rec, "scaled down");
    }
    return this.registry.alive().length;
  }

  /** Replaces engine `id` with a fresh one (new id; the old one's tasks fail with EngineError). */
  async restart(id: EngineId): Promise<void> {
    const rec = this.registry.get(id);
    if (!rec)
      throw new ControllerError("INVALID_TARGET", `engine ${id} does not exist (ids: ${this.tasks.ids()})`);
    const launcher = this.#launcher();
    this.#refuseIf(launcher.refusal("restart"));
    const target = this.registry.alive().length;
    this.#stop(rec, "restarted");
    await launcher.start(1);
    await this.waitForEngines(target);
  }

  /** The controller is stopping: engines are asked to exit and their exits are not deaths. */
  async stopAll(): Promise<void> {
    this.#stopping = true;
    for (const r of this.registry.alive()) this.#askToExit(r);
    await this.launcher?.stopAll(1500);
  }

  #launcher(): Launcher {
    if (!this.launcher) throw new ControllerError("LAUNCHER_REFUSED", "the controller has no launcher yet");
    return this.launcher;
  }

  #refuseIf(refusal: string | undefined): void {
    if (refusal) throw new ControllerError("LAUNCHER_REFUSED", refusal);
  }

  #stop(rec: EngineRecord, reason: string): void {
    // Signals reach only engines on this host: ask every engine to exit, wherever it runs.
    this.#askToExit(rec);
    this.died(rec, reason, { planned: true });
  }

  #askToExit(rec: EngineRecord): void {
    void this.engines.send(
      "shutdown_request",
      { targets: [rec.info.id], hub: false },
      { identities: [rec.identity] },
    );
  }

  /** The engines a client is told about. */
  infos(): EngineInfo[] {
    return this.registry.alive().map((r) => r.info);
  }
}
