import { EventEmitter } from "node:events";
import type { NDArrayLayout } from "../../ndarray/memory-layout.js";
import type { NDArray } from "../../ndarray/ndarray.js";
import { loadNativeAddon } from "../../ndarray/node/native-addon.js";
import { setSharedAllocator } from "../../ndarray/shared.js";
import { type CancelOptions, checkCount, checkTimeout, raceAbort, withinLimits } from "../cancellation.js";
import { hostIdentity } from "../store/host-identity.js";
import type { Block, ObjectStore } from "../store/object-store.js";
import { registerStored } from "../store/shared-arrays.js";
import { StoreError } from "../store/store-error.js";
import { StoreHandle } from "../store/store-handle.js";
import {
  type ConnectionInfo,
  connectionFilePath,
  readConnectionFile,
} from "../wire/protocol/connection-file.js";
import type {
  ContentByType,
  EngineId,
  EngineInfo,
  Refusal,
  TaskStreamContent,
} from "../wire/protocol/messages.js";
import { SendArena } from "../wire/transport/send-arena.js";
import { ndarrayMemory, preloadNDArrays } from "../wire/values/ndarray-link.js";
import { isNDArray } from "../wire/values/serialize.js";
import { AsyncResult } from "./async-result.js";
import { ControllerLink } from "./controller-link.js";
import { DirectView } from "./direct-view.js";
import { ClusterError } from "./errors.js";
import { LoadBalancedView } from "./load-balanced-view.js";
import { ResultRegistry } from "./result-registry.js";
import { type StoreSetting, TaskRouter } from "./task-router.js";
import type { TransferStats } from "./transfer-stats.js";
import type { ClientCore } from "./view.js";

/** Options of {@link Client.connect}. */
export interface ConnectOptions extends CancelOptions {
  /** How long to wait for the controller's answer, in ms (default 5000). */
  timeout?: number;
  /**
   * Send direct views' tasks straight to engines that offer a lane (default: true, or false when
   * `TSPARALLEL_LANES=0`); false sends everything through the controller.
   */
  lanes?: boolean;
  /**
   * Place large arrays (1 MiB or more) bound for engines on this host in a shared-memory store,
   * which they map instead of receiving a copy (default: true, or false when
   * `TSPARALLEL_STORE=0`; needs the native addon). Needed by `put` and `nd.shared`.
   */
  store?: boolean;
  /** The store's size limit in bytes (default: `TSPARALLEL_STORE_BYTES`, else a quarter of memory). */
  storeBytes?: number;
  /**
   * Send a value for several engines of another host (push, set, apply's arguments with 256 KiB or
   * more of arrays) to that host once, to one of them, which places it in its store for the others
   * (default: true, or false when `TSPARALLEL_RELAYS=0`); false sends each engine a copy.
   */
  relays?: boolean;
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
  /** True when this process started the cluster's controller (not attached to a running one). */
  readonly startedHere: boolean;
  stop(): Promise<void>;
  scale(n: number): Promise<number>;
  restartEngine(id: EngineId): Promise<void>;
  signal(id: EngineId | readonly EngineId[], sig?: NodeJS.Signals): Promise<void>;
}

/** What `put` places: a typed array or an NDArray. */
export type TypedArrayLike = ArrayBufferView | NDArray;

/** True when this process could map shared memory (Linux with a host identity, the native addon). */
function canShareMemory(): boolean {
  if (!hostIdentity()) return false;
  try {
    loadNativeAddon();
    return true;
  } catch {
    return false;
  }
}

/** What a value passed as targets is, for messages (plain JavaScript may pass anything). */
function describe(value: unknown): string {
  if (typeof value === "string") return `the string "${value}"`;
  if (typeof value !== "object" || value === null) return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * A slice of engine positions, checked: an object whose `start`, `stop` and `step` are whole
 * numbers when given (`step` not 0). Anything else (a string such as "0" in plain JavaScript)
 * would read as an empty slice, every engine, and is refused with INVALID_TARGET.
 */
function checkSlice(targets: unknown): { start?: number; stop?: number; step?: number } {
  const whole = (v: unknown) => v === undefined || (typeof v === "number" && Number.isInteger(v));
  const slice = targets as { start?: unknown; stop?: unknown; step?: unknown } | null;
  if (
    typeof slice !== "object" ||
    slice === null ||
    Object.getPrototypeOf(slice) !== Object.prototype ||
    !whole(slice.start) ||
    !whole(slice.stop) ||
    !whole(slice.step) ||
    slice.step === 0
  )
    throw new ClusterError(
      "INVALID_TARGET",
      `targets are an engine id, a list of ids, a slice { start, stop, step } of whole numbers (step not 0) or "all" (got ${describe(targets)})`,
    );
  return slice as { start?: number; stop?: number; step?: number };
}

/** A refusal from the controller as the error the client throws. */
function refused(r: Refusal): ClusterError {
  return new ClusterError(r.code, r.evalue);
}

/**
 * A connection to a cluster's controller (ipyparallel's `Client`): engine ids, views, waiting,
 * aborting and shutdown. Make one with `Client.connect(file)` or `Cluster.start()`.
 */
export class Client extends EventEmitter<ClientEvents> implements ClientCore {
  /** @internal The connection to the controller. */
  readonly link: ControllerLink;
  /** @internal Which way each task goes (see task-router.ts). */
  readonly router: TaskRouter;
  readonly #engines = new Map<EngineId, EngineInfo>();
  readonly #results = new ResultRegistry();
  #chain: Promise<void> = Promise.resolve();
  /** Submissions in {@link enqueue}'s chain that have not left yet. */
  #waiting = 0;
  #engineWaiters: (() => void)[] = [];
  /** Set by `Cluster.start`: stop/scale/restart the cluster this client belongs to. */
  cluster: ClusterControl | undefined;
  /** The controller's scheduling scheme. */
  scheme = "leastload";
  /** @internal Reused memory for the copies of large arrays sent over lanes. */
  readonly arena = new SendArena();

  private constructor(
    readonly info: ConnectionInfo,
    lanes: boolean,
    store: StoreSetting,
  ) {
    super();
    // Engines on this host place large replies in their own store only for a client that can map it.
    this.link = new ControllerLink(info, store.enabled && canShareMemory());
    this.router = new TaskRouter(this.link, this.#engines, lanes, store);
    this.link.on("engineAdded", (e) => {
      this.#engines.set(e.id, e);
      this.router.openLanes([e.id]);
      this.#sortedIds = undefined;
      for (const w of this.#engineWaiters.splice(0)) w();
      this.emit("engineAdded", e);
    });
    this.link.on("engineRemoved", (e, why) => {
      this.#engines.delete(e.id);
      this.#sortedIds = undefined;
      this.router.engineGone(e.id, why);
      for (const w of this.#engineWaiters.splice(0)) w();
      this.emit("engineRemoved", e, why);
    });
    this.link.on("storeRelease", (engine, blocks) => this.router.released(engine, blocks));
    // Engines may have come or gone while the connection was down: ask again, tell the difference.
    this.link.on("reconnected", () => void this.#resync());
    this.link.on("controllerLost", (err) => {
      // Engines leave with their controller, so work in flight on lanes cannot finish either.
      this.router.close(err);
      for (const w of this.#engineWaiters.splice(0)) w();
      if (this.listenerCount("controllerLost") > 0) this.emit("controllerLost", err);
    });
  }

  /** After a reconnection: the engines as the controller has them now, with events for the changes. */
  async #resync(): Promise<void> {
    let engines: EngineInfo[];
    try {
      engines = (await this.link.request("connect_request", {})).content.engines;
    } catch {
      return; // lost again: the link says so
    }
    const now = new Map(engines.map((e) => [e.id, e]));
    for (const [id, e] of this.#engines)
      if (!now.has(id)) this.link.emit("engineRemoved", e, "gone while the controller was unreachable");
    for (const e of engines) if (!this.#engines.has(e.id)) this.link.emit("engineAdded", e);
  }

  /** Why this client cannot be used any more (its controller went away, or it was closed), if so. */
  get lostReason(): ClusterError | undefined {
    return this.link.lostReason;
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
    const client = new Client(info, opts.lanes ?? process.env.TSPARALLEL_LANES !== "0", {
      enabled: opts.store ?? process.env.TSPARALLEL_STORE !== "0",
      limit: opts.storeBytes === undefined ? undefined : checkCount(opts.storeBytes, "storeBytes", 1),
    });
    if (opts.relays !== undefined) client.router.useRelays = opts.relays;
    try {
      const timeout = checkTimeout(opts.timeout) ?? 5000;
      const reply = await client.link.request("connect_request", {}, { timeout, signal: opts.signal });
      for (const e of reply.content.engines) client.#engines.set(e.id, e);
      client.#sortedIds = undefined;
      client.router.openLanes(client.#engines.keys());
      client.scheme = reply.content.scheme;
    } catch (e) {
      await client.link.close();
      throw e;
    }
    Client.#current = client;
    setSharedAllocator((bytes) => client.#sharedMemory(bytes));
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

  /** @internal A result was submitted (views call this; {@link settled} follows when it is done). */
  track(ar: AsyncResult): void {
    this.#results.track(ar);
  }

  /** @internal Every message of `ar` has been answered. */
  settled(ar: AsyncResult): void {
    this.#results.settled(ar);
  }

  /** A view of the engine at position `i` of `ids` (negative counts from the end); results are scalars. */
  at(i: number): DirectView<true> {
    if (this.lostReason) throw this.lostReason.again(); // the reason there are no engines
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
    const { start = 0, stop, step = 1 } = checkSlice(targets);
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
    if (targets !== undefined && (!Array.isArray(targets) || targets.length === 0))
      throw new ClusterError(
        "INVALID_TARGET",
        `a load-balanced view's targets are a non-empty list of engine ids, or left out for any engine (got ${describe(targets)})`,
      );
    return new LoadBalancedView(this, targets ? [...targets] : undefined);
  }

  /**
   * Waits for the given results (default: everything outstanding); false when `timeout` (ms)
   * passed first. Rejects with InterruptedError when `signal` aborts (the tasks keep running).
   */
  async wait(jobs?: AsyncResult | readonly AsyncResult[], opts: CancelOptions = {}): Promise<boolean> {
    const list =
      jobs === undefined ? this.#results.outstanding() : jobs instanceof AsyncResult ? [jobs] : [...jobs];
    return withinLimits(
      Promise.all(list.map((ar) => ar.wait({ signal: opts.signal }))).then(() => true as const),
      opts,
      () => false as const,
    );
  }

  /** Aborts tasks that have not started (ids or results; default: everything outstanding). */
  async abort(jobs?: readonly string[] | AsyncResult | readonly AsyncResult[]): Promise<string[]> {
    let ids: string[];
    if (jobs === undefined) ids = this.#results.outstanding().flatMap((a) => a.msgIds);
    else if (jobs instanceof AsyncResult) ids = jobs.msgIds;
    else
      ids = (jobs as readonly (string | AsyncResult)[]).flatMap((j) =>
        typeof j === "string" ? [j] : j.msgIds,
      );
    // Let queued submissions leave first, so the controller knows every id.
    await this.#chain;
    const [reply, fromLanes] = await Promise.all([
      this.link.request("abort_request", { msg_ids: ids }),
      this.router.abort(ids),
    ]);
    return [...reply.content.aborted, ...fromLanes];
  }

  /** Per-engine queue counts, status and memory, plus tasks not yet assigned. */
  async queueStatus(opts: CancelOptions = {}): Promise<ContentByType["queue_status_reply"]> {
    return (await this.link.request("queue_status_request", {}, opts)).content;
  }

  /**
   * What the engines ran over the last `windowMs` (default 60 s): per engine its tasks as spans
   * (start, end, tasks, name, failed) merged where closer than `resolutionMs` (default: a 600th
   * of the window, a pixel of a 600 px view), the task it runs now, its memory; and per second
   * the tasks finished and the tasks waiting. The controller keeps it; a call is one round trip.
   */
  async taskStream(
    opts: CancelOptions & { windowMs?: number; resolutionMs?: number } = {},
  ): Promise<TaskStreamContent> {
    const request = {
      ...(opts.windowMs === undefined ? {} : { window_ms: opts.windowMs }),
      ...(opts.resolutionMs === undefined ? {} : { resolution_ms: opts.resolutionMs }),
    };
    return (await this.link.request("task_stream_request", request, opts)).content;
  }

  /**
   * The result of a task by msg_id: this client's own results from memory (the last 1000; one
   * holding over 1 MiB of arrays only while your code still holds it), others' (or forgotten
   * ones) from the controller's bounded task table.
   */
  getResult(msgId: string): AsyncResult {
    const known = this.#results.find(msgId);
    if (known) return known;
    const ar = new AsyncResult({ shape: "single" });
    const t = ar.track(-1);
    t.bind(msgId);
    ar.seal();
    let replied = false;
    this.link.listen(msgId, {
      output: (m) => t.listener.output(m),
      reply: (m) => {
        replied = true;
        t.listener.reply(m);
      },
      lost: (e) => t.listener.lost(e),
    });
    void this.link.request("result_request", { msg_id: msgId }).then(
      (m) => {
        const status = m.content.status;
        if (status === "sent" && replied) return; // the reply came to the listener just before
        const why = {
          sent: "was sent by the controller but did not arrive intact (see this process's log)",
          pending: "is still running (only the client that submitted it receives its result)",
          evicted: "has been evicted from the controller's task table (it keeps a bounded number of results)",
          not_kept:
            "went straight to its client over an engine lane and its reply was too large for the controller to keep a copy",
          unknown:
            "is unknown to the controller (tasks sent straight to an engine are known once they finish)",
        }[status];
        ar.failSlot(0, new ClusterError("RESULT_UNAVAILABLE", `task ${msgId} ${why}`));
      },
      (e) => ar.failSlot(0, e as Error),
    );
    return ar;
  }

  /**
   * Resolves when at least `n` engines are registered; rejects with `NO_ENGINES` after `timeout`
   * (ms, default 30,000) and with InterruptedError when `signal` aborts.
   */
  async waitForEngines(n: number, opts: CancelOptions = {}): Promise<void> {
    const timeout = checkTimeout(opts.timeout) ?? 30_000;
    const deadline = Date.now() + timeout;
    while (this.#engines.size < n) {
      if (this.lostReason) throw this.lostReason.again();
      const left = deadline - Date.now();
      if (left <= 0)
        throw new ClusterError(
          "NO_ENGINES",
          `only ${this.#engines.size} of ${n} engines registered within ${timeout} ms: check the engines' log output`,
        );
      await raceAbort(
        new Promise<void>((r) => {
          this.#engineWaiters.push(r);
          setTimeout(r, Math.min(left, 250));
        }),
        opts.signal,
      );
    }
  }

  /** Sends a signal (default SIGINT: stop the running task) to engines. */
  async signal(targets: EngineId | readonly EngineId[], signal: NodeJS.Signals = "SIGINT"): Promise<void> {
    const list = typeof targets === "number" ? [targets] : [...targets];
    const reply = await this.link.request("signal_request", { targets: list, signal });
    if (reply.content.status === "error") throw refused(reply.content);
  }

  /**
   * Starts or stops engines so that `n` run; resolves with the count. `timeout` (ms, default
   * 60,000) bounds the wait for new engines to register.
   */
  async scale(n: number, opts: CancelOptions = {}): Promise<number> {
    const timeout = checkTimeout(opts.timeout) ?? 60_000;
    const reply = await this.link.request("scale_request", { n }, { timeout, signal: opts.signal });
    if (reply.content.status === "error") throw refused(reply.content);
    await this.waitForEngines(n, { timeout, signal: opts.signal });
    return reply.content.engines;
  }

  /** Replaces engine `id` by a fresh one (with a new id); its running task fails with EngineError. */
  async restartEngine(id: EngineId, opts: CancelOptions = {}): Promise<void> {
    const timeout = checkTimeout(opts.timeout) ?? 60_000;
    const reply = await this.link.request("restart_engine_request", { id }, { timeout, signal: opts.signal });
    if (reply.content.status === "error") throw refused(reply.content);
  }

  /**
   * Stops engines (`targets`), and with `hub: true` the controller too. With no options, a client
   * whose cluster this process started (`Cluster.start`) stops that whole cluster, as
   * `Cluster.stop` does: a notebook's closing `await rc.shutdown()` leaves no controller behind.
   * `timeout` (ms, default 10,000) bounds the wait for the controller's answer
   * (`CONTROLLER_UNREACHABLE`).
   */
  async shutdown(
    opts: { targets?: readonly EngineId[] | "all"; hub?: boolean } & CancelOptions = {},
  ): Promise<void> {
    if (opts.targets === undefined && opts.hub === undefined && this.cluster?.startedHere)
      return this.cluster.stop();
    const targets = opts.targets === undefined || opts.targets === "all" ? "all" : [...opts.targets];
    const reply = await this.link.request(
      "shutdown_request",
      { targets, hub: opts.hub ?? false },
      { timeout: checkTimeout(opts.timeout), signal: opts.signal },
    );
    if (reply.content.status === "error") throw refused(reply.content);
  }

  /**
   * Places a typed array or NDArray in this client's shared-memory store once, and returns a handle
   * to pass as a task argument (or push) any number of times: engines on this host map the same
   * bytes instead of each receiving a copy, as with `ray.put`; others are sent the bytes. Engines
   * get the array copy-on-write. Rejects with a StoreError: `STORE_UNAVAILABLE` without a store,
   * `STORE_FULL` when it cannot make room.
   */
  async put<T extends TypedArrayLike>(value: T): Promise<StoreHandle<T>> {
    const store = this.#store();
    const nd = isNDArray(value) ? await ndarrayMemory() : undefined;
    const bytes = nd
      ? (value as unknown as NDArray).size * (value as unknown as NDArray).data.BYTES_PER_ELEMENT
      : (value as ArrayBufferView).byteLength;
    if (!nd && !ArrayBuffer.isView(value))
      throw new TypeError(
        "put() places a typed array or an NDArray in shared memory; send other values as task arguments",
      );
    const block = await this.#allocate(store, bytes);
    const target = store.bytesOf(block);
    let array: string;
    let layout: NDArrayLayout | undefined;
    if (nd) {
      const copy = nd.ndarrayCopyInto(value as unknown as NDArray, () => target);
      layout = nd.ndarrayLayout(copy);
      array = copy.data.constructor.name;
    } else {
      const v = value as ArrayBufferView;
      store.copy(target, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      array = Buffer.isBuffer(v) ? "Buffer" : v.constructor.name;
    }
    const ref = store.ref(block);
    const memory = store.ownMapping(block, false);
    const read = () => {
      const Ctor = (globalThis as unknown as Record<string, new (b: ArrayBuffer) => TypedArrayLike>)[array]!;
      const data = array === "Buffer" ? Buffer.from(memory) : new Ctor(memory);
      return (layout && nd ? nd.ndarrayFromLayout(data as never, layout) : data) as T;
    };
    return new StoreHandle<T>(ref, read, bytes, array, layout);
  }

  /**
   * Where this client's bytes went since it connected: per engine, what it wrote to and read from
   * lanes, and how many values reached other hosts once through a relay engine (see
   * {@link TransferStats}). For checking what a call costs on the wire.
   */
  transferStats(): TransferStats {
    return this.router.transferStats();
  }

  /** How the client's shared-memory store stands (undefined: there is none). */
  storeInfo(): { limit: number; bytes: number; used: number; blocks: number } | undefined {
    const store = this.router.store;
    return (
      store && { limit: store.options.limit, bytes: store.bytes, used: store.used, blocks: store.blocks }
    );
  }

  #store(): ObjectStore {
    const store = this.router.store;
    if (!store)
      throw new StoreError(
        "STORE_UNAVAILABLE",
        "this client has no shared-memory store: it needs Linux and the native addon (built by npm install when a C compiler is present), and is off with Client.connect(..., { store: false }) or TSPARALLEL_STORE=0",
      );
    return store;
  }

  /**
   * A block of `bytes`, asking engines to collect garbage and waiting for their releases (up to a
   * second) when the store is full; StoreError STORE_FULL when even that does not make room.
   */
  async #allocate(store: ObjectStore, bytes: number): Promise<Block> {
    let block = store.allocate(bytes);
    for (let waited = 0; !block && waited < 1000; waited += 50) {
      if (waited === 0) this.router.collect();
      await new Promise((r) => setTimeout(r, 50));
      block = store.allocate(bytes);
    }
    if (!block) throw new StoreError("STORE_FULL", store.fullMessage(bytes));
    return block;
  }

  /** Zeroed shared memory for `nd.shared`, held until the array is collected. */
  #sharedMemory(bytes: number): ArrayBuffer {
    const store = this.#store();
    const block = store.allocate(bytes);
    if (!block) {
      this.router.collect();
      throw new StoreError("STORE_FULL", store.fullMessage(bytes));
    }
    store.bytesOf(block).fill(0); // a reused block holds its last array's bytes
    const memory = store.ownMapping(block, true);
    registerStored(memory, store.ref(block, true));
    return memory;
  }

  /** Closes the connection (the cluster keeps running). */
  async close(): Promise<void> {
    if (Client.#current === this) {
      Client.#current = undefined;
      setSharedAllocator(undefined);
    }
    this.router.closeStore(); // its last releases go out before the link closes
    await this.link.close();
    this.router.close();
  }
}
