/**
 * Hundreds of engines starting at once on one host: every one registers (none gives up waiting
 * for the controller's answer), each gets its own id, a call reaches all of them, and stopping the
 * cluster leaves no engine behind. An idle engine takes ~50 MB, so 256 of them need ~13 GiB; the
 * test says so and skips on a machine with less memory available.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { freemem } from "node:os";
import { after, test } from "node:test";
import { startTestCluster, stopTestClusters, until } from "../cluster-fixture.js";

after(() => stopTestClusters());

const ENGINES = 256;
const NEEDED_GIB = 16;

/** Engine processes of the cluster whose connection file is `file`, by pid. */
function enginePids(file: string): number[] {
  try {
    return execFileSync("pgrep", ["-f", `engine/main.js ${file}`], { encoding: "utf8" })
      .trim()
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

test(`${ENGINES} engines started at once all register, each once, and all stop with the cluster`, {
  timeout: 300_000,
  skip:
    freemem() < NEEDED_GIB * 2 ** 30
      ? `${ENGINES} engines need ~${NEEDED_GIB} GiB of free memory; ${(freemem() / 2 ** 30).toFixed(1)} GiB are free`
      : false,
}, async () => {
  const cluster = await startTestCluster({ n: ENGINES, timeout: 240_000 });
  const rc = cluster.client!;
  assert.equal(rc.ids.length, ENGINES);
  assert.deepEqual(
    rc.ids,
    Array.from({ length: ENGINES }, (_, i) => i),
    "ids 0…255, none given twice (a repeated registration is answered, not added)",
  );
  const pids = (await rc.view().apply(() => process.pid)) as number[];
  assert.equal(new Set(pids).size, ENGINES, "every engine answers, from its own process");
  assert.equal(
    Object.keys((await rc.queueStatus()).engines).length,
    ENGINES,
    "the controller lists each once",
  );
  const file = cluster.file;
  assert.equal(enginePids(file).length, ENGINES);
  await cluster.stop();
  assert.ok(await until(() => enginePids(file).length === 0, 30_000), "no engine outlives its cluster");
});
