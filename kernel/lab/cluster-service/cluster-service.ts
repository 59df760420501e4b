import { existsSync, readFileSync, statSync } from "node:fs";
import { cpus, hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { Client } from "../../../engines/client/client.js";
import { Cluster, CONTROLLER_MAIN } from "../../../engines/cluster.js";
import { processAlive } from "../../../engines/launchers/process-alive.js";
import {
  type ConnectionInfo,
  clustersDir,
  connectionFilePath,
  listConnectionFiles,
  readConnectionFile,
  removeConnectionFile,
} from "../../../engines/wire/protocol/connection-file.js";
import { ENGINE_SIGNALS } from "../../../engines/wire/protocol/messages.js";
import type {
  ClusterEvent,
  ClusterList,
  ClusterSnapshot,
  EngineSnapshot,
  ServiceRequest,
  TaskStreamSnapshot,
} from "./cluster-snapshot.js";

/** A request the service refuses or could not carry out; `status` is the HTTP status to answer with. */
export class ServiceError extends Error {
  override readonly name = "ServiceError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Options of {@link ClusterService}. */
export interface ClusterServiceOptions {
  /** How long a controller may take to answer a connect or a status request (ms, default 2000). */
  probeTimeoutMs?: number;
  /** How long to wait before asking an unanswering controller again (ms, default 5000). */
  retryUnresponsiveMs?: number;
  /** How long starting or scaling may take (ms, default 60000). */
  actionTimeoutMs?: number;
}

/** More engines than this in one request is taken for a typo. */
const MAX_ENGINES = 256;
/** Events kept per cluster. */
const MAX_EVENTS = 30;
/** What a task stream view shows: the last minute. */
const STREAM_WINDOW_MS = 60_000;

/** A client kept connected to one cluster, so that each look costs one status request. */
interface Monitor {
  file: string;
  info: ConnectionInfo;
  client: Client;
  /** Set while this service stops the cluster: its controller going away is then expected. */
  stopping: boolean;
}

/** When a controller last failed to answer, and why. */
interface Unanswered {
  since: number;
  message: string;
}

/**
 * The clusters of this machine as the JupyterLab panel sees them: it lists the connection files in
 * {@link clustersDir}, keeps a client connected to each running controller (so a refresh is one
 * `queue_status` request per cluster, not a new connection) and carries out the panel's actions
 * through the client API. It never hands out a cluster's key.
 */
export class ClusterService {
  readonly #monitors = new Map<string, Monitor>();
  readonly #unanswered = new Map<string, Unanswered>();
  readonly #events = new Map<string, ClusterEvent[]>();
  /** Cluster name → the action running on it; a second action on the same cluster waits its turn. */
  readonly #busy = new Map<string, string>();
  #listing: Promise<ClusterList> | undefined;
  readonly #probeTimeout: number;
  readonly #retryUnresponsive: number;
  readonly #actionTimeout: number;

  constructor(opts: ClusterServiceOptions = {}) {
    this.#probeTimeout = opts.probeTimeoutMs ?? 2000;
    this.#retryUnresponsive = opts.retryUnresponsiveMs ?? 5000;
    this.#actionTimeout = opts.actionTimeoutMs ?? 60_000;
  }

  /** Carries out one request; rejects with {@link ServiceError} when it cannot. */
  async handle(req: ServiceRequest): Promise<unknown> {
    switch (req.op) {
      case "list":
        return this.list();
      case "get":
        return this.get(req.name);
      case "start":
        return this.start(req.name, req.n);
      case "scale":
        return this.scale(req.name, req.n);
      case "stop":
        return this.stop(req.name);
      case "restart":
        return this.restartEngine(req.name, req.engine);
      case "signal":
        return this.signal(req.name, req.engines, req.signal);
      case "stream":
        return this.stream(req.name, req.width);
      default:
        throw new ServiceError(400, `unknown operation "${(req as { op: unknown }).op}"`);
    }
  }

  /** Every cluster with a connection file, by name. Concurrent calls share one look. */
  list(): Promise<ClusterList> {
    this.#listing ??= this.#list().finally(() => {
      this.#listing = undefined;
    });
    return this.#listing;
  }

  async #list(): Promise<ClusterList> {
    const files = listConnectionFiles().sort();
    const present = new Set(files);
    for (const [file, m] of this.#monitors) {
      if (!present.has(file) && !m.stopping) this.#forget(file);
    }
    const clusters = await Promise.all(files.map((f) => this.#snapshot(f)));
    // Newest first, in an order that does not change between looks: a new cluster appears on top.
    const since = (c: ClusterSnapshot) => Date.parse(c.controller?.created ?? "") || mtime(c.file);
    clusters.sort((a, b) => since(b) - since(a) || a.name.localeCompare(b.name));
    return { dir: clustersDir(), cores: cpus().length, clusters };
  }

  /** One cluster by name. */
  async get(name: string): Promise<ClusterSnapshot> {
    const file = this.#fileOf(name);
    if (!existsSync(file)) throw new ServiceError(404, `there is no cluster "${name}" (no ${file})`);
    return this.#snapshot(file);
  }

  /**
   * Starts cluster `name` with `n` local engines, in the background (it outlives this service and
   * logs next to its connection file), as `tsparallel cluster start --daemonize` does.
   */
  async start(name: string, n: number): Promise<ClusterSnapshot> {
    const file = this.#fileOf(name);
    const count = engineCount(n);
    return this.#exclusive(name, "starting", async () => {
      if (existsSync(file)) {
        const existing = await this.#snapshot(file);
        if (existing.state !== "stale") {
          throw new ServiceError(
            409,
            `a cluster named "${name}" already exists (${existing.state}): pick another name, or stop it first`,
          );
        }
        this.#forget(file);
        removeConnectionFile(file);
      }
      const cluster = await Cluster.launch({
        n: count,
        name,
        file,
        daemonLog: join(clustersDir(), `${name}.log`),
        timeout: this.#actionTimeout,
      }).catch((e: Error) => {
        throw new ServiceError(500, `starting "${name}" failed: ${e.message}`);
      });
      this.#event(name, "info", `started with ${count} engine${count === 1 ? "" : "s"}`);
      this.#watch(file, readConnectionFile(file), cluster.client!);
      return this.#snapshot(file);
    });
  }

  /** Starts or stops engines of cluster `name` so that `n` run. */
  async scale(name: string, n: number): Promise<ClusterSnapshot> {
    const count = engineCount(n);
    return this.#exclusive(name, "scaling", async () => {
      const m = await this.#running(name);
      const before = m.client.ids.length;
      try {
        await m.client.scale(count, { timeout: this.#actionTimeout });
      } catch (e) {
        throw this.#failed(name, `scaling to ${count} engines failed`, e);
      }
      this.#event(name, "info", `scaled from ${before} to ${count} engines`);
      return this.#snapshot(m.file);
    });
  }

  /**
   * Stops cluster `name`: a running one is shut down (engines and controller); one whose
   * controller does not answer is terminated by its pid; one whose controller is gone only has
   * its connection file removed.
   */
  async stop(name: string): Promise<{ name: string; done: string }> {
    const file = this.#fileOf(name);
    return this.#exclusive(name, "stopping", async () => {
      if (!existsSync(file)) throw new ServiceError(404, `there is no cluster "${name}" (no ${file})`);
      const snap = await this.#snapshot(file);
      let done: string;
      if (snap.state === "running") {
        const m = this.#monitors.get(file)!;
        m.stopping = true;
        try {
          await m.client.shutdown({ hub: true });
        } catch {
          // It went away by itself meanwhile; waiting below settles it.
        }
        const pid = m.info.controller_pid;
        if (!(await waitForExit(pid, 5000)) && isLocal(snap.controller!.host)) {
          // It acknowledged but is still there after 5 s: make sure it goes.
          process.kill(pid, "SIGTERM");
          await waitForExit(pid, 3000);
        }
        done = "stopped";
      } else if (snap.state === "unresponsive" && snap.controller && isLocal(snap.controller.host)) {
        const pid = snap.controller.pid;
        if (runsController(pid)) process.kill(pid, "SIGTERM");
        if (!(await waitForExit(pid, 3000)) && runsController(pid)) {
          process.kill(pid, "SIGKILL");
          await waitForExit(pid, 2000);
        }
        done = `terminated its controller (pid ${pid}), which did not answer`;
      } else if (snap.state === "unresponsive") {
        // Another host's process cannot be signalled from here: forget the cluster, leave the process.
        done = `removed its connection file; its controller on ${snap.controller?.host} (pid ${snap.controller?.pid}), which does not answer, was left alone`;
      } else {
        done = "removed its connection file (its controller was not running)";
      }
      this.#forget(file);
      removeConnectionFile(file);
      this.#events.delete(name);
      return { name, done };
    });
  }

  /** Replaces engine `id` of cluster `name` by a fresh engine (its running task fails). */
  async restartEngine(name: string, id: number): Promise<ClusterSnapshot> {
    if (!Number.isInteger(id) || id < 0) throw new ServiceError(400, `engine id must be a whole number ≥ 0`);
    return this.#exclusive(name, `restarting engine ${id}`, async () => {
      const m = await this.#running(name);
      const before = new Set(m.client.ids);
      try {
        await m.client.restartEngine(id, { timeout: this.#actionTimeout });
        // The new engine registers a moment later; wait for it so the answer shows it.
        await m.client.waitForEngines(before.size, { timeout: this.#actionTimeout });
      } catch (e) {
        throw this.#failed(name, `restarting engine ${id} failed`, e);
      }
      this.#event(name, "info", `engine ${id} restarted`);
      return this.#snapshot(m.file);
    });
  }

  /** Sends `signal` to engines of cluster `name` (SIGINT stops their running task). */
  async signal(name: string, engines: number[] | "all", signal: string): Promise<ClusterSnapshot> {
    if (!(ENGINE_SIGNALS as readonly string[]).includes(signal)) {
      throw new ServiceError(400, `cannot send "${signal}": choose one of ${ENGINE_SIGNALS.join(", ")}`);
    }
    if (engines !== "all" && (!Array.isArray(engines) || !engines.every((e) => Number.isInteger(e)))) {
      throw new ServiceError(400, `engines must be a list of engine ids or "all"`);
    }
    const m = await this.#running(name);
    const targets = engines === "all" ? m.client.ids : engines;
    if (targets.length === 0) throw new ServiceError(409, `cluster "${name}" has no engines to signal`);
    try {
      await m.client.signal(targets, signal as NodeJS.Signals);
    } catch (e) {
      throw this.#failed(name, `sending ${signal} failed`, e);
    }
    this.#event(
      name,
      "info",
      `${signal} sent to engine${targets.length === 1 ? "" : "s"} ${targets.join(", ")}`,
    );
    this.#listing = undefined;
    return this.#snapshot(m.file);
  }

  /**
   * The task stream of cluster `name` over the last minute, spans merged to a pixel of a view
   * `width` pixels wide (default 600): one request to its controller, which keeps it.
   */
  async stream(name: string, width = 600): Promise<TaskStreamSnapshot> {
    if (!Number.isFinite(width) || width < 10 || width > 10_000)
      throw new ServiceError(400, `width must be a number of pixels from 10 to 10000, not ${width}`);
    const m = await this.#running(name);
    try {
      return await withTimeout(
        m.client.taskStream({ windowMs: STREAM_WINDOW_MS, resolutionMs: STREAM_WINDOW_MS / width }),
        this.#probeTimeout,
      );
    } catch (e) {
      throw new ServiceError(
        504,
        `the controller of "${name}" did not send its task stream (${(e as Error).message}): it may be busy, or run a tsparallel older than its task stream (stop and start the cluster again)`,
      );
    }
  }

  /** Disconnects from every cluster (they keep running). */
  async close(): Promise<void> {
    const monitors = [...this.#monitors.values()];
    this.#monitors.clear();
    await Promise.all(monitors.map((m) => m.client.close().catch(() => {})));
  }

  #fileOf(name: string): string {
    if (typeof name !== "string" || name === "") throw new ServiceError(400, "give the cluster's name");
    try {
      return connectionFilePath(name);
    } catch (e) {
      throw new ServiceError(400, (e as Error).message);
    }
  }

  /** Runs `action` unless another action on the same cluster is under way. */
  async #exclusive<T>(name: string, what: string, action: () => Promise<T>): Promise<T> {
    const running = this.#busy.get(name);
    if (running) throw new ServiceError(409, `cluster "${name}" is busy ${running}: wait for that to finish`);
    this.#busy.set(name, what);
    try {
      return await action();
    } finally {
      this.#busy.delete(name);
      this.#listing = undefined; // a listing under way may predate the action: the next one looks again
    }
  }

  /** The monitor of running cluster `name`, or a 4xx saying why there is none. */
  async #running(name: string): Promise<Monitor> {
    const file = this.#fileOf(name);
    if (!existsSync(file)) throw new ServiceError(404, `there is no cluster "${name}" (no ${file})`);
    const snap = await this.#snapshot(file);
    const m = this.#monitors.get(file);
    if (snap.state !== "running" || !m) {
      throw new ServiceError(
        409,
        `cluster "${name}" is not running (${snap.state}). ${snap.message ?? ""}`.trim(),
      );
    }
    return m;
  }

  /**
   * Records a failed action as an event ("scaling to 3 engines failed: …") and turns it into a
   * 500 whose message is the cause alone (the panel says which action it was).
   */
  #failed(name: string, what: string, e: unknown): ServiceError {
    const cause = (e as Error).message;
    this.#event(name, "error", `${what}: ${cause}`);
    return new ServiceError(500, cause);
  }

  #event(name: string, kind: ClusterEvent["kind"], text: string): void {
    const list = this.#events.get(name) ?? [];
    this.#events.set(name, list);
    list.push({ time: Date.now(), kind, text });
    if (list.length > MAX_EVENTS) list.splice(0, list.length - MAX_EVENTS);
  }

  /** Keeps `client` as the monitor of `file` and turns its engine events into cluster events. */
  #watch(file: string, info: ConnectionInfo, client: Client): Monitor {
    const name = basename(file, ".json");
    const m: Monitor = { file, info, client, stopping: false };
    client.on("engineAdded", (e) => this.#event(name, "info", `engine ${e.id} joined (pid ${e.pid})`));
    client.on("engineRemoved", (e, why) => {
      const planned = why === "scaled down" || why === "restarted" || m.stopping;
      this.#event(name, planned ? "info" : "error", `engine ${e.id} left${why ? `: ${why}` : ""}`);
    });
    client.on("controllerLost", (err) => {
      if (!m.stopping) this.#event(name, "error", `lost the controller: ${err.message}`);
      if (this.#monitors.get(file) === m) this.#monitors.delete(file);
      void client.close().catch(() => {});
    });
    this.#monitors.set(file, m);
    this.#unanswered.delete(file);
    return m;
  }

  #forget(file: string): void {
    const m = this.#monitors.get(file);
    this.#monitors.delete(file);
    this.#unanswered.delete(file);
    if (m) void m.client.close().catch(() => {});
  }

  /** Looks at one connection file and, when its controller runs, asks it for its engines. */
  async #snapshot(file: string): Promise<ClusterSnapshot> {
    const name = basename(file, ".json");
    const base = {
      name,
      file,
      engines: [] as EngineSnapshot[],
      unassigned: 0,
      events: [...(this.#events.get(name) ?? [])],
    };
    const logFile = join(clustersDir(), `${name}.log`);
    const log = existsSync(logFile) ? { log: logFile } : {};
    let info: ConnectionInfo;
    try {
      info = readConnectionFile(file);
    } catch (e) {
      this.#forget(file);
      return { ...base, ...log, state: "unreadable", message: (e as Error).message };
    }
    const controller = {
      pid: info.controller_pid,
      host: info.controller_host ?? hostname(),
      url: info.client_url,
      scheme: info.scheme,
      created: info.created,
    };
    const known = { ...base, ...log, controller };
    if (isLocal(controller.host) && !runsController(controller.pid)) {
      this.#forget(file);
      return {
        ...known,
        state: "stale",
        message: `Its controller (pid ${controller.pid}) is not running: the cluster died or was killed. Clean up removes its connection file${log.log ? `; its log stays at ${log.log}` : ""}.`,
      };
    }
    let m = this.#monitors.get(file);
    if (m && (m.info.key !== info.key || m.info.controller_pid !== info.controller_pid)) {
      this.#forget(file); // a new cluster under the same name
      m = undefined;
    }
    if (!m) {
      const quiet = this.#unanswered.get(file);
      if (quiet && Date.now() - quiet.since < this.#retryUnresponsive) {
        return { ...known, state: "unresponsive", message: quiet.message };
      }
      try {
        const client = await Client.connect(info, { timeout: this.#probeTimeout, lanes: false });
        m = this.#watch(file, info, client);
      } catch (e) {
        return this.#unresponsive(file, known, e);
      }
    }
    let status: Awaited<ReturnType<Client["queueStatus"]>>;
    try {
      status = await withTimeout(m.client.queueStatus(), this.#probeTimeout);
    } catch (e) {
      this.#forget(file);
      return this.#unresponsive(file, known, e);
    }
    const engines: EngineSnapshot[] = Object.entries(status.engines)
      .map(([id, s]) => {
        const e = m.client.engines.get(Number(id));
        return {
          id: Number(id),
          host: e?.hostname ?? "",
          pid: e?.pid ?? 0,
          state: s.state === "paused" ? ("paused" as const) : s.busy ? ("busy" as const) : ("idle" as const),
          queued: s.queued,
          outstanding: s.outstanding,
          completed: s.completed,
          rss: s.rss,
        };
      })
      .sort((a, b) => a.id - b.id);
    return { ...known, state: "running", engines, unassigned: status.unassigned };
  }

  #unresponsive(file: string, known: Omit<ClusterSnapshot, "state">, e: unknown): ClusterSnapshot {
    const c = known.controller!;
    // A timeout is the usual cause, and the client's text for it is long: say it in the panel's words.
    const timedOut =
      (e as { code?: string }).code === "CONTROLLER_UNREACHABLE" || /^no answer/.test((e as Error).message);
    const why = timedOut
      ? `does not answer within ${this.#probeTimeout} ms: it may be paused (SIGSTOP), overloaded, or unreachable`
      : `does not answer: ${(e as Error).message}`;
    const what = isLocal(c.host)
      ? "Stop terminates it."
      : `Stop removes its connection file here and leaves the process on ${c.host} alone.`;
    const message = `Its controller (pid ${c.pid} on ${c.host}) ${why}. ${what}`;
    this.#unanswered.set(file, { since: Date.now(), message });
    return { ...known, state: "unresponsive", message };
  }
}

/** When a file last changed (epoch ms), 0 when it cannot be read. */
function mtime(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function engineCount(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_ENGINES) {
    throw new ServiceError(
      400,
      `the number of engines must be a whole number from 0 to ${MAX_ENGINES}, not ${n}`,
    );
  }
  return n;
}

/** How a controller's command line ends ("controller/main.js"). */
const CONTROLLER_SCRIPT = `${basename(dirname(CONTROLLER_MAIN))}/${basename(CONTROLLER_MAIN)}`;

/**
 * True when local process `pid` is a tsparallel controller. A connection file outlives a killed
 * controller, and its pid may since belong to another process: that one must count as gone (and
 * never be signalled). Where /proc is missing (macOS) a live pid is taken for the controller.
 */
function runsController(pid: number): boolean {
  if (!processAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .some((a) => a.endsWith(CONTROLLER_SCRIPT));
  } catch {
    return !existsSync("/proc/self");
  }
}

function isLocal(host: string): boolean {
  return host === hostname() || host === "localhost" || host === "127.0.0.1";
}

/** Resolves true once process `pid` is gone, false if it still runs after `ms`. */
async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (processAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
