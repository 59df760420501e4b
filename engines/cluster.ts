import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { checkCount } from "./cancellation.js";
import { Client } from "./client/client.js";
import { ClusterError } from "./client/errors.js";
import { defaultClusterName } from "./cluster-name.js";
import { LAUNCHER_KINDS, LauncherError, type LauncherKind } from "./launchers/launcher.js";
import {
  checkLauncherKind,
  checkLauncherSpec,
  defaultEngineCount,
  LAUNCHER_OPTIONS,
  type LauncherSpec,
} from "./launchers/launcher-spec.js";
import type { MPILauncherOptions } from "./launchers/mpi-launcher.js";
import { processAlive } from "./launchers/process-alive.js";
import type { SlurmLauncherOptions } from "./launchers/slurm-launcher.js";
import type { SSHLauncherOptions } from "./launchers/ssh-launcher.js";
import {
  connectionFilePath,
  readConnectionFile,
  removeConnectionFile,
} from "./wire/protocol/connection-file.js";
import type { EngineId, SchedulerScheme } from "./wire/protocol/messages.js";

/** The controller entry script in dist/. */
export const CONTROLLER_MAIN = fileURLToPath(new URL("./controller/main.js", import.meta.url));

/**
 * V8 flags of the controller process. A flood of tiny tasks keeps thousands of them in flight in
 * the controller; after an idle spell V8 had shrunk its young generation and heap, and the next
 * flood spent its time in garbage collection growing them back: a flood right after ipyparallel's
 * went from a median of ~13,600 to ~17,500 tasks/s (9 floods each) with a young generation that
 * does not start small and no memory reducer. Resident memory is the same (58 MB idle).
 */
const CONTROLLER_NODE_FLAGS = ["--min-semi-space-size=16", "--no-memory-reducer"] as const;

/** How long `Cluster.stop` waits for the controller to answer its shutdown request. */
const STOP_REQUEST_MS = 2000;

/** Options of {@link Cluster.start} that every launcher shares. */
export interface ClusterBaseOptions {
  /** Engines to start (default: 2; with the ssh launcher, the hosts' counts, one per host by default). */
  n?: number;
  /**
   * Cluster name, the connection file's stem. Default: a free readable name, `nb-<notebook>-N` in
   * a notebook's kernel, else an adjective and an animal (see defaultClusterName).
   */
  name?: string;
  /** Connection-file path (default: ~/.tsparallel/clusters/<name>.json or under $TSPARALLEL_DIR). */
  file?: string;
  /**
   * Interface the controller binds. Default: 127.0.0.1 for local engines; with another launcher
   * an address its engines can reach (towards the first ssh host, else the first external IPv4).
   */
  ip?: string;
  /**
   * Encrypt the cluster's traffic: CurveZMQ on every connection to the controller and TLS 1.3 on
   * lanes, with keys derived from the cluster key. Default: on when the controller binds an
   * address other hosts can reach (`ip` not loopback), off on loopback, where it would only cost
   * time (lanes carry ~0.85 GB/s encrypted on one core, several GB/s in the clear).
   */
  encrypt?: boolean;
  /** Load-balancing scheme (default leastload). */
  scheme?: SchedulerScheme;
  /**
   * Load-balanced tasks in flight per engine: a fixed number (0 = unlimited), or by default 2,
   * raised up to 512 for engines whose tasks finish in well under a millisecond.
   */
  hwm?: number;
  /** Keep running after this process exits, logging to this file (the CLI's --daemonize). */
  daemonLog?: string;
  /** How long to wait for the controller and engines, in ms (default 30000). */
  timeout?: number;
  /**
   * The client's shared-memory store for engines on this host (see ConnectOptions.store): false
   * turns it off; `storeBytes` sets its size limit.
   */
  store?: boolean;
  storeBytes?: number;
  /**
   * The largest frame (one array, say) a client or engine may send through the controller, in
   * bytes (default: 4 GiB, the most Node.js can hold). Larger ones fail at the call with
   * `MESSAGE_TOO_LARGE`; lanes and the same-host store do not go through the controller.
   */
  maxMessageBytes?: number;
  /**
   * How many dead engines the controller replaces over the cluster's life, one fresh engine (a new
   * id, an empty namespace) for each engine that crashes, is killed or stops answering heartbeats
   * (default: `n`, as many as were started; 0: none). Stops and restarts you ask for, and clean
   * exits, are not deaths. Launchers that cannot add engines to a running cluster (MPI) replace
   * none. Clients hear of each replacement in the removed engine's reason.
   */
  respawn?: number;
}

/**
 * Which launcher starts the engines, with its options beside it:
 * `{ launcher: "ssh", hosts: ["node1", "alice@node2:2222=4"] }`, `{ launcher: "slurm",
 * partition: "debug", time: "1:00:00" }`, `{ launcher: "mpi", mpiArgs: ["--host", "a:2,b:2"] }`.
 */
export type LauncherChoice =
  | { launcher?: "local" }
  | ({ launcher: "ssh" } & SSHLauncherOptions)
  | ({ launcher: "slurm" } & SlurmLauncherOptions)
  | ({ launcher: "mpi" } & MPILauncherOptions);

/** Options of {@link Cluster.start} and {@link Cluster.launch}. */
export type ClusterOptions = ClusterBaseOptions & LauncherChoice;

/** The launcher spec in cluster options (checked: unknown launchers and misplaced options throw). */
export function launcherSpecOf(opts: ClusterOptions): LauncherSpec {
  const kind = checkLauncherKind(opts.launcher ?? "local");
  const given = opts as unknown as Record<string, unknown>;
  const spec: Record<string, unknown> = { kind };
  for (const k of LAUNCHER_KINDS)
    for (const key of Object.keys(LAUNCHER_OPTIONS[k])) if (given[key] !== undefined) spec[key] = given[key];
  return checkLauncherSpec(spec);
}

/** How a cluster's engines were started, as its controller reported it. */
export interface LauncherReport {
  kind: LauncherKind;
  /** E.g. "Slurm job 42 (4 engines)" or "ssh: 2 on node1 (node1), 2 on node2 (alice@node2:2222)". */
  description: string;
}

/**
 * A local cluster: a controller process that owns its engine processes. `Cluster.start({ n })`
 * starts one and returns a connected {@link Client} (`client.cluster` is this object).
 */
export class Cluster {
  client: Client | undefined;
  /** How the engines were started (for a cluster this process launched). */
  launcher: LauncherReport | undefined;
  #controller: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  readonly #onExit = () => this.#controller?.kill("SIGTERM");

  private constructor(
    readonly name: string,
    readonly file: string,
  ) {}

  /** Starts a controller with `n` engines and returns a client connected to it. */
  static async start(opts: ClusterOptions = {}): Promise<Client> {
    const cluster = await Cluster.launch(opts);
    return cluster.client!;
  }

  /**
   * Starts a cluster and returns its handle (the client is `cluster.client`). Throws a
   * {@link LauncherError} when the launcher is unknown, misses options or cannot start engines.
   */
  static async launch(opts: ClusterOptions = {}): Promise<Cluster> {
    const spec = launcherSpecOf(opts);
    const n = opts.n ?? defaultEngineCount(spec);
    if (opts.maxMessageBytes !== undefined) checkCount(opts.maxMessageBytes, "maxMessageBytes", 64 * 1024);
    if (opts.respawn !== undefined) checkCount(opts.respawn, "respawn", 0);
    if (!Number.isInteger(n) || n < 0) throw new TypeError(`n must be a whole number ≥ 0, got ${n}`);
    const name = opts.name ?? defaultClusterName((free) => existsSync(connectionFilePath(free)));
    const file = opts.file ?? connectionFilePath(name);
    const cluster = new Cluster(name, file);
    const args = [
      ...CONTROLLER_NODE_FLAGS,
      CONTROLLER_MAIN,
      "--name",
      name,
      "--file",
      file,
      "--engines",
      String(n),
      ...(opts.ip ? ["--ip", opts.ip] : []),
      ...(opts.encrypt === undefined ? [] : ["--encrypt", opts.encrypt ? "on" : "off"]),
      "--launcher",
      spec.kind,
      "--launcher-options",
      JSON.stringify({ ...spec, kind: undefined }),
      "--scheme",
      opts.scheme ?? "leastload",
      "--hwm",
      String(opts.hwm ?? "auto"),
      ...(opts.maxMessageBytes === undefined ? [] : ["--max-message-bytes", String(opts.maxMessageBytes)]),
      "--respawn",
      String(opts.respawn ?? n),
    ];
    if (!opts.daemonLog) args.push("--watch-parent", String(process.pid));
    if (opts.daemonLog) mkdirSync(dirname(opts.daemonLog), { recursive: true, mode: 0o700 });
    const log = opts.daemonLog ? openSync(opts.daemonLog, "a", 0o600) : undefined;
    const child = spawn(process.execPath, args, {
      detached: true, // its own process group: a Ctrl-C aimed at the kernel does not kill the cluster
      stdio: ["ignore", "pipe", log ?? "inherit"],
      env: { ...process.env, TSPARALLEL_KEY: randomUUID() },
    });
    cluster.#controller = child;
    cluster.#exited = new Promise((r) => child.once("exit", () => r()));
    const timeout = opts.timeout ?? 30_000;
    try {
      await new Promise<void>((resolve, reject) => {
        let buf = "";
        const timer = setTimeout(
          () =>
            reject(
              new ClusterError("CONTROLLER_UNREACHABLE", `the controller did not start within ${timeout} ms`),
            ),
          timeout,
        );
        const onData = (d: Buffer) => {
          buf += d.toString();
          const line = buf.split("\n").find((l) => l.startsWith('{"ready":'));
          if (!line) return;
          clearTimeout(timer);
          child.stdout!.off("data", onData);
          const said = JSON.parse(line) as { ready: boolean; error?: string; launcher?: LauncherReport };
          if (!said.ready) return reject(new LauncherError(said.error ?? "the controller could not start"));
          cluster.launcher = said.launcher;
          resolve();
        };
        child.stdout!.on("data", onData);
        child.once("exit", (code, sig) => {
          clearTimeout(timer);
          // Its last words (why it could not start) may still be in the pipe: read them first.
          setTimeout(
            () =>
              reject(
                new ClusterError(
                  "CONTROLLER_UNREACHABLE",
                  `the controller exited during startup (${sig ?? `code ${code}`})`,
                ),
              ),
            100,
          );
        });
      });
      if (log !== undefined) {
        // Daemon: stop reading its stdout, so it outlives us.
        child.stdout!.destroy();
        child.unref();
      } else {
        child.stdout!.resume(); // engine stdout outside tasks: drained, not shown
        // The cluster alone must not keep this process alive; exiting stops the controller.
        child.unref();
        (child.stdout as unknown as { unref?: () => void }).unref?.();
        process.once("exit", cluster.#onExit);
      }
      const client = await Client.connect(file, { timeout, store: opts.store, storeBytes: opts.storeBytes });
      client.cluster = cluster;
      cluster.client = client;
      await client.waitForEngines(n, { timeout }).catch((e: unknown) => {
        throw explainMissingEngines(e, cluster.launcher, client.info.engine_url);
      });
    } catch (e) {
      // Never leave a half-started cluster behind (nor a child handle keeping this process alive).
      process.off("exit", cluster.#onExit);
      await cluster.client?.close().catch(() => {});
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const kill = setTimeout(() => child.kill("SIGKILL"), 3000);
        await cluster.#exited;
        clearTimeout(kill);
      }
      if (!opts.daemonLog) removeConnectionFile(file);
      throw e;
    }
    return cluster;
  }

  /** True when this process started the controller (false for {@link attach}). */
  get startedHere(): boolean {
    return this.#controller !== undefined;
  }

  /** Attaches to a running cluster by name or connection-file path. */
  static async attach(nameOrFile: string): Promise<Cluster> {
    const file =
      nameOrFile.includes("/") || nameOrFile.endsWith(".json") ? nameOrFile : connectionFilePath(nameOrFile);
    const info = readConnectionFile(file);
    const cluster = new Cluster(info.name, file);
    cluster.client = await Client.connect(info);
    cluster.client.cluster = cluster;
    return cluster;
  }

  #client(): Client {
    if (!this.client) throw new ClusterError("CONTROLLER_LOST", "this cluster has no client: it was stopped");
    return this.client;
  }

  /** Starts or stops engines so that `n` run. */
  scale(n: number): Promise<number> {
    return this.#client().scale(n);
  }

  /** Replaces engine `id` by a fresh engine. */
  restartEngine(id: EngineId): Promise<void> {
    return this.#client().restartEngine(id);
  }

  /** Sends a signal to engine `id` (SIGINT stops its running task). */
  signal(id: EngineId | readonly EngineId[], sig: NodeJS.Signals = "SIGINT"): Promise<void> {
    return this.#client().signal(id, sig);
  }

  /**
   * Stops the engines and the controller, and removes the connection file. A controller that
   * does not answer (stopped, stalled) is sent SIGCONT and SIGTERM, and SIGKILL 5 s later.
   */
  async stop(): Promise<void> {
    process.off("exit", this.#onExit);
    const client = this.client;
    this.client = undefined;
    let asked = false;
    if (client && !client.link.lostReason) {
      try {
        await client.shutdown({ hub: true, timeout: STOP_REQUEST_MS });
        asked = true;
      } catch {
        // the controller does not answer: signals below
      }
    }
    await client?.close();
    const child = this.#controller;
    if (child && child.exitCode === null && child.signalCode === null) {
      // The child handle was unref'd so the cluster alone keeps nothing alive: while we wait for
      // its exit, this process must live (else a script ends mid-await, with exit code 13).
      child.ref();
      if (!asked) child.kill("SIGTERM");
      child.kill("SIGCONT"); // a stopped controller acts on SIGTERM only once it runs
      const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
      await this.#exited;
      clearTimeout(kill);
    } else if (!child) {
      // Attached cluster: wait for its controller to remove the file.
      const pid = readPid(this.file);
      for (let i = 0; pid && i < 100 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    }
    removeConnectionFile(this.file);
  }
}

/** Says where to look when engines another launcher started did not all register. */
function explainMissingEngines(e: unknown, launcher: LauncherReport | undefined, engineUrl: string): unknown {
  if (!(e instanceof ClusterError) || e.code !== "NO_ENGINES" || !launcher || launcher.kind === "local")
    return e;
  const logs = {
    ssh: "the engines' logs in the remote folder (remoteDir, default ~/.tsparallel/remote) on each host",
    slurm: "squeue and the job's log next to the connection file",
    mpi: "mpiexec's output above",
  }[launcher.kind];
  return new ClusterError(
    "NO_ENGINES",
    `${e.message.replace(/: check the engines' log output$/, "")}. They were started by ${launcher.description}; each must reach the controller at ${engineUrl} (pick a reachable address with ip / --ip). Check ${logs}.`,
  );
}

function readPid(file: string): number | undefined {
  try {
    return readConnectionFile(file).controller_pid;
  } catch {
    return undefined;
  }
}
