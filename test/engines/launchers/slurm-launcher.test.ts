import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { freemem, hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Cluster } from "../../../engines/index.js";
import { LauncherError } from "../../../engines/launchers/launcher.js";
import { useTempClusterDir } from "../cluster-fixture.js";
import { processRunning, runCommand, systemCommand, waitGone } from "./daemon-process.js";
import { slurmMissing, startSlurm, type TestSlurm } from "./slurm-fixture.js";

declare const rank: number;
declare const nranks: number;

const missing = slurmMissing();
const clusters = useTempClusterDir();
const scratch = mkdtempSync(join(tmpdir(), "tsp-slurm-"));
chmodSync(scratch, 0o755); // munged wants every folder on the way to its socket searchable by all
let slurm: TestSlurm | undefined;
/** The job array test: jobs, and engines per job. */
const ARRAY_JOBS = 4;
const PER_JOB = 64;
/** An idle engine takes ~50 MB (test/engines/scale/registration-storm.test.ts). */
const ARRAY_GIB = 13;
const squeue = systemCommand("squeue");

before(async () => {
  if (missing) return;
  // The node claims as many CPUs as the job array below runs engines (config_overrides).
  slurm = await startSlurm(join(scratch, "slurm"), ARRAY_JOBS * PER_JOB);
  // sbatch, squeue and scancel (here and in the controller) find this cluster through it.
  process.env.SLURM_CONF = slurm.conf;
});

after(async () => {
  await slurm?.stop();
  delete process.env.SLURM_CONF;
  rmSync(scratch, { recursive: true, force: true });
  clusters.cleanup();
});

/** The job ids squeue lists (pending or running). */
function queued(): string[] {
  return runCommand(squeue!, ["-h", "-o", "%i"]).split("\n").filter(Boolean);
}

test("sbatch refusing the job is a LauncherError with sbatch's reason", { skip: missing }, async () => {
  await assert.rejects(
    Cluster.launch({ n: 1, launcher: "slurm", partition: "no-such-partition", timeout: 20_000 }),
    (e: Error) => {
      assert.ok(e instanceof LauncherError, `${e.name}: ${e.message}`);
      assert.match(e.message, /sbatch refused the job/);
      assert.match(e.message, /invalid partition/i);
      assert.match(e.message, /check the partition, account and time limit/);
      return true;
    },
  );
});

test("a Slurm job runs the engines as ranks; scale adds a job, restart is refused, stop cancels", {
  skip: missing,
}, async () => {
  const cluster = await Cluster.launch({ n: 2, launcher: "slurm", time: "10", timeout: 60_000 });
  let pids: number[] = [];
  try {
    const client = cluster.client!;
    const job = /Slurm job (\d+)/.exec(cluster.launcher?.description ?? "")?.[1];
    assert.ok(job, `the launcher reports the job id: ${cluster.launcher?.description}`);
    assert.deepEqual(queued(), [job]);
    const seen = await client
      .view()
      .apply(() => [rank, nranks, process.env.SLURM_JOB_ID, require("node:os").hostname(), process.pid]);
    assert.deepEqual(seen.map((r) => r[0]).sort(), [0, 1]);
    for (const [, size, jobId, host] of seen) {
      assert.equal(size, 2);
      assert.equal(jobId, job);
      assert.equal(host, hostname());
    }
    pids = seen.map((r) => r[4] as number);
    // The batch script and its log sit next to the connection file.
    assert.match(
      readFileSync(join(clusters.dir, "clusters", `${cluster.name}.slurm-1.sh`), "utf8"),
      /^exec srun /m,
    );

    await assert.rejects(cluster.restartEngine(client.ids[0]!), /cannot be restarted one by one/);
    assert.equal(await cluster.scale(3), 3);
    const jobs = queued();
    assert.equal(jobs.length, 2, `scale submits a second job: ${jobs}`);
    const third = await client.at(client.ids.at(-1)!).apply(() => [rank, nranks, process.pid]);
    assert.deepEqual(third.slice(0, 2), [0, 1], "the new job's one engine is its rank 0");
    pids.push(third[2] as number);
    assert.equal(await cluster.scale(2), 2);
  } finally {
    await cluster.stop();
  }
  await waitGone(pids);
  assert.deepEqual(queued(), [], "scancel left no job in the queue");
  assert.ok(pids.every((p) => !processRunning(p)));
});

test(`a job array of ${ARRAY_JOBS} × ${PER_JOB} engines: every engine registers and answers an apply to all`, {
  timeout: 180_000,
  skip:
    missing ??
    (freemem() < ARRAY_GIB * 2 ** 30
      ? `${ARRAY_JOBS * PER_JOB} engines need ~${ARRAY_GIB} GiB of free memory; ${(freemem() / 2 ** 30).toFixed(1)} GiB are free`
      : undefined),
}, async () => {
  const n = ARRAY_JOBS * PER_JOB;
  const t0 = Date.now();
  const cluster = await Cluster.launch({
    n,
    launcher: "slurm",
    jobs: ARRAY_JOBS,
    time: "10",
    timeout: 150_000,
  });
  let pids: number[] = [];
  try {
    const client = cluster.client!;
    const up = Date.now() - t0;
    assert.equal(client.ids.length, n);
    const array = new RegExp(`^Slurm jobs (\\d+)_\\[0-${ARRAY_JOBS - 1}\\] \\(${n} engines\\)$`).exec(
      cluster.launcher?.description ?? "",
    )?.[1];
    assert.ok(array, `one job array: ${cluster.launcher?.description}`);
    assert.deepEqual(
      queued().sort(),
      Array.from({ length: ARRAY_JOBS }, (_, i) => `${array}_${i}`),
    );
    const t1 = Date.now();
    const seen = (await client
      .view()
      .apply(() => [
        rank,
        nranks,
        process.env.SLURM_ARRAY_JOB_ID,
        Number(process.env.SLURM_ARRAY_TASK_ID),
        process.pid,
      ])) as [number, number, string, number, number][];
    const applied = Date.now() - t1;
    pids = seen.map((r) => r[4]);
    assert.equal(new Set(pids).size, n, "every engine answers, from its own process");
    for (let job = 0; job < ARRAY_JOBS; job++) {
      const mine = seen.filter((r) => r[3] === job);
      assert.deepEqual(
        mine.map((r) => r[0]).sort((a, b) => a - b),
        Array.from({ length: PER_JOB }, (_, i) => i),
        `job ${job} ranks its own engines`,
      );
      assert.ok(mine.every((r) => r[1] === PER_JOB && r[2] === array));
    }
    const script = readFileSync(join(clusters.dir, "clusters", `${cluster.name}.slurm-1.sh`), "utf8");
    assert.match(script, new RegExp(`^#SBATCH --array=.?0-${ARRAY_JOBS - 1}.?$`, "m"));
    assert.match(script, new RegExp(`^#SBATCH --ntasks=.?${PER_JOB}.?$`, "m"));
    assert.equal(
      readdirSync(join(clusters.dir, "clusters")).filter((f) =>
        f.startsWith(`${cluster.name}.slurm-1-${array}_`),
      ).length,
      ARRAY_JOBS,
      "one log per job",
    );
    process.stderr.write(
      `(${n} Slurm engines in a job array registered ${up} ms after launch; apply to all ${applied} ms)\n`,
    );
  } finally {
    await cluster.stop();
  }
  await waitGone(pids, 30_000);
  assert.deepEqual(queued(), [], "scancel left no job in the queue");
});
