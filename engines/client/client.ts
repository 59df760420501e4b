import { EventEmitter } from "node:events";
import {
  type ConnectionInfo,
  connectionFilePath,
  readConnectionFile,
} from "../wire/protocol/connection-file.js";
import type { Header } from "../wire/protocol/frames.js";
import { MessageCodec } from "../wire/protocol/message-codec.js";
import type {
  ContentByType,
  EngineId,
  EngineInfo,
  EngineQueueStatus,
  Message,
  TaskMetadata,
  TaskRequestType,
} from "../wire/protocol/messages.js";
import { SendArena } from "../wire/transport/send-arena.js";
import { preloadNDArrays } from "../wire/values/ndarray-link.js";
import { AsyncResult } from "./async-result.js";
import { ControllerLink, type TaskListener } from "./controller-link.js";
import { DirectView } from "./direct-view.js";
import { EngineLane, type LaneTask } from "./engine-lane.js";
import { ClusterError } from "./errors.js";
import { type GatherLanding, LandingRegistry } from "./gather-landing.js";
import { LoadBalancedView } from "./load-balanced-view.js";
import type { ClientCore } from "./view.js";

/** Options of {@link Client.connect}. */
export interface ConnectOptions {
  /** How long to wait for the controller's answer, in ms (default 5000). */
  timeout?: number;
  /**
   * Send direct views' tasks straight to engines that offer a lane (default: true, or false when
   * `TSPARALLEL_LANES=0`); false sends everything through the controller.
   */
  lanes?: boolean;
}

/** Events of a {@link Client}. */
export interface ClientEvents {
  engineAdded: [EngineInfo];
  engineRemoved: [EngineInfo, string | undefined];
  controllerLost: [ClusterError];
}

/** Which engines a view addresses: ids, or a slice of the current ids. */
export type Targets =
  | EngineId
  | readonly EngineId[]
  | { start?: number; stop?: number; step?: number }
  | "all";

/** The cluster that started this client's controller, when it was started from here. */
export interface ClusterControl {
  stop(): Promise<void>;
  scale(n: number): Promise<number>;
  restartEngine(id: EngineId): Promise<void>;
  signal(id: EngineId | readonly EngineId[], sig?: NodeJS.Signals): Promise<void>;
}

/** How many finished results the client remembers for `getResult`. */
const REMEMBERED_RESULTS = 1000;
/**
 * A finished result holding more array data than this is remembered only while the user's code
 * still holds it (a WeakRef): the memory of a pulled 512 MiB array must go when its value does,
 * not 1000 results later.
 */
const STRONGLY_REMEMBERED_BYTES = 1 << 20;
/** A load-balanced task whose arrays add up to this much takes the `sendAssigned` path. */
const ASSIGNED_LANE_BYTES = 1 << 20;
/** How many lane task ids the client remembers (for load-balanced tasks that depend on them). */
const REMEMBERED_LANE_TASKS = 10_000;

/**
 * A connection to a cluster's controller (ipyparallel's `Client`): engine ids, views, waiting,
 * aborting and shutdown. Make one with `Client.connect(file)` or `Cluster.start()`.
 */
export class Client extends EventEmitter<ClientEvents> implements ClientCore {
  readonly link: ControllerLink;
  readonly #engines = new Map<EngineId, EngineInfo>();
  readonly #outstanding = new Set<AsyncResult>();
  readonly #results = new Map<string, AsyncResult | WeakRef<AsyncResult>>();
  #chain: Promise<void> = Promise.resolve();
  /** Submissions in {@link enqueue}'s chain that have not left yet. */
  #waiting = 0;
  #engineWaiters: (() => void)[] = [];
  readonly #lanes = new Map<EngineId, EngineLane>();
  readonly #laneTasks = new Map<string, EngineId>();
  #useLanes = process.env.TSPARALLEL_LANES !== "0";
  /** Set by `Cluster.start`: stop/scale/restart the cluster this client belongs to. */
  cluster: ClusterControl | undefined;
  /** The controller's scheduling scheme. */
  scheme = "leastload";
  /** @internal Reused memory for the copies of large arrays sent over lanes. */
  readonly arena = new SendArena();
  /** @internal Gathers whose parts land in their joined result (see gather-landing.ts). */
  readonly landings = new LandingRegistry();

  private constructor(readonly info: ConnectionInfo) {
    super();
    this.link = new ControllerLink(info);
    this.link.on("engineAdded", (e) => {
      this.#engines.set(e.id, e);
      this.#sortedIds = undefined;
      for (const w of this.#engineWaiters.splice(0)) w();
      this.emit("engineAdded", e);
    });
    this.link.on("engineRemoved", (e, why) => {
      this.#engines.delete(e.id);
      this.#sortedIds = undefined;
      this.#lanes.get(e.id)?.engineGone(why);
      this.#lanes.delete(e.id);
      for (const w of this.#engineWaiters.splice(0)) w();
      this.emit("engineRemoved", e, why);
    });
    this.link.on("controllerLost", (err) => {
      // Engines leave with their controller, so work in flight on lanes cannot finish either.
      for (const l of this.#lanes.values()) l.close(err);
      this.#lanes.clear();
      for (const w of this.#engineWaiters.splice(0)) w();
      if (this.listenerCount("controllerLost") > 0) this.emit("controllerLost", err);
    });
  }

  /**
   * Connects to a running cluster: a connection-file path, a cluster name (looked up in
   * ~/.tsparallel/clusters or $TSPARALLEL_DIR), or the connection info itself. Fails with a
   * clear error when the file is missing or the controller does not answer.
   */
  static async connect(
    target: string | ConnectionInfo = "default",
    opts: ConnectOptions = {},
  ): Promise<Client> {
    let info: ConnectionInfo;
    if (typeof target === "string") {
      const path = target.includes("/") || target.endsWith(".json") ? target : connectionFilePath(target);
      info = readConnectionFile(path);
    } else info = target;
    const client = new Client(info);
    if (opts.lanes !== undefined) client.#useLanes = opts.lanes;
    try {
      const reply = (await client.link.request(
        "connect_request",
        {},
        opts.timeout ?? 5000,
      )) as Message<"connect_reply">;
      for (const e of reply.content.engines) client.#engines.set(e.id, e);
      client.#sortedIds = undefined;
      client.scheme = reply.content.scheme;
    } catch (e) {
      await client.link.close();
      throw e;
    }
    Client.#current = client;
    // NDArrays sent later are copied straight into their frames once this has loaded.
    preloadNDArrays();
    return client;
  }

  static #current: Client | undefined;

  /**
   * The client connected most recently in this process and not closed since: the one the
   * kernel's `%px` magics use, as ipyparallel's magics use the last Client created.
   */
  static get current(): Client | undefined {
    return Client.#current;
  }

  #sortedIds: EngineId[] | undefined;

  /** Registered engine ids, ascending (a copy). */
  get ids(): EngineId[] {
    // Read on every submission: sorted once per change of engines, copied per read.
    this.#sortedIds ??= [...this.#engines.keys()].sort((a, b) => a - b);
    return this.#sortedIds.slice();
  }

  /** Engine id → what the controller reported about it. */
  get engines(): ReadonlyMap<EngineId, EngineInfo> {
    return this.#engines;
  }

  /** @internal */
  enqueue(work: () => Promise<void>): void {
    this.#waiting++;
    const run = async () => {
      try {
        await work();
      } finally {
        this.#waiting--;
      }
    };
    this.#chain = this.#chain.then(run, run);
  }

  /** @internal */
  get sendingIdle(): boolean {
    return this.#waiting === 0;
  }

  /**
   * @internal Sends one task: a direct task over its engine's lane when there is one, anything
   * else (and everything when lanes are off or refused) through the controller.
   */
  send<T extends TaskRequestType>(
    type: T,
    content: ContentByType[T],
    metadata: TaskMetadata,
    buffers: readonly Uint8Array[],
    listener: TaskListener,
    header: Header<T>,
    sent?: () => void,
  ): void {
    const route = metadata.route;
    if (route.kind === "direct") {
      const lane = this.#laneTo(route.target);
      if (lane) {
        lane.submit({ type, content, metadata, buffers, listener, header } as LaneTask, sent);
        this.#rememberLaneTask(header.msg_id, route.target);
        return;
      }
    }
    this.link.submit(type, content, this.#withLaneDeps(metadata), buffers, listener, header);
  }

  /**
   * @internal A load-balanced task whose arrays add up to 1 MiB or more (and has no retries):
   * the controller schedules it without its payload (dependencies, high-water mark, strategy as
   * usual) and names the engine; only then is the payload (taken when the call was made) sent,
   * over that engine's lane (or through the controller to that engine if there is no lane), so
   * it takes one hop.
   * Failures before the assignment (an abort, no engine left) come back from the controller.
   * Returns false when the task should go the ordinary way.
   */
  sendAssigned<T extends TaskRequestType>(
    type: T,
    content: ContentByType[T],
    metadata: TaskMetadata,
    payloadBytes: number,
    encode: () => Promise<{ buffers: readonly Uint8Array[]; sent?: () => void }>,
    listener: TaskListener,
    header: Header<T>,
  ): boolean {
    const route = metadata.route;
    if (!this.#useLanes || route.kind !== "lb" || route.retries || payloadBytes < ASSIGNED_LANE_BYTES)
      return false;
    const request = this.#withLaneDeps(metadata);
    const relay: TaskListener = {
      output: (msg) => {
        if (msg.header.msg_type !== "task_assigned") return listener.output(msg);
        const engine = (msg as Message<"task_assigned">).content.engine;
        const assigned: TaskMetadata = {
          ...metadata,
          assigned: engine,
          route: { kind: "direct", target: engine },
        };
        this.link.forget(header.msg_id);
        encode().then(
          ({ buffers, sent }) => {
            const lane = this.#laneTo(engine);
            if (lane) {
              lane.submit({ type, content, metadata: assigned, buffers, listener, header } as LaneTask, sent);
              this.#rememberLaneTask(header.msg_id, engine);
            } else this.link.submit(type, content, assigned, buffers, listener, header);
          },
          (e) => listener.lost(e as Error),
        );
      },
      reply: (msg) => listener.reply(msg),
      lost: (err) => listener.lost(err),
    };
    this.link.submit(type, content, { ...request, assign: true }, [], relay, header);
    return true;
  }

  #rememberLaneTask(msgId: string, engine: EngineId): void {
    this.#laneTasks.set(msgId, engine);
    if (this.#laneTasks.size > REMEMBERED_LANE_TASKS)
      this.#laneTasks.delete(this.#laneTasks.keys().next().value!);
  }

  /** The controller learns of lane tasks when they finish: a task names the ones it waits for. */
  #withLaneDeps(metadata: TaskMetadata): TaskMetadata {
    const route = metadata.route;
    if (route.kind !== "lb" || !this.#laneTasks.size || !(route.after?.length || route.follow?.length))
      return metadata;
    const lane: Record<string, EngineId> = {};
    for (const id of [...(route.after ?? []), ...(route.follow ?? [])]) {
      const engine = this.#laneTasks.get(id);
      if (engine !== undefined) lane[id] = engine;
    }
    return Object.keys(lane).length ? { ...metadata, route: { ...route, lane } } : metadata;
  }

  /**
   * @internal Starts landing a gather's parts (the replies to `msgIds`) in its result, when each
   * comes over a lane of its own: two parts on one connection would wait for each other, and a
   * part relayed by the controller would hold the lanes until all of it is in.
   */
  openLanding(targets: readonly EngineId[], msgIds: readonly string[]): GatherLanding | undefined {
    if (targets.length < 2 || new Set(targets).size !== targets.length) return undefined;
    if (!targets.every((t) => this.#laneTo(t))) return undefined;
    return this.landings.open(msgIds);
  }

  /** The open (or opening) lane to engine `id`, or undefined to go through the controller. */
  #laneTo(id: EngineId): EngineLane | undefined {
    if (!this.#useLanes) return undefined;
    const existing = this.#lanes.get(id);
    if (existing?.state === "refused") return undefined;
    if (existing && existing.state !== "broken") return existing;
    const info = this.#engines.get(id);
    if (!info?.lane) return undefined;
    const lane = new EngineLane(
      info as EngineInfo & { lane: string },
      new MessageCodec(this.link.sock.signer, this.link.sock.session, "client lane"),
      (t) => this.link.submit(t.type, t.content, t.metadata, t.buffers, t.listener, t.header),
      this.landings.place,
    );
    this.#lanes.set(id, lane);
    return lane;
  }

  /** @internal A result was submitted (views call this; {@link settled} follows when it is done). */
  track(ar: AsyncResult): void {
    if (ar.ready()) return;
    this.#outstanding.add(ar);
    for (const id of ar.msgIds) this.#results.set(id, ar);
  }

  /** @internal Every message of `ar` has been answered (its `onDone`, no promise per result). */
  settled(ar: AsyncResult): void {
    if (!this.#outstanding.delete(ar)) return;
    const kept = ar.payloadBytes > STRONGLY_REMEMBERED_BYTES ? new WeakRef(ar) : ar;
    for (const id of ar.msgIds) {
      this.#results.delete(id); // re-insert: finished results age from when they finished
      this.#results.set(id, kept);
    }
    // Trimmed in bulk: deleting the oldest key one at a time walks the Map's tombstones.
    if (this.#results.size > 2 * REMEMBERED_RESULTS) {
      const keep = [...this.#results].slice(-REMEMBERED_RESULTS);
      this.#results.clear();
      for (const [k, v] of keep) this.#results.set(k, v);
    }
  }

  /** A view of the engine at position `i` of `ids` (negative counts from the end); results are scalars. */
  at(i: number): DirectView<true> {
    const ids = this.ids;
    const id = ids[i < 0 ? ids.length + i : i];
    if (id === undefined) {
      throw new ClusterError(
        ids.length ? "INVALID_TARGET" : "NO_ENGINES",
        ids.length
          ? `no engine at position ${i} (engine ids: ${ids.join(", ")})`
          : "no engines are registered with this cluster: start some (Cluster.start({ n }) or cluster.scale(n))",
      );
    }
    return new DirectView(this, [id], true);
  }

  /**
   * A DirectView: all engines (re-evaluated on every call), an id, a list of ids, or a slice
   * `{ start, stop, step }` of the current ids (evaluated now, like ipyparallel's `rc[::2]`).
   */
  view(targets: Targets = "all"): DirectView<false> {
    if (targets === "all") return new DirectView(this, "all", false);
    if (typeof targets === "number") return new DirectView(this, [targets], false);
    if (Array.isArray(targets)) return new DirectView(this, [...(targets as EngineId[])], false);
    const { start = 0, stop, step = 1 } = targets as { start?: number; stop?: number; step?: number };
    if (step === 0 || !Number.isInteger(step))
      throw new TypeError("the slice step must be a non-zero whole number");
    const ids = this.ids;
    const norm = (x: number) => (x < 0 ? Math.max(0, ids.length + x) : Math.min(x, ids.length));
    const out: EngineId[] = [];
    if (step > 0) for (let i = norm(start); i < norm(stop ?? ids.length); i += step) out.push(ids[i]!);
    else
      for (
        let i = stop === undefined ? ids.length - 1 : norm(start);
        i > (stop === undefined ? -1 : norm(stop));
        i += step
      )
        out.push(ids[i]!);
    return new DirectView(this, out, false);
  }

  /** A LoadBalancedView over all engines or a subset. */
  loadBalancedView(targets?: readonly EngineId[]): LoadBalancedView {
    return new LoadBalancedView(this, targets ? [...targets] : undefined);
  }

  /** Waits for the given results (default: everything outstanding); false on timeout (ms). */
  async wait(jobs?: AsyncResult | readonly AsyncResult[], timeoutMs?: number): Promise<boolean> {
    const list =
      jobs === undefined ? [...this.#outstanding] : jobs instanceof AsyncResult ? [jobs] : [...jobs];
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    for (const ar of list) {
      const left = deadline === undefined ? undefined : Math.max(0, deadline - Date.now());
      if (!(await ar.wait(left))) return false;
    }
    return true;
  }

  /** Aborts tasks that have not started (ids or results; default: everything outstanding). */
  async abort(jobs?: readonly string[] | AsyncResult | readonly AsyncResult[]): Promise<string[]> {
    let ids: string[];
    if (jobs === undefined) ids = [...this.#outstanding].flatMap((a) => a.msgIds);
    else if (jobs instanceof AsyncResult) ids = jobs.msgIds;
    else
      ids = (jobs as readonly (string | AsyncResult)[]).flatMap((j) =>
        typeof j === "string" ? [j] : j.msgIds,
      );
    // Let queued submissions leave first, so the controller knows every id.
    await this.#chain;
    const [reply, ...fromLanes] = await Promise.all([
      this.link.request("abort_request", { msg_ids: ids }) as Promise<Message<"abort_reply">>,
      ...[...this.#lanes.values()].map((l) => l.abort(ids)),
    ]);
    return [...reply.content.aborted, ...fromLanes.flat()];
  }

  /** Per-engine queue counts, status and memory, plus tasks not yet assigned. */
  async queueStatus(): Promise<{ engines: Record<string, EngineQueueStatus>; unassigned: number }> {
    return ((await this.link.request("queue_status_request", {})) as Message<"queue_status_reply">).content;
  }

  /**
   * The result of a task by msg_id: this client's own results from memory (the last 1000; one
   * holding over 1 MiB of arrays only while your code still holds it), others' (or forgotten
   * ones) from the controller's bounded task table.
   */
  getResult(msgId: string): AsyncResult {
    const entry = this.#results.get(msgId);
    const known = entry instanceof WeakRef ? entry.deref() : entry;
    if (known) return known;
    const ar = new AsyncResult({ shape: "single" });
    const t = ar.track(-1);
    t.bind(msgId);
    ar.seal();
    this.link.listen(msgId, t.listener);
    void this.link.request("result_request", { msg_id: msgId }).then(
      (m) => {
        if (m.header.msg_type !== "result_reply") {
          t.listener.reply(m);
          return;
        }
        const status = (m as Message<"result_reply">).content.status;
        const why =
          status === "pending"
            ? "is still running (only the client that submitted it receives its result)"
            : status === "evicted"
              ? "has been evicted from the controller's task table (it keeps a bounded number of results)"
              : status === "not_kept"
                ? "went straight to its client over an engine lane and its reply was too large for the controller to keep a copy"
                : "is unknown to the controller (tasks sent straight to an engine are known once they finish)";
        ar.failSlot(0, new ClusterError("RESULT_UNAVAILABLE", `task ${msgId} ${why}`));
      },
      (e) => ar.failSlot(0, e as Error),
    );
    return ar;
  }

  /** Resolves when at least `n` engines are registered; rejects after `timeoutMs`. */
  async waitForEngines(n: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#engines.size < n) {
      if (this.link.lostReason) throw this.link.lostReason;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new ClusterError(
          "NO_ENGINES",
          `only ${this.#engines.size} of ${n} engines registered within ${timeoutMs} ms: check the engines' log output`,
        );
      await new Promise<void>((r) => {
        this.#engineWaiters.push(r);
        setTimeout(r, Math.min(left, 250));
      });
    }
  }

  /** Sends a signal (default SIGINT: stop the running task) to engines. */
  async signal(targets: EngineId | readonly EngineId[], signal: NodeJS.Signals = "SIGINT"): Promise<void> {
    const list = typeof targets === "number" ? [targets] : [...targets];
    const reply = (await this.link.request("signal_request", {
      targets: list,
      signal,
    })) as Message<"signal_reply">;
    if (reply.content.status === "error") throw new ClusterError("INVALID_TARGET", reply.content.evalue);
  }

  /** Starts or stops engines so that `n` run; resolves with the count. */
  async scale(n: number, timeoutMs = 60_000): Promise<number> {
    const reply = (await this.link.request("scale_request", { n }, timeoutMs)) as Message<"scale_reply">;
    if (reply.content.status === "error") throw new ClusterError("INVALID_TARGET", reply.content.evalue);
    await this.waitForEngines(n, timeoutMs);
    return reply.content.engines;
  }

  /** Replaces engine `id` by a fresh one (with a new id); its running task fails with EngineError. */
  async restartEngine(id: EngineId, timeoutMs = 60_000): Promise<void> {
    const reply = (await this.link.request(
      "restart_engine_request",
      { id },
      timeoutMs,
    )) as Message<"restart_engine_reply">;
    if (reply.content.status === "error") throw new ClusterError("INVALID_TARGET", reply.content.evalue);
  }

  /** Stops engines (`targets`), and with `hub: true` the controller too. */
  async shutdown(opts: { targets?: readonly EngineId[] | "all"; hub?: boolean } = {}): Promise<void> {
    const targets = opts.targets === undefined || opts.targets === "all" ? "all" : [...opts.targets];
    await this.link.request("shutdown_request", { targets, hub: opts.hub ?? false });
  }

  /** Closes the connection (the cluster keeps running). */
  async close(): Promise<void> {
    if (Client.#current === this) Client.#current = undefined;
    await this.link.close();
    for (const l of this.#lanes.values()) l.close();
    this.#lanes.clear();
  }
}
