import { Cluster, type ClusterOptions, type SchedulerScheme } from "../../engines/index.js";
import { LAUNCHER_FLAGS, launcherOptionsFromFlags } from "../../engines/launchers/launcher-flags.js";
import { formatDuration } from "../magics/format-duration.js";
import { type Magic, MagicUsageError, OK } from "../magics/magic.js";
import { parseMagicArguments, positiveInt } from "../magics/magic-arguments.js";
import type { ParallelMagics } from "./parallel-magics.js";

const USAGE = [
  "%cluster start [-n N] [--launcher local|ssh|slurm|mpi] [--scheme leastload|lru|random|weighted] [--ip IP] [--encrypt | --no-encrypt] [--respawn N] [launcher options] | stop | scale N | status",
  "  ssh:   --hosts node1,alice@node2:2222=4 [--ssh-args '-F cfg'] [--remote-node P] [--remote-dir D] [--shared-file]",
  "  slurm: [--partition P] [--time T] [--account A] [--sbatch-args '--qos=debug'] [--srun-args '…'] [--jobs N]",
  "  mpi:   [--mpiexec P] [--mpi-args '--host a:2,b:2'] [--no-oversubscribe]",
].join("\n");
const START_OPTIONS = [
  { name: "n", short: "n", value: true },
  { name: "launcher", long: "launcher", value: true },
  { name: "scheme", long: "scheme", value: true },
  { name: "ip", long: "ip", value: true },
  { name: "encrypt", long: "encrypt", value: false },
  { name: "no-encrypt", long: "no-encrypt", value: false },
  { name: "respawn", long: "respawn", value: true },
  ...LAUNCHER_FLAGS.map((f) => ({ name: f.flag, long: f.flag, value: f.read !== "on" && f.read !== "off" })),
];
const SCHEMES = new Set(["leastload", "lru", "random", "weighted"]);

/**
 * `%cluster`: start, resize, inspect and stop this notebook's engine cluster without a terminal.
 * The started cluster is the one `%px` uses.
 */
export function clusterMagic(parallel: ParallelMagics): Magic {
  let cluster: Cluster | undefined;
  return {
    name: "cluster",
    kind: "line",
    usage: USAGE,
    summary: "Start, scale, show and stop the notebook's engine cluster (local, ssh, slurm or mpi).",
    async run(args, _body, ctx) {
      const [verb = "", ...rest] = args.trim().split(/\s+/);
      const restText = args.trim().slice(verb.length);
      switch (verb) {
        case "start": {
          if (cluster?.client && !cluster.client.link.lostReason) {
            throw new MagicUsageError(
              `a cluster with ${cluster.client.ids.length} engines is already running: %cluster stop first, or %cluster scale N`,
              USAGE,
            );
          }
          const { options, rest: extra } = parseMagicArguments(restText, START_OPTIONS, USAGE);
          if (extra.trim() !== "") throw new MagicUsageError(`unexpected argument "${extra.trim()}"`, USAGE);
          const n = positiveInt(options.n, "-n", USAGE);
          const respawn = options.respawn === "0" ? 0 : positiveInt(options.respawn, "--respawn", USAGE);
          const launcher = (options.launcher as string | undefined) ?? "local";
          const scheme = options.scheme as string | undefined;
          if (options.encrypt && options["no-encrypt"])
            throw new MagicUsageError("give --encrypt or --no-encrypt, not both", USAGE);
          if (scheme !== undefined && !SCHEMES.has(scheme)) {
            throw new MagicUsageError(`unknown scheme "${scheme}" (leastload, lru, random, weighted)`, USAGE);
          }
          let launcherOptions: Record<string, unknown>;
          try {
            launcherOptions = launcherOptionsFromFlags(options);
          } catch (e) {
            throw new MagicUsageError((e as Error).message, USAGE);
          }
          const t0 = performance.now();
          // Asked now: the new cluster's client becomes the process's current one as it connects.
          const before = parallel.currentCluster();
          // Cluster.launch checks the launcher and its options, with messages that say what to do.
          cluster = await Cluster.launch({
            ...(n === undefined ? {} : { n }),
            ...(scheme ? { scheme: scheme as SchedulerScheme } : {}),
            ...(typeof options.ip === "string" ? { ip: options.ip } : {}),
            ...(options.encrypt ? { encrypt: true } : options["no-encrypt"] ? { encrypt: false } : {}),
            ...(respawn === undefined ? {} : { respawn }),
            launcher,
            ...launcherOptions,
          } as ClusterOptions);
          const using = parallel.use(cluster.client!, before);
          const kind = cluster.launcher?.kind ?? "local";
          const label = { local: "a local", ssh: "an SSH", slurm: "a Slurm", mpi: "an MPI" }[kind];
          ctx.stream(
            "stdout",
            `Started ${label} cluster with ${cluster.client!.ids.length} engines in ${formatDuration((performance.now() - t0) / 1000)} (${cluster.file})\n${kind === "local" ? "" : `Engines: ${cluster.launcher!.description}\n`}${using}\n`,
          );
          return OK;
        }
        case "stop": {
          if (rest.length) throw new MagicUsageError(`unexpected argument "${rest.join(" ")}"`, USAGE);
          if (!cluster) throw new MagicUsageError("no cluster was started with %cluster start", USAGE);
          const c = cluster;
          cluster = undefined;
          if (parallel.client === c.client) parallel.client = undefined;
          await c.stop();
          ctx.stream("stdout", "Cluster stopped.\n");
          return OK;
        }
        case "scale": {
          const n = Number(rest[0]);
          if (rest.length !== 1 || !Number.isInteger(n) || n < 0) {
            throw new MagicUsageError("%cluster scale needs one whole number of engines", USAGE);
          }
          if (!cluster) throw new MagicUsageError("no cluster was started with %cluster start", USAGE);
          const now = await cluster.scale(n);
          ctx.stream("stdout", `The cluster has ${now} engines.\n`);
          return OK;
        }
        case "status": {
          if (rest.length) throw new MagicUsageError(`unexpected argument "${rest.join(" ")}"`, USAGE);
          const client = cluster?.client ?? parallel.client;
          if (!client) {
            ctx.stream("stdout", "No cluster is running: %cluster start -n 2 starts one.\n");
            return OK;
          }
          const q = await client.queueStatus();
          const rows = Object.entries(q.engines).map(([id, s]) => {
            const info = client.engines.get(Number(id));
            return {
              id,
              state: s.state,
              queued: s.queued,
              outstanding: s.outstanding,
              completed: s.completed,
              rss: (s.rss / 2 ** 20).toFixed(0),
              pid: info?.pid ?? "",
            };
          });
          const traffic = client.info.encrypted
            ? "traffic encrypted (CurveZMQ, TLS 1.3 lanes)"
            : "traffic not encrypted";
          const replaced = `${q.respawned ?? 0} dead engines replaced, ${q.respawns_left ?? 0} more may be; ${traffic}`;
          const header = "engine  state        queued  in flight  completed  RSS MB  pid";
          const lines = rows.map(
            (r) =>
              `${r.id.padStart(6)}  ${String(r.state).padEnd(11)}  ${String(r.queued).padStart(6)}  ${String(r.outstanding).padStart(9)}  ${String(r.completed).padStart(9)}  ${r.rss.padStart(6)}  ${r.pid}`,
          );
          const html = `<table><thead><tr><th>engine</th><th>state</th><th>queued</th><th>in flight</th><th>completed</th><th>RSS MB</th><th>pid</th></tr></thead><tbody>${rows
            .map(
              (r) =>
                `<tr><td>${r.id}</td><td>${r.state}</td><td>${r.queued}</td><td>${r.outstanding}</td><td>${r.completed}</td><td>${r.rss}</td><td>${r.pid}</td></tr>`,
            )
            .join(
              "",
            )}</tbody></table><p>${q.unassigned} load-balanced tasks waiting for an engine; ${replaced}</p>`;
          ctx.display({
            "text/plain": `${[header, ...lines].join("\n")}\n${q.unassigned} load-balanced tasks waiting for an engine; ${replaced}`,
            "text/html": html,
          });
          return OK;
        }
        default:
          throw new MagicUsageError(
            verb ? `unknown %cluster command "${verb}"` : "%cluster needs a command",
            USAGE,
          );
      }
    },
  };
}
