import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { runClusterCommand } from "../../../engines/cli/cluster-command.js";
import { Cluster, type ClusterOptions, LauncherError } from "../../../engines/index.js";
import { listConnectionFiles } from "../../../engines/wire/protocol/connection-file.js";
import { useTempClusterDir } from "../cluster-fixture.js";

const clusters = useTempClusterDir();
const emptyBin = mkdtempSync(join(tmpdir(), "tsp-empty-path-"));
after(() => {
  clusters.cleanup();
  rmSync(emptyBin, { recursive: true, force: true });
});

/** Asserts that launching rejects with a LauncherError whose message matches every pattern. */
async function refused(opts: ClusterOptions, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(Cluster.launch({ timeout: 20_000, ...opts }), (e: Error) => {
    assert.ok(e instanceof LauncherError, `${e.name}: ${e.message}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

/** Runs `fn` with $PATH pointing at an empty folder, so no sbatch, mpiexec or ssh can be found. */
async function withoutPath<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = emptyBin;
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

test("an unknown launcher, missing ssh hosts and misplaced options are refused before anything starts", async () => {
  await refused(
    { launcher: "bogus" } as unknown as ClusterOptions,
    /unknown launcher "bogus": use one of local, ssh, slurm, mpi/,
  );
  await refused({ launcher: "ssh" } as unknown as ClusterOptions, /the ssh launcher needs hosts/, /--hosts/);
  await refused({ launcher: "ssh", hosts: [] }, /the ssh launcher needs hosts/);
  await refused({ launcher: "ssh", hosts: ["bad host name"] }, /cannot read ssh host "bad host name"/);
  await refused({ launcher: "ssh", hosts: ["node1:99999"] }, /ssh port of "node1:99999" must be 1-65535/);
  await refused(
    { launcher: "mpi", hosts: ["node1"] } as unknown as ClusterOptions,
    /hosts is an option of the ssh launcher, not of mpi/,
  );
  await refused(
    { launcher: "slurm", sbatchArgs: "--qos=debug" } as unknown as ClusterOptions,
    /option sbatchArgs of the slurm launcher must be an array of strings/,
  );
  assert.deepEqual(listConnectionFiles(), [], "nothing was started");
});

test("sbatch and mpiexec that are not installed are named, with what to install", async () => {
  await withoutPath(async () => {
    await refused(
      { n: 1, launcher: "slurm" },
      /sbatch was not found on PATH/,
      /apt-get install slurm-client/,
    );
    await refused({ n: 1, launcher: "mpi" }, /mpiexec was not found on PATH/, /apt-get install openmpi-bin/);
    await refused(
      { n: 1, launcher: "ssh", hosts: ["node1"] },
      /ssh was not found on PATH/,
      /apt-get install openssh-client/,
    );
  });
  await refused(
    { n: 1, launcher: "mpi", mpiexec: "/nonexistent/mpiexec" },
    /\/nonexistent\/mpiexec was not found: .*mpiexec: "\/path\/to\/mpiexec"/,
  );
  assert.deepEqual(
    listConnectionFiles(),
    [],
    "a controller that could not start its engines removed its file",
  );
});

test("tsparallel cluster start reports launcher mistakes with exit code 1", async () => {
  const lines: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => {
    lines.push(s);
    return true;
  }) as typeof process.stderr.write;
  try {
    assert.equal(await runClusterCommand(["start", "--name", "x", "--launcher", "ssh"]), 1);
    assert.equal(await runClusterCommand(["start", "--name", "x", "--launcher", "pbs"]), 1);
    assert.equal(await runClusterCommand(["start", "--name", "x", "--launcher", "mpi", "--hosts", "a"]), 1);
  } finally {
    process.stderr.write = write;
  }
  assert.match(lines[0]!, /^tsparallel cluster start: the ssh launcher needs hosts/);
  assert.match(lines[1]!, /unknown launcher "pbs": use one of local, ssh, slurm, mpi/);
  assert.match(lines[2]!, /hosts is an option of the ssh launcher, not of mpi/);
});
