import assert from "node:assert/strict";
import { hostname } from "node:os";
import { after, test } from "node:test";
import { Cluster } from "../../../engines/index.js";
import { needs } from "../../helpers/system-needs.js";
import { useTempClusterDir } from "../cluster-fixture.js";
import { processRunning, systemCommand, waitGone } from "./daemon-process.js";

declare const rank: number;
declare const nranks: number;

const missing = systemCommand("mpiexec") ? undefined : needs("mpi", "mpiexec is not installed");
const clusters = useTempClusterDir();
after(() => clusters.cleanup());

test("mpiexec runs the engines as the ranks of one world; it cannot grow or lose one; stop ends it", {
  skip: missing,
}, async () => {
  // More ranks than this machine's cores: the launcher oversubscribes (and runs as root in CI).
  const cluster = await Cluster.launch({ n: 3, launcher: "mpi", timeout: 30_000 });
  let pids: number[] = [];
  let mpiexec = 0;
  try {
    const client = cluster.client!;
    assert.equal(cluster.launcher?.kind, "mpi");
    mpiexec = Number(/mpiexec \(pid (\d+)\): 3 ranks on (\S+)/.exec(cluster.launcher!.description)?.[1]);
    assert.ok(mpiexec > 0, cluster.launcher!.description);
    const seen = await client
      .view()
      .apply(() => [
        rank,
        nranks,
        process.env.OMPI_COMM_WORLD_RANK ?? process.env.PMI_RANK,
        require("node:os").hostname(),
        process.pid,
      ]);
    assert.deepEqual(client.ids, [0, 1, 2]);
    assert.deepEqual(
      seen.map((r) => r[0]),
      client.ids,
      "engine ids are the MPI ranks",
    );
    for (const [r, size, envRank, host] of seen) {
      assert.equal(size, 3);
      assert.equal(envRank, String(r), "the global rank is MPI's");
      assert.equal(host, hostname());
    }
    pids = seen.map((r) => r[4] as number);
    // Lessons branch on the rank, e.g. to let rank 0 do the I/O.
    await client.view().execute("globalThis.role = rank === 0 ? 'leader' : 'worker'");
    assert.deepEqual((await client.view().get("role")).sort(), ["leader", "worker", "worker"]);

    await assert.rejects(cluster.scale(4), /an MPI world has a fixed size/);
    await assert.rejects(cluster.scale(2), /cannot be stopped alone/);
    await assert.rejects(cluster.restartEngine(client.ids[0]!), /cannot be restarted alone/);
    assert.equal(client.ids.length, 3, "refused changes leave every engine running");
  } finally {
    await cluster.stop();
  }
  await waitGone([...pids, mpiexec]);
  assert.ok(!processRunning(mpiexec));
});
