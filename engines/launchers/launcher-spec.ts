import { LAUNCHER_KINDS, LauncherError, type LauncherKind } from "./launcher.js";
import type { MPILauncherOptions } from "./mpi-launcher.js";
import type { SlurmLauncherOptions } from "./slurm-launcher.js";
import { parseSSHHost, type SSHHost } from "./ssh-host.js";
import type { SSHLauncherOptions } from "./ssh-launcher.js";

/** Which launcher a controller uses and its options: plain data, so it can cross a command line. */
export type LauncherSpec =
  | { kind: "local" }
  | ({ kind: "ssh" } & SSHLauncherOptions)
  | ({ kind: "slurm" } & SlurmLauncherOptions)
  | ({ kind: "mpi" } & MPILauncherOptions);

type OptionType = "string" | "string[]" | "boolean" | "count" | "hosts" | "env";

/** Every launcher's options and their types (what the checks below and the Cluster API accept). */
export const LAUNCHER_OPTIONS: { readonly [K in LauncherKind]: Readonly<Record<string, OptionType>> } = {
  local: {},
  ssh: {
    hosts: "hosts",
    sshCommand: "string",
    sshArgs: "string[]",
    remoteNode: "string",
    remoteEngine: "string",
    remoteDir: "string",
    sharedConnectionFile: "boolean",
    env: "env",
  },
  slurm: {
    partition: "string",
    time: "string",
    account: "string",
    sbatchArgs: "string[]",
    srunArgs: "string[]",
    node: "string",
    jobs: "count",
  },
  mpi: { mpiexec: "string", mpiArgs: "string[]", oversubscribe: "boolean", node: "string" },
};

/** Checks a launcher name; the error lists the ones that exist. */
export function checkLauncherKind(kind: unknown): LauncherKind {
  if (typeof kind === "string" && (LAUNCHER_KINDS as readonly string[]).includes(kind))
    return kind as LauncherKind;
  throw new LauncherError(
    `unknown launcher ${JSON.stringify(kind)}: use one of ${LAUNCHER_KINDS.join(", ")} (local runs engines on this machine; ssh, slurm and mpi start them on others)`,
  );
}

/**
 * Checks a launcher spec from outside (JSON, a JavaScript caller) and returns it with hosts read
 * into objects. Unknown options are errors, so a typo (`host` for `hosts`) does not pass silently.
 */
export function checkLauncherSpec(input: unknown): LauncherSpec {
  if (typeof input !== "object" || input === null)
    throw new LauncherError(`a launcher spec is an object like { kind: "ssh", hosts: [...] }`);
  const { kind: rawKind, ...options } = input as Record<string, unknown>;
  const kind = checkLauncherKind(rawKind);
  const known = LAUNCHER_OPTIONS[kind];
  const out: Record<string, unknown> = { kind };
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const type = known[key];
    if (!type) {
      const owner = LAUNCHER_KINDS.find((k) => key in LAUNCHER_OPTIONS[k]);
      throw new LauncherError(
        owner
          ? `${key} is an option of the ${owner} launcher, not of ${kind}`
          : `unknown option ${key} for the ${kind} launcher${Object.keys(known).length ? ` (it takes ${Object.keys(known).join(", ")})` : ""}`,
      );
    }
    out[key] = checkOption(kind, key, type, value);
  }
  if (kind === "ssh" && !(out.hosts as SSHHost[] | undefined)?.length)
    throw new LauncherError(
      'the ssh launcher needs hosts to start engines on: hosts: ["node1", "alice@node2:2222=4"] (CLI and %cluster: --hosts node1,alice@node2:2222=4)',
    );
  return out as LauncherSpec;
}

function checkOption(kind: LauncherKind, key: string, type: OptionType, value: unknown): unknown {
  const bad = (what: string) =>
    new LauncherError(`option ${key} of the ${kind} launcher must be ${what}, got ${JSON.stringify(value)}`);
  switch (type) {
    case "string":
      if (typeof value !== "string" || value === "") throw bad("a non-empty string");
      return value;
    case "boolean":
      if (typeof value !== "boolean") throw bad("true or false");
      return value;
    case "count": {
      // From the command line it comes as text.
      const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
      if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) throw bad("a whole number ≥ 1");
      return n;
    }
    case "string[]":
      if (!Array.isArray(value) || !value.every((v) => typeof v === "string"))
        throw bad("an array of strings");
      return value;
    case "env":
      if (
        typeof value !== "object" ||
        value === null ||
        !Object.entries(value).every(([k, v]) => /^[A-Za-z_]\w*$/.test(k) && typeof v === "string")
      )
        throw bad("an object of variable names to strings");
      return value;
    case "hosts": {
      const list = typeof value === "string" ? value.split(",").filter((h) => h.trim()) : value;
      if (!Array.isArray(list)) throw bad('a list of hosts like ["node1", "alice@node2:2222=4"]');
      return list.map((h) => parseSSHHost(h as string | SSHHost));
    }
  }
}

/** Engines to start when the caller gave no count: each ssh host's count (default 1); else 2. */
export function defaultEngineCount(spec: LauncherSpec): number {
  if (spec.kind === "ssh") return (spec.hosts as SSHHost[]).reduce((sum, h) => sum + (h.n ?? 1), 0);
  return 2;
}
