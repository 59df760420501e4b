/**
 * Engine entry point: `node dist/engines/engine/main.js <connection-file>`.
 * The launcher spawns it with `process.execPath`; it exits when the controller goes away.
 */
import process from "node:process";
import { readConnectionFile } from "../wire/protocol/connection-file.js";
import { Engine } from "./engine.js";

const file = process.argv[2] ?? process.env.TSPARALLEL_CONNECTION_FILE;
if (!file) {
  process.stderr.write("usage: engine/main.js <connection-file> (or set TSPARALLEL_CONNECTION_FILE)\n");
  process.exit(2);
}
let engine: Engine | undefined;
try {
  const wanted = process.env.TSPARALLEL_ENGINE_ID;
  engine = new Engine(readConnectionFile(file), wanted ? Number(wanted) : undefined);
  const running = engine;
  process.on("SIGTERM", () => running.exit(0, "SIGTERM"));
  await engine.start();
} catch (e) {
  const why = (e as Error).message;
  // Once started, the engine must stop its heart before the process ends (exit() does).
  if (engine) engine.exit(1, why);
  else {
    process.stderr.write(`[tsparallel engine] ${why}\n`);
    process.exit(1);
  }
}
