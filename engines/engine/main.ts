/**
 * Engine entry point: `node dist/engines/engine/main.js <connection-file>`.
 * The launcher spawns it with `process.execPath`; it exits when the controller goes away.
 */
import process from "node:process";
import { readConnectionFile } from "../wire/connection-file.js";
import { Engine } from "./engine.js";

// The heart's proxy holds one libuv pool thread for the engine's life: keep four for user code.
process.env.UV_THREADPOOL_SIZE ??= "5";

const file = process.argv[2] ?? process.env.TSPARALLEL_CONNECTION_FILE;
if (!file) {
  process.stderr.write("usage: engine/main.js <connection-file> (or set TSPARALLEL_CONNECTION_FILE)\n");
  process.exit(2);
}
try {
  const wanted = process.env.TSPARALLEL_ENGINE_ID;
  const engine = new Engine(readConnectionFile(file), wanted ? Number(wanted) : undefined);
  process.on("SIGTERM", () => engine.exit(0, "SIGTERM"));
  await engine.start();
} catch (e) {
  process.stderr.write(`[tsparallel engine] ${(e as Error).message}\n`);
  process.exit(1);
}
