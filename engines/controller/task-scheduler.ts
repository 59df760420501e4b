import type { EngineId, Message, Route, TaskRequestType } from "../wire/protocol/messages.js";
import type { EngineRecord, EngineRegistry } from "./engine-registry.js";
import type { EngineLoad, SchedulingStrategy } from "./strategies/index.js";
import type { TaskTable } from "./task-table.js";

type LbRoute = Extract<Route, { kind: "lb" }>;

/** A load-balanced task the scheduler owns until it finishes. */
export interface PendingTask {
  msg: Message<TaskRequestType>;
  route: LbRoute;
  client: Buffer;
  retriesLeft: number;
  /** Engines it already failed on (a retry goes elsewhere when it can). */
  tried: Set<EngineId>;
}

/** What the scheduler needs from the controller. */
export interface SchedulerHooks {
  dispatch(task: PendingTask, engine: EngineRecord): void;
  fail(task: PendingTask, ename: string, evalue: string): void;
}

/** With an adaptive limit, an engine holds about this much work (ms) … */
const ADAPTIVE_QUEUE_MS = 5;
/** … but never more than this many tasks … */
const ADAPTIVE_MAX = 512;
/** … and only while it is answering a stream of tasks (a reply within this many ms). */
const ADAPTIVE_FRESH_MS = 10;
/** A run time this many times the estimate is an outlier until the next reply confirms it … */
const OUTLIER_FACTOR = 4;
/** … unless it is this long (ms): being descheduled costs well under this, a real change more. */
const BELIEVED_MS = ADAPTIVE_QUEUE_MS;

/**
 * The load-balancing scheduler: a FIFO of ready tasks, a list of tasks waiting on dependencies,
 * and a pluggable strategy that picks among engines under the high-water mark (`hwm`, tasks in
 * flight per engine; 0 = unlimited).
 *
 * With `adaptive`, `hwm` is a floor: an engine whose tasks take a tenth of a millisecond may hold
 * enough of them for ~5 ms of work (up to 512), so a flood of tiny tasks is not throttled by
 * round trips, while tasks of a millisecond or more keep the strict limit that balances them.
 * Deep queues are granted only to an engine that answered within the last 10 ms: after a pause
 * (the next notebook cell may bring long tasks), the first tasks go out under the strict limit.
 * A task of 5 ms or more ends deep queues at once. A shorter one that is far slower than the
 * estimate does so only until the next reply: on two shared cores a tiny task is now and then
 * descheduled mid-run (in a flood of 20 µs tasks, 1 in 100 took 6x the median and 1 in 1000
 * 25x), and believing each of those cut an engine's queue from ~250 tasks to 9–40 for the next
 * few dozen replies. Two slow replies in a row are believed (see {@link ranFor}).
 */
export class TaskScheduler {
  readonly #ready: PendingTask[] = [];
  readonly #waiting: PendingTask[] = [];
  readonly #inflight = new Map<string, PendingTask>();
  #assignments = 0;
  #rechecking = false;
  #recheckAgain = false;
  /** Inside {@link together}: pumps and rechecks wait until the end. */
  #deferring = false;
  #deferred = false;

  constructor(
    private readonly registry: EngineRegistry,
    private readonly table: TaskTable,
    private readonly hooks: SchedulerHooks,
    public strategy: SchedulingStrategy,
    public hwm: number,
    public adaptive = false,
    /** The clock replies are timed by (`performance.now()`; tests pass their own). */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Tasks not yet sent to an engine. */
  get queued(): number {
    return this.#ready.length + this.#waiting.length;
  }

  submit(task: PendingTask): void {
    const deps = this.#depsState(task);
    if (deps === "impossible") return;
    if (deps === "wait") this.#waiting.push(task);
    else this.#ready.push(task);
    this.pump();
  }

  /** Removes queued tasks among `ids`; returns them (running ones are the engines' business). */
  abort(ids: ReadonlySet<string>): PendingTask[] {
    const out: PendingTask[] = [];
    for (const list of [this.#ready, this.#waiting]) {
      for (let i = list.length - 1; i >= 0; i--) {
        if (ids.has(list[i]!.msg.header.msg_id)) out.push(...list.splice(i, 1));
      }
    }
    return out;
  }

  /** True when `msgId` is a load-balanced task in flight. */
  owns(msgId: string): boolean {
    return this.#inflight.has(msgId);
  }

  /**
   * A reply arrived. Returns "retry" when the task failed and will run again elsewhere (the
   * reply is then swallowed), otherwise "done"; call {@link dependenciesChanged} once the task
   * table has recorded the outcome.
   */
  finished(msgId: string, outcome: string, engine: EngineId | undefined): "retry" | "done" {
    const task = this.#inflight.get(msgId);
    this.#inflight.delete(msgId);
    if (task && outcome === "error" && task.retriesLeft > 0) {
      this.#retry(task, engine);
      return "retry";
    }
    return "done";
  }

  /**
   * Runs `work` (the tasks of a batch arriving, the replies of a batch) with scheduling deferred
   * to its end: one pass over the engines for the whole batch instead of one per message.
   */
  together(work: () => void): void {
    if (this.#deferring) {
      work();
      return;
    }
    this.#deferring = true;
    try {
      work();
    } finally {
      this.#deferring = false;
      if (this.#deferred) {
        this.#deferred = false;
        this.dependenciesChanged();
      }
    }
  }

  /** A task finished (the table knows its outcome): wake dependants and fill free slots. */
  dependenciesChanged(): void {
    if (this.#deferring) {
      this.#deferred = true;
      return;
    }
    if (this.#rechecking) {
      this.#recheckAgain = true;
      return;
    }
    this.#rechecking = true;
    try {
      do {
        this.#recheckAgain = false;
        this.#recheckWaiting();
      } while (this.#recheckAgain);
    } finally {
      this.#rechecking = false;
    }
    this.pump();
  }

  /** The engine died with these tasks in flight: retry them or fail them with EngineError. */
  engineDied(rec: EngineRecord, reason: string): void {
    for (const msgId of rec.outstanding) {
      const task = this.#inflight.get(msgId);
      if (!task) continue;
      this.#inflight.delete(msgId);
      if (task.retriesLeft > 0) this.#retry(task, rec.info.id);
      else
        this.hooks.fail(
          task,
          "EngineError",
          `engine ${rec.info.id} died while running this task (${reason})`,
        );
    }
    // Tasks restricted to engines that are all gone can never run.
    for (const list of [this.#ready, this.#waiting]) {
      for (let i = list.length - 1; i >= 0; i--) {
        const t = list[i]!;
        if (t.route.targets && !t.route.targets.some((id) => this.registry.get(id))) {
          list.splice(i, 1);
          this.hooks.fail(
            t,
            "EngineError",
            `none of the engines this task may run on (${t.route.targets.join(", ")}) is alive`,
          );
        }
      }
    }
    this.dependenciesChanged();
  }

  #retry(task: PendingTask, engine: EngineId | undefined): void {
    task.retriesLeft--;
    if (engine !== undefined) task.tried.add(engine);
    this.#ready.unshift(task);
    this.pump();
  }

  #depsState(task: PendingTask): "ready" | "wait" | "impossible" {
    for (const id of [...(task.route.after ?? []), ...(task.route.follow ?? [])]) {
      const dep = this.table.get(id);
      if (!dep) continue; // unknown or evicted: nothing to wait for
      if (dep.state !== "done") return "wait";
      if (dep.outcome !== "ok") {
        this.hooks.fail(
          task,
          "ImpossibleDependency",
          `dependency ${id} did not succeed (${dep.outcome}), so this task cannot run`,
        );
        return "impossible";
      }
    }
    const follow = this.#followEngines(task);
    if (follow && follow.size > 1) {
      this.hooks.fail(task, "ImpossibleDependency", "the tasks it must follow ran on different engines");
      return "impossible";
    }
    if (follow && follow.size === 1 && !this.registry.get([...follow][0]!)) {
      this.hooks.fail(task, "ImpossibleDependency", `engine ${[...follow][0]} it must follow is gone`);
      return "impossible";
    }
    return "ready";
  }

  #followEngines(task: PendingTask): Set<EngineId> | undefined {
    if (!task.route.follow?.length) return undefined;
    const out = new Set<EngineId>();
    for (const id of task.route.follow) {
      const e = this.table.get(id)?.engine;
      if (e !== undefined) out.add(e);
    }
    return out;
  }

  #recheckWaiting(): void {
    for (let i = this.#waiting.length - 1; i >= 0; i--) {
      const t = this.#waiting[i]!;
      const s = this.#depsState(t);
      if (s === "wait") continue;
      this.#waiting.splice(i, 1);
      if (s === "ready") this.#ready.push(t);
    }
  }

  /**
   * An engine's task ran for `took` ms: update its run-time estimate. Within a factor of
   * {@link OUTLIER_FACTOR} it is a moving average; a run of {@link BELIEVED_MS} or more sets it at
   * once; a shorter run far above it holds the engine to the strict limit until its next reply,
   * which either confirms it (the estimate jumps to the shorter of the two) or shows it was a
   * one-off.
   */
  ranFor(rec: EngineRecord, took: number): void {
    if (took > OUTLIER_FACTOR * rec.taskMs) {
      if (took >= BELIEVED_MS) {
        rec.taskMs = took;
        rec.unconfirmedMs = 0;
      } else if (rec.unconfirmedMs > 0) {
        rec.taskMs = Math.min(took, rec.unconfirmedMs);
        rec.unconfirmedMs = 0;
      } else rec.unconfirmedMs = took;
      return;
    }
    rec.unconfirmedMs = 0;
    rec.taskMs = rec.taskMs * 0.9 + took * 0.1;
  }

  #hasRoom(rec: EngineRecord): boolean {
    if (this.hwm <= 0) return true;
    const streaming =
      this.adaptive && rec.unconfirmedMs === 0 && this.now() - rec.lastReplyAt < ADAPTIVE_FRESH_MS;
    const limit = streaming
      ? Math.max(this.hwm, Math.min(ADAPTIVE_MAX, Math.floor(ADAPTIVE_QUEUE_MS / Math.max(rec.taskMs, 1e-3))))
      : this.hwm;
    return rec.outstanding.size < limit;
  }

  /** Sends as many ready tasks as engines have room for. */
  pump(): void {
    if (this.#ready.length === 0) return;
    if (this.#deferring) {
      this.#deferred = true;
      return;
    }
    let open = this.registry.alive().filter((r) => this.#hasRoom(r));
    const blocked: PendingTask[] = [];
    while (this.#ready.length > 0 && open.length > 0) {
      const task = this.#ready.shift()!;
      const follow = this.#followEngines(task);
      let candidates = open;
      if (task.route.targets) candidates = candidates.filter((r) => task.route.targets!.includes(r.info.id));
      if (follow?.size) candidates = candidates.filter((r) => follow.has(r.info.id));
      if (task.tried.size) {
        // A retry waits for an engine it has not failed on, as long as one is alive.
        const untriedAlive = this.registry
          .alive()
          .some(
            (r) =>
              !task.tried.has(r.info.id) && (!task.route.targets || task.route.targets.includes(r.info.id)),
          );
        if (untriedAlive) candidates = candidates.filter((r) => !task.tried.has(r.info.id));
      }
      if (candidates.length === 0) {
        blocked.push(task);
        continue;
      }
      const loads: EngineLoad[] = candidates.map((r) => ({
        id: r.info.id,
        outstanding: r.outstanding.size,
        lastAssigned: r.lastAssigned,
      }));
      const rec = this.registry.get(this.strategy(loads))!;
      rec.lastAssigned = ++this.#assignments;
      this.#inflight.set(task.msg.header.msg_id, task);
      this.hooks.dispatch(task, rec);
      if (!this.#hasRoom(rec)) open = open.filter((r) => r !== rec);
    }
    if (blocked.length) this.#ready.unshift(...blocked);
  }
}
