/**
 * Engine entry point for engines that a process manager starts as ranks (mpiexec, srun):
 *   node dist/engines/launchers/ranked-engine-main.js <connection-file>
 * It puts the rank into the engine's namespace as the globals `rank` and `nranks`, so `%px` code
 * and functions sent with `view.apply` can use them (`if (rank === 0) …`), asks for the rank as
 * its engine id, says on stderr which process it is, then runs the ordinary engine.
 */
import { hostname } from "node:os";
import process from "node:process";
import { processRank, startedLine } from "./process-rank.js";

const rank = processRank();
if (rank) {
  // Plain assignments: configurable globals, so a user's own `const rank` still compiles.
  const g = globalThis as unknown as Record<string, unknown>;
  g.rank = rank.rank;
  g.nranks = rank.size;
  // Engine id = rank, as MPI users expect (granted unless another engine had that id).
  process.env.TSPARALLEL_ENGINE_ID ??= String(rank.rank);
  process.stderr.write(`${startedLine(rank, process.pid, hostname())}\n`);
}
await import("../engine/main.js");
