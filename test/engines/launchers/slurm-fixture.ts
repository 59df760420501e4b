import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../../helpers/kernel-process.js";
import { needs } from "../../helpers/system-needs.js";
import { type DaemonProcess, runCommand, startDaemon, systemCommand, waitFor } from "./daemon-process.js";

/** A one-node Slurm cluster (munged, slurmctld, slurmd) a test started, with its own config. */
export interface TestSlurm {
  /** Its slurm.conf: set SLURM_CONF to this for sbatch/squeue/scancel to use it. */
  conf: string;
  daemons: DaemonProcess[];
  /** Stops the daemons by pid (slurmd, slurmctld, munged). */
  stop(): Promise<void>;
}

/** What is missing for a Slurm test, or undefined when everything is installed. */
export function slurmMissing(): string | undefined {
  if (process.getuid?.() !== 0) return needs("root", "the test runs slurmd as root (SlurmUser=root)");
  for (const c of ["munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo"])
    if (!systemCommand(c)) return needs("slurm", `${c} is not installed`);
  return undefined;
}

/**
 * Starts munge and Slurm in the foreground, configured under `dir` (whose parents every user must
 * be able to search: munged checks the path to its socket) and isolated from any system
 * installation: munged on its own socket and key, slurmctld/slurmd on free ports with their state
 * in `dir`, no cgroups. The node declares `cpus` CPUs whatever the machine has (config_overrides),
 * so tests can run more engine tasks than there are cores. Resolves when the node is idle.
 */
export async function startSlurm(dir: string, cpus = 8): Promise<TestSlurm> {
  // munged checks that every folder up to its socket can be searched by all, and that its key is private.
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  for (const [sub, mode] of [
    ["munge-key", 0o700],
    ["munge-run", 0o755],
    ["state", 0o700],
    ["spool", 0o755],
    ["log", 0o755],
  ] as const)
    mkdirSync(join(dir, sub), { recursive: true, mode });
  const key = join(dir, "munge-key", "munge.key");
  runCommand(systemCommand("mungekey")!, ["--create", `--keyfile=${key}`]);
  const socket = join(dir, "munge-run", "munge.sock");
  const daemons: DaemonProcess[] = [];
  const stop = async () => {
    for (const d of daemons.splice(0).reverse()) await d.stop();
  };
  try {
    daemons.push(
      startDaemon(
        "munged",
        systemCommand("munged")!,
        [
          "-F",
          `--socket=${socket}`,
          `--key-file=${key}`,
          `--pid-file=${join(dir, "munge-run", "munged.pid")}`,
          `--seed-file=${join(dir, "munge-key", "munged.seed")}`,
          `--log-file=${join(dir, "log", "munged.log")}`,
        ],
        join(dir, "log", "munged.out"),
      ),
    );
    await waitFor("munged's socket", () => existsSync(socket), 10_000);
    const conf = join(dir, "slurm.conf");
    writeFileSync(
      conf,
      [
        "ClusterName=tsptest",
        "SlurmctldHost=localhost",
        `SlurmctldPort=${await freePort()}`,
        `SlurmdPort=${await freePort()}`,
        "SlurmUser=root",
        "AuthType=auth/munge",
        `AuthInfo=socket=${socket}`,
        "CredType=cred/munge",
        "MpiDefault=none",
        // No cgroups: tasks are tracked by parent pid and not bound to cores.
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none",
        "SchedulerType=sched/backfill",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "SlurmdParameters=config_overrides",
        "ReturnToService=2",
        `SlurmctldPidFile=${join(dir, "slurmctld.pid")}`,
        `SlurmdPidFile=${join(dir, "slurmd.pid")}`,
        `StateSaveLocation=${join(dir, "state")}`,
        `SlurmdSpoolDir=${join(dir, "spool")}`,
        `SlurmctldLogFile=${join(dir, "log", "slurmctld.log")}`,
        `SlurmdLogFile=${join(dir, "log", "slurmd.log")}`,
        "InactiveLimit=0",
        "KillWait=5",
        "MinJobAge=300",
        `NodeName=localhost NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=1000 State=UNKNOWN`,
        "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
        "",
      ].join("\n"),
    );
    const env = { ...process.env, SLURM_CONF: conf };
    daemons.push(
      startDaemon("slurmctld", systemCommand("slurmctld")!, ["-D"], join(dir, "log", "slurmctld.out"), env),
    );
    daemons.push(
      startDaemon(
        "slurmd",
        systemCommand("slurmd")!,
        ["-D", "-N", "localhost"],
        join(dir, "log", "slurmd.out"),
        env,
      ),
    );
    const sinfo = systemCommand("sinfo")!;
    await waitFor(
      "the Slurm node to be idle",
      () => {
        try {
          return runCommand(sinfo, ["-h", "-o", "%T"], env).trim() === "idle";
        } catch {
          return false;
        }
      },
      30_000,
    );
    return { conf, daemons, stop };
  } catch (e) {
    const logs = ["slurmctld.log", "slurmd.log", "munged.out"]
      .map((f) => `--- ${f}\n${tail(join(dir, "log", f))}`)
      .join("\n");
    await stop();
    throw new Error(`${(e as Error).message}\n${logs}`);
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-15).join("\n");
  } catch {
    return "(none)";
  }
}
