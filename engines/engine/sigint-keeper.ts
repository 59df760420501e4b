/**
 * Keeps Node's SIGINT watchdog running for the engine's whole life.
 *
 * `vm` code run with `breakOnSigint` stops on SIGINT, but each such run starts and stops a
 * watchdog thread (and juggles SIGINT listeners): ~100–190 µs per task, more than the rest of a
 * tiny task's round trip. A worker that sits in a `breakOnSigint` run forever keeps the watchdog
 * thread alive, so the engine's own runs cost ~3 µs. SIGINT goes to the newest run: a running
 * task if there is one, otherwise this keeper, which then tells the main thread (so an awaiting
 * async task is abandoned) and goes back to waiting. The engine needs no `process.on("SIGINT")`,
 * whose handler would replace the watchdog's.
 */
import { Worker } from "node:worker_threads";

const KEEPER_SOURCE = `
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

/** Starts the keeper; `onIdleSigint` runs when a SIGINT arrives while no sync task is running. */
export async function startSigintKeeper(onIdleSigint: () => void): Promise<Worker> {
  const worker = new Worker(KEEPER_SOURCE, {
    eval: true,
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
  });
  worker.unref();
  await new Promise<void>((resolve, reject) => {
    worker.once("message", () => resolve());
    worker.once("error", reject);
  });
  worker.on("message", (m) => {
    if (m === "sigint") onIdleSigint();
  });
  return worker;
}
