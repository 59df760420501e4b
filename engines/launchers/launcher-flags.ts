import { splitShellWords } from "./shell-words.js";

/** How a command-line flag becomes a launcher option. */
interface LauncherFlag {
  /** `--<flag>` on the command line and in `%cluster start`. */
  flag: string;
  /** The option in {@link LauncherSpec} / `Cluster.launch`. */
  option: string;
  /** `value`: as typed; `words`: split like a shell would; `list`: comma-separated; `on`/`off`: a switch. */
  read: "value" | "words" | "list" | "on" | "off";
  help: string;
}

/** The launcher flags of `tsparallel cluster start` and `%cluster start`, one table for both. */
export const LAUNCHER_FLAGS: readonly LauncherFlag[] = [
  { flag: "hosts", option: "hosts", read: "list", help: "ssh: host,user@host:port,host=N (N engines there)" },
  {
    flag: "ssh-args",
    option: "sshArgs",
    read: "words",
    help: 'ssh: options for every ssh call, "-F cfg -i key"',
  },
  { flag: "ssh", option: "sshCommand", read: "value", help: "ssh: the ssh client (default ssh)" },
  {
    flag: "remote-node",
    option: "remoteNode",
    read: "value",
    help: "ssh: node on the hosts (default: this path)",
  },
  {
    flag: "remote-engine",
    option: "remoteEngine",
    read: "value",
    help: "ssh: engine main.js on the hosts (default: this path)",
  },
  {
    flag: "remote-dir",
    option: "remoteDir",
    read: "value",
    help: "ssh: folder for the file copy and logs (default ~/.tsparallel/remote)",
  },
  {
    flag: "shared-file",
    option: "sharedConnectionFile",
    read: "on",
    help: "ssh: hosts see the connection file's path; copy nothing",
  },
  { flag: "partition", option: "partition", read: "value", help: "slurm: --partition of the job" },
  { flag: "time", option: "time", read: "value", help: "slurm: --time limit of the job" },
  { flag: "account", option: "account", read: "value", help: "slurm: --account to charge" },
  {
    flag: "sbatch-args",
    option: "sbatchArgs",
    read: "words",
    help: 'slurm: more sbatch options, "--qos=debug"',
  },
  { flag: "srun-args", option: "srunArgs", read: "words", help: "slurm: options of the srun inside the job" },
  { flag: "jobs", option: "jobs", read: "value", help: "slurm: split each start into N jobs (a job array)" },
  { flag: "mpiexec", option: "mpiexec", read: "value", help: "mpi: the mpiexec to run (default mpiexec)" },
  { flag: "mpi-args", option: "mpiArgs", read: "words", help: 'mpi: options after -n N, "--host a:2,b:2"' },
  { flag: "no-oversubscribe", option: "oversubscribe", read: "off", help: "mpi: no more ranks than slots" },
  { flag: "node", option: "node", read: "value", help: "slurm, mpi: node on the compute hosts" },
];

/** The launcher options that the flags in `values` (parsed, keyed by flag name) ask for. */
export function launcherOptionsFromFlags(
  values: Readonly<Record<string, string | boolean | undefined>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of LAUNCHER_FLAGS) {
    const v = values[f.flag];
    if (v === undefined || v === false) continue;
    if (f.read === "on") out[f.option] = true;
    else if (f.read === "off") out[f.option] = false;
    else if (typeof v !== "string") throw new Error(`--${f.flag} needs a value`);
    else if (f.read === "words") out[f.option] = splitShellWords(v);
    else if (f.read === "list") out[f.option] = v.split(",").filter((h) => h.trim());
    else out[f.option] = v;
  }
  return out;
}

/** The flags as usage lines, for help texts. */
export function launcherFlagsUsage(indent = "  "): string {
  const names = LAUNCHER_FLAGS.map((f) => `--${f.flag}${f.read === "on" || f.read === "off" ? "" : " X"}`);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  return LAUNCHER_FLAGS.map((f, i) => `${indent}${names[i]!.padEnd(width)}${f.help}`).join("\n");
}
