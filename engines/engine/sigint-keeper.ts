/**
 * Keeps Node's SIGINT watchdog running for the engine's whole life.
 *
 * `vm` code run with `breakOnSigint` stops on SIGINT, but each such run starts and stops a
 * watchdog thread (and juggles SIGINT listeners): ~100–190 µs per task, more than the rest of a
 * tiny task's round trip. Holding the watchdog open keeps that thread alive, so the engine's own
 * runs cost ~5 µs, and an idle engine survives SIGINT (the watchdog owns the signal). The engine
 * needs no `process.on("SIGINT")`, whose handler would replace the watchdog's.
 *
 * The hold uses the same switch Node's REPL uses (`contextify.startSigintWatchdog`). A SIGINT that
 * lands while no `breakOnSigint` run is active only raises a flag there, so while an async task is
 * awaited the keeper polls the flag. Where that switch is missing, a worker thread sits in a
 * `breakOnSigint` run forever instead (costs ~8 MB of memory).
 */
import process from "node:process";
import { clearInterval, setInterval } from "node:timers";
import { Worker } from "node:worker_threads";

/** Node's internal watchdog switches (the REPL's). */
interface WatchdogSwitch {
  startSigintWatchdog(): void;
  stopSigintWatchdog(): boolean;
  watchdogHasPendingSigint(): boolean;
}

/** How often a running async task checks for a SIGINT. */
const POLL_MS = 25;

/** What the engine needs from the keeper. */
export interface SigintKeeper {
  /** Called with true when a task starts awaiting a promise and false when it stops. */
  awaiting(on: boolean): void;
}

const WORKER_SOURCE = `
const vm = require("node:vm");
const { parentPort } = require("node:worker_threads");
const context = vm.createContext({ cell: new Int32Array(new SharedArrayBuffer(4)) });
const wait = new vm.Script("Atomics.wait(cell, 0, 0)");
parentPort.postMessage("armed");
for (;;) {
  try {
    wait.runInContext(context, { breakOnSigint: true });
  } catch {
    parentPort.postMessage("sigint");
  }
}
`;

function watchdogSwitch(): WatchdogSwitch | undefined {
  try {
    const binding = (process as unknown as { binding(name: string): Partial<WatchdogSwitch> }).binding(
      "contextify",
    );
    const { startSigintWatchdog, stopSigintWatchdog, watchdogHasPendingSigint } = binding;
    if (startSigintWatchdog && stopSigintWatchdog && watchdogHasPendingSigint)
      return binding as WatchdogSwitch;
  } catch {
    // not offered by this Node: use the worker
  }
  return undefined;
}

/** Holds the watchdog with Node's switch; polls its flag while a task awaits. */
class HeldWatchdog implements SigintKeeper {
  #poll: NodeJS.Timeout | undefined;

  constructor(
    private readonly sw: WatchdogSwitch,
    private readonly onSigint: () => void,
  ) {
    sw.startSigintWatchdog();
  }

  awaiting(on: boolean): void {
    if (!on) {
      clearInterval(this.#poll);
      this.#poll = undefined;
      return;
    }
    // A SIGINT from while the engine was idle is forgotten: every stop of a nested hold (each
    // `breakOnSigint` run, so each task's first step) clears the flag.
    this.#poll ??= setInterval(() => {
      if (!this.sw.watchdogHasPendingSigint()) return;
      this.sw.startSigintWatchdog();
      this.sw.stopSigintWatchdog();
      this.onSigint();
    }, POLL_MS);
  }
}

/** Keeps the watchdog alive from a worker that sits in a `breakOnSigint` run. */
class WorkerKeeper implements SigintKeeper {
  awaiting(): void {}

  static async start(onSigint: () => void): Promise<WorkerKeeper> {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
    });
    worker.unref();
    await new Promise<void>((resolve, reject) => {
      worker.once("message", () => resolve());
      worker.once("error", reject);
    });
    worker.on("message", (m) => {
      if (m === "sigint") onSigint();
    });
    return new WorkerKeeper();
  }
}

/**
 * Starts keeping the watchdog; `onSigint` runs when a SIGINT arrives while no synchronous task
 * code is running (so an awaited async task can be abandoned).
 */
export async function startSigintKeeper(onSigint: () => void): Promise<SigintKeeper> {
  const sw = watchdogSwitch();
  return sw ? new HeldWatchdog(sw, onSigint) : WorkerKeeper.start(onSigint);
}
