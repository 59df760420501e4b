import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "./client/client.js";
import { ClusterError } from "./client/errors.js";
import { processAlive } from "./launchers/process-alive.js";
import { connectionFilePath, readConnectionFile, removeConnectionFile } from "./wire/connection-file.js";
import type { EngineId, SchedulerScheme } from "./wire/messages.js";

/** The controller entry script in dist/. */
export const CONTROLLER_MAIN = fileURLToPath(new URL("./controller/main.js", import.meta.url));

/** Options of {@link Cluster.start}. */
export interface ClusterOptions {
  /** Engines to start (default: 2). */
  n?: number;
  /** Cluster name, the connection file's stem (default: `<time>-<random>`). */
  name?: string;
  /** Connection-file path (default: ~/.tsparallel/clusters/<name>.json or under $TSPARALLEL_DIR). */
  file?: string;
  /** Interface the controller binds (default 127.0.0.1). */
  ip?: string;
  /** Load-balancing scheme (default leastload). */
  scheme?: SchedulerScheme;
  /**
   * Load-balanced tasks in flight per engine: a fixed number (0 = unlimited), or by default 2,
   * raised up to 256 for engines whose tasks finish in well under a millisecond.
   */
  hwm?: number;
  /** Keep running after this process exits, logging to this file (the CLI's --daemonize). */
  daemonLog?: string;
  /** How long to wait for the controller and engines, in ms (default 30000). */
  timeout?: number;
}

/**
 * A local cluster: a controller process that owns its engine processes. `Cluster.start({ n })`
 * starts one and returns a connected {@link Client} (`client.cluster` is this object).
 */
export class Cluster {
  client: Client | undefined;
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

  /** Starts a cluster and returns its handle (the client is `cluster.client`). */
  static async launch(opts: ClusterOptions = {}): Promise<Cluster> {
    const n = opts.n ?? 2;
    if (!Number.isInteger(n) || n < 0) throw new TypeError(`n must be a whole number ≥ 0, got ${n}`);
    const name = opts.name ?? `${Date.now()}-${randomBytes(2).toString("hex")}`;
    const file = opts.file ?? connectionFilePath(name);
    const cluster = new Cluster(name, file);
    const args = [
      CONTROLLER_MAIN,
      "--name",
      name,
      "--file",
      file,
      "--engines",
      String(n),
      "--ip",
      opts.ip ?? "127.0.0.1",
      "--scheme",
      opts.scheme ?? "leastload",
      "--hwm",
      String(opts.hwm ?? "auto"),
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
          if (!buf.includes('"ready":true')) return;
          clearTimeout(timer);
          child.stdout!.off("data", onData);
          resolve();
        };
        child.stdout!.on("data", onData);
        child.once("exit", (code, sig) => {
          clearTimeout(timer);
          reject(
            new ClusterError(
              "CONTROLLER_UNREACHABLE",
              `the controller exited during startup (${sig ?? `code ${code}`})`,
            ),
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
      const client = await Client.connect(file, { timeout });
      client.cluster = cluster;
      cluster.client = client;
      await client.waitForEngines(n, timeout);
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

  /** Stops the engines and the controller, and removes the connection file. */
  async stop(): Promise<void> {
    process.off("exit", this.#onExit);
    const client = this.client;
    this.client = undefined;
    if (client && !client.link.lostReason) {
      try {
        await client.shutdown({ hub: true });
      } catch {
        // the controller may already be gone; fall through to signals
      }
    }
    await client?.close();
    const child = this.#controller;
    if (child && child.exitCode === null && child.signalCode === null) {
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

function readPid(file: string): number | undefined {
  try {
    return readConnectionFile(file).controller_pid;
  } catch {
    return undefined;
  }
}
