import { execFile } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { promisify } from "node:util";
import { findCommand } from "./find-command.js";
import {
  type EngineLocation,
  type Launcher,
  type LauncherAction,
  type LauncherContext,
  LauncherError,
} from "./launcher.js";
import { engineEnv, RANKED_ENGINE_MAIN } from "./local-launcher.js";
import { shellJoin, shellQuote } from "./shell-words.js";

const run = promisify(execFile);

/** Options of the Slurm launcher. */
export interface SlurmLauncherOptions {
  /** `--partition` of the job. */
  partition?: string;
  /** `--time` limit of the job (`30`, `1:00:00`, `1-0`). */
  time?: string;
  /** `--account` to charge. */
  account?: string;
  /** More sbatch options, as words: `["--qos=debug", "--mem-per-cpu=2G", "--overcommit"]`. */
  sbatchArgs?: string[];
  /** Options of the `srun` that starts the engines inside the job. */
  srunArgs?: string[];
  /** The node executable on the compute nodes (default: this one's path, i.e. a shared install). */
  node?: string;
  /**
   * Splits every start into this many jobs of (nearly) equal size, submitted as a job array
   * (`sbatch --array`): `n: 256, jobs: 4` runs 4 jobs of 64 engines each. Smaller jobs can start
   * on nodes, and in backfill windows, that one large job would wait for, and engines of the
   * jobs that start first register while the others queue. When `jobs` does not divide the
   * count, a second array takes the jobs with one engine less. Default 1: one job.
   */
  jobs?: number;
}

/** One submitted job, or one job array of equal jobs. */
interface SlurmJob {
  /** The job id (of a job array: its array id, which scancel and squeue take for all of it). */
  id: string;
  /** Jobs in the array (1: a plain job). */
  jobs: number;
  engines: number;
  /** Its engines the controller has let go. */
  released: number;
  script: string;
  log: string;
}

/**
 * `n` engines in `jobs` jobs of nearly equal size: one or two groups of equal jobs (those with
 * one engine more first), each group one submission. Never more jobs than engines.
 */
export function slurmJobGroups(n: number, jobs = 1): { jobs: number; tasks: number }[] {
  const k = Math.max(1, Math.min(jobs, n));
  const small = Math.floor(n / k);
  const large = n % k;
  return [
    ...(large ? [{ jobs: large, tasks: small + 1 }] : []),
    ...(k - large ? [{ jobs: k - large, tasks: small }] : []),
  ];
}

/** Job states after which nothing of a job runs any more. */
const FINISHED = /^(COMPLETED|CANCELLED|FAILED|TIMEOUT|NODE_FAIL|PREEMPTED|BOOT_FAIL|DEADLINE|OUT_OF_MEMORY)/;

/**
 * Starts engines as the tasks of a Slurm batch job: `sbatch` runs a script whose one line is
 * `srun node ranked-engine-main.js <connection file>`, so each engine is one task with its
 * `SLURM_PROCID` as the global `rank`. With `jobs`, a start is a job array of that many such
 * jobs, each ranking its own engines. The job script and log sit next to the connection file,
 * which compute nodes must see (a shared home or project folder, as on any Slurm cluster).
 *
 * Adding engines submits another job; stopping is `scancel`. A job's tasks cannot be replaced one
 * at a time, so restarting a single engine is refused.
 */
export class SlurmLauncher implements Launcher {
  readonly kind = "slurm";
  readonly #jobs: SlurmJob[] = [];
  /** Submissions so far (names each one's script). */
  #submitted = 0;

  constructor(
    private readonly ctx: LauncherContext,
    private readonly opts: SlurmLauncherOptions = {},
  ) {}

  /** The ids of the jobs (and job arrays) this launcher submitted and still counts, oldest first. */
  get jobIds(): string[] {
    return this.#jobs.map((j) => j.id);
  }

  async start(n: number): Promise<void> {
    if (n === 0) return;
    const sbatch = findCommand("sbatch");
    if (!sbatch)
      throw new LauncherError(
        "sbatch was not found on PATH: the Slurm launcher submits the engines as a batch job. Run this on a Slurm login node, load Slurm (module load slurm), or install the client (Debian/Ubuntu: apt-get install slurm-client)",
      );
    for (const group of slurmJobGroups(n, this.opts.jobs))
      await this.#submit(sbatch, group.jobs, group.tasks);
  }

  /** Submits one job of `tasks` engines, or a job array of `jobs` such jobs. */
  async #submit(sbatch: string, jobs: number, tasks: number): Promise<void> {
    const dir = dirname(this.ctx.connectionFile);
    const stem = join(dir, `${this.ctx.clusterName}.slurm-${this.#submitted + 1}`);
    const script = `${stem}.sh`;
    // An array's jobs each have their own id (%j); %A_%a is the array's id and the job's index.
    const log = jobs > 1 ? `${stem}-%A_%a.log` : `${stem}-%j.log`;
    writeFileSync(script, this.#script(tasks, log, jobs), { mode: 0o700 });
    chmodSync(script, 0o700);
    const args = ["--parsable", ...(this.opts.sbatchArgs ?? []), script];
    let stdout: string;
    try {
      ({ stdout } = await run(sbatch, args, { env: engineEnv(), timeout: 60_000 }));
    } catch (e) {
      const err = e as Error & { stderr?: string; code?: number | string };
      throw new LauncherError(
        `sbatch refused the job (${typeof err.code === "number" ? `exit code ${err.code}` : err.message}): ${(err.stderr ?? "").trim() || err.message}\nThe script is ${script}; check the partition, account and time limit (--partition, --account, --time) and the extra sbatch arguments.`,
      );
    }
    this.#submitted++;
    // --parsable prints "jobid" or "jobid;cluster".
    const id = /^(\d+)/.exec(stdout.trim())?.[1];
    if (!id) throw new LauncherError(`sbatch printed no job id (it said: "${stdout.trim()}")`);
    const job: SlurmJob = {
      id,
      jobs,
      engines: jobs * tasks,
      released: 0,
      script,
      log: log.replace("%j", id).replace("%A", id),
    };
    this.#jobs.push(job);
    this.ctx.log(
      jobs > 1
        ? `submitted Slurm job array ${id} of ${jobs} jobs with ${tasks} engines each (script ${script}, logs ${job.log})`
        : `submitted Slurm job ${id} with ${tasks} engines (script ${script}, log ${job.log})`,
    );
  }

  #script(n: number, log: string, jobs: number): string {
    const o = this.opts;
    const directive = (option: string, value: string | undefined) =>
      value === undefined ? [] : [`#SBATCH ${option}=${shellQuote(value)}`];
    const srun = shellJoin([
      "srun",
      ...(o.srunArgs ?? []),
      o.node ?? process.execPath,
      RANKED_ENGINE_MAIN,
      this.ctx.connectionFile,
    ]);
    return [
      "#!/bin/sh",
      ...directive("--job-name", `tsparallel-${this.ctx.clusterName}`),
      ...directive("--ntasks", String(n)),
      ...directive("--array", jobs > 1 ? `0-${jobs - 1}` : undefined),
      ...directive("--output", log),
      ...directive("--partition", o.partition),
      ...directive("--time", o.time),
      ...directive("--account", o.account),
      "# Written by tsparallel's Slurm launcher: one engine per task.",
      `exec ${srun}`,
      "",
    ].join("\n");
  }

  running(): number {
    return this.#jobs.reduce((sum, j) => sum + j.engines - j.released, 0);
  }

  refusal(action: LauncherAction): string | undefined {
    if (action !== "restart") return undefined;
    return `engines started by Slurm are the tasks of job ${this.jobIds.join(", ") || "(none)"}, and a job's tasks cannot be restarted one by one. Use scale(n) to add engines (in a new job) or remove some, or restart the whole cluster`;
  }

  startedHere(_engine: EngineLocation): boolean {
    return false; // srun's tasks run on the job's nodes and report nothing per task
  }

  release(_engine: EngineLocation): void {
    // Which job an engine belongs to is not known here (engines report pid and host only): the
    // count is what matters. Scaling down lets the newest engines go, so count it against the
    // newest job; jobs whose every engine is gone are forgotten.
    const job = this.#jobs.findLast((j) => j.released < j.engines);
    if (job) job.released++;
    for (let i = this.#jobs.length - 1; i >= 0; i--)
      if (this.#jobs[i]!.released >= this.#jobs[i]!.engines) this.#jobs.splice(i, 1);
  }

  async stopAll(graceMs = 2000): Promise<void> {
    const ids = this.jobIds;
    if (ids.length === 0) return;
    const scancel = findCommand("scancel");
    if (!scancel) {
      this.ctx.log(`scancel was not found on PATH: cancel job(s) ${ids.join(", ")} by hand`);
      return;
    }
    // Engines were already asked to exit; scancel ends whatever is left of the jobs.
    await run(scancel, ids, { timeout: 30_000 }).catch((e: Error & { stderr?: string }) => {
      this.ctx.log(`scancel ${ids.join(" ")}: ${(e.stderr ?? e.message).trim()}`);
    });
    const deadline = Date.now() + graceMs + 3000;
    while (Date.now() < deadline && (await this.#unfinished(ids)).length > 0)
      await new Promise((r) => setTimeout(r, 200));
    this.#jobs.length = 0;
  }

  /** Which of `ids` squeue still shows as pending or running. */
  async #unfinished(ids: string[]): Promise<string[]> {
    const squeue = findCommand("squeue");
    if (!squeue) return [];
    try {
      const { stdout } = await run(squeue, ["-h", "-j", ids.join(","), "-o", "%i %T"], { timeout: 10_000 });
      return stdout
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .filter(([id, state]) => id && state && !FINISHED.test(state))
        .map(([id]) => id!);
    } catch {
      return []; // "Invalid job id specified": it has left the queue
    }
  }

  describe(): string {
    if (this.#jobs.length === 0) return "slurm: no jobs";
    const one = (j: SlurmJob) =>
      j.jobs > 1
        ? `${j.id}_[0-${j.jobs - 1}] (${j.engines - j.released} engines)`
        : `${j.id} (${j.engines - j.released} engines)`;
    const jobs = this.#jobs.reduce((sum, j) => sum + j.jobs, 0);
    return `Slurm job${jobs > 1 ? "s" : ""} ${this.#jobs.map(one).join(", ")}`;
  }
}
