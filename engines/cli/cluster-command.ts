import { join } from "node:path";
import { parseArgs } from "node:util";
import { Client } from "../client/client.js";
import { Cluster, type ClusterOptions } from "../cluster.js";
import { LAUNCHER_FLAGS, launcherFlagsUsage, launcherOptionsFromFlags } from "../launchers/launcher-flags.js";
import { processAlive } from "../launchers/process-alive.js";
import {
  clustersDir,
  listConnectionFiles,
  readConnectionFile,
  removeConnectionFile,
} from "../wire/protocol/connection-file.js";
import type { SchedulerScheme } from "../wire/protocol/messages.js";

/** Usage of `tsparallel cluster`. */
export const CLUSTER_USAGE = `usage: tsparallel cluster <command> [options]

commands:
  start [-n N] [--name NAME] [--daemonize] [--ip IP] [--encrypt | --no-encrypt] [--scheme S]
        [--hwm N|auto] [--respawn N] [--launcher local|ssh|slurm|mpi] [launcher options]
        start a controller with N engines (default 2; with ssh, the hosts' counts).
        Without --daemonize it runs until Ctrl-C; with it, it keeps running in the
        background (log next to the connection file). local engines run here; ssh,
        slurm and mpi start them elsewhere and bind the controller to an address they
        can reach (or --ip). Traffic is encrypted (CurveZMQ, TLS on lanes) unless the
        controller binds loopback; --encrypt / --no-encrypt decide instead.
        Launcher options (values with spaces in quotes):
${launcherFlagsUsage("          ")}
  stop [--name NAME | --all]     stop a cluster (default name: "default")
  list                           list clusters and whether they are running
  engines -n N [--name NAME]     add N engines to a running cluster

Connection files live in ${"$"}TSPARALLEL_DIR/clusters or ~/.tsparallel/clusters (mode 0600).
Schemes: leastload (default), lru, random, weighted.
Examples:
  tsparallel cluster start -n 4 --launcher ssh --hosts node1=2,alice@node2:2222=2
  tsparallel cluster start -n 8 --launcher slurm --partition debug --time 1:00:00 --daemonize
  tsparallel cluster start -n 4 --launcher mpi --mpi-args="--host a:2,b:2"`;

const out = (s: string) => process.stdout.write(`${s}\n`);
const err = (s: string) => process.stderr.write(`${s}\n`);

/**
 * Runs `tsparallel cluster …`. Returns the exit code; never throws for bad input (it prints
 * what to do instead).
 */
export async function runClusterCommand(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "-h" || command === "--help" || command === "help") {
    out(CLUSTER_USAGE);
    return command ? 0 : 2;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        n: { type: "string", short: "n" },
        name: { type: "string" },
        daemonize: { type: "boolean" },
        ip: { type: "string" },
        encrypt: { type: "boolean" },
        "no-encrypt": { type: "boolean" },
        scheme: { type: "string" },
        hwm: { type: "string" },
        respawn: { type: "string" },
        all: { type: "boolean" },
        launcher: { type: "string" },
        ...Object.fromEntries(
          LAUNCHER_FLAGS.map((f) => [
            f.flag,
            { type: f.read === "on" || f.read === "off" ? ("boolean" as const) : ("string" as const) },
          ]),
        ),
      },
    }));
  } catch (e) {
    err(`tsparallel cluster ${command}: ${(e as Error).message}\n\n${CLUSTER_USAGE}`);
    return 2;
  }
  const name = (values.name as string | undefined) ?? "default";
  try {
    switch (command) {
      case "start":
        return await start(name, values);
      case "stop":
        return await stop(name, values.all === true);
      case "list":
        return await list();
      case "engines":
        return await addEngines(name, values.n as string | undefined);
      default:
        err(`unknown command "${command}"\n\n${CLUSTER_USAGE}`);
        return 2;
    }
  } catch (e) {
    err(`tsparallel cluster ${command}: ${(e as Error).message}`);
    return 1;
  }
}

function count(n: string | undefined, fallback: number, flag = "-n"): number {
  const v = n === undefined ? fallback : Number(n);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${flag} must be a whole number ≥ 0, got "${n}"`);
  return v;
}

async function start(name: string, values: Record<string, string | boolean | undefined>): Promise<number> {
  const file = join(clustersDir(), `${name}.json`);
  try {
    const info = readConnectionFile(file);
    if (processAlive(info.controller_pid)) {
      err(
        `cluster "${name}" is already running (controller pid ${info.controller_pid}): stop it first or pick another --name`,
      );
      return 1;
    }
    removeConnectionFile(file); // stale
  } catch {
    // no such cluster yet
  }
  const n = values.n === undefined ? undefined : count(values.n as string, 2);
  if (values.encrypt && values["no-encrypt"]) throw new Error("give --encrypt or --no-encrypt, not both");
  const started = Date.now();
  // Checked by Cluster.launch: an unknown launcher or an option of another launcher is an error.
  const cluster = await Cluster.launch({
    n,
    name,
    ip: values.ip as string | undefined,
    encrypt: values.encrypt ? true : values["no-encrypt"] ? false : undefined,
    scheme: values.scheme as SchedulerScheme | undefined,
    hwm: values.hwm === undefined || values.hwm === "auto" ? undefined : Number(values.hwm),
    respawn: values.respawn === undefined ? undefined : count(values.respawn as string, 0, "--respawn"),
    daemonLog: values.daemonize ? join(clustersDir(), `${name}.log`) : undefined,
    launcher: values.launcher,
    ...launcherOptionsFromFlags(values),
  } as ClusterOptions);
  out(
    `cluster "${name}" running with ${cluster.client?.ids.length ?? n} engines (${Date.now() - started} ms); connection file ${cluster.file}`,
  );
  if (cluster.launcher && cluster.launcher.kind !== "local") out(`engines: ${cluster.launcher.description}`);
  if (values.daemonize) {
    await cluster.client?.close();
    return 0;
  }
  out("press Ctrl-C to stop");
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
    cluster.client?.once("controllerLost", () => resolve());
  });
  await cluster.stop();
  out(`cluster "${name}" stopped`);
  return 0;
}

async function stop(name: string, all: boolean): Promise<number> {
  const files = all ? listConnectionFiles() : [join(clustersDir(), `${name}.json`)];
  if (files.length === 0) {
    out("no clusters");
    return 0;
  }
  let code = 0;
  for (const file of files) {
    let info: ReturnType<typeof readConnectionFile>;
    try {
      info = readConnectionFile(file);
    } catch (e) {
      err((e as Error).message);
      code = 1;
      continue;
    }
    if (!processAlive(info.controller_pid)) {
      removeConnectionFile(file);
      out(`cluster "${info.name}" was not running; removed its stale connection file`);
      continue;
    }
    const cluster = await Cluster.attach(file);
    await cluster.stop();
    out(`cluster "${info.name}" stopped`);
  }
  return code;
}

async function list(): Promise<number> {
  const files = listConnectionFiles();
  if (files.length === 0) {
    out(`no clusters in ${clustersDir()}`);
    return 0;
  }
  out(["NAME", "STATE", "ENGINES", "CONTROLLER PID", "CLIENT URL"].join("\t"));
  for (const file of files) {
    try {
      const info = readConnectionFile(file);
      let state = "stale (controller not running)";
      let engines = "-";
      if (processAlive(info.controller_pid)) {
        state = "running";
        try {
          const c = await Client.connect(info, { timeout: 2000 });
          engines = String(c.ids.length);
          await c.close();
        } catch {
          state = "not answering";
        }
      }
      out([info.name, state, engines, info.controller_pid, info.client_url].join("\t"));
    } catch (e) {
      out(`${file}\tunreadable: ${(e as Error).message}`);
    }
  }
  return 0;
}

async function addEngines(name: string, n: string | undefined): Promise<number> {
  if (n === undefined) throw new Error("say how many engines to add with -n N");
  const more = count(n, 0);
  const cluster = await Cluster.attach(name);
  const client = cluster.client!;
  const total = await client.scale(client.ids.length + more);
  out(`cluster "${name}" now has ${total} engines`);
  await client.close();
  return 0;
}
