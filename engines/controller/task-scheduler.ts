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
/** … and only while it is answering a stream of tasks (a reply within this many ms) … */
const ADAPTIVE_FRESH_MS = 10;
/**
 * … or, while it still has tasks of the stream to answer, within this many ms: on shared cores an
 * engine working through a queue is now and then not scheduled for longer than 10 ms, and that is
 * not the pause after which the next tasks may be long.
 */
const ADAPTIVE_BUSY_FRESH_MS = 100;
/**
 * An engine streaming tiny tasks is given them in runs of about this much work (ms): each message
 * an engine receives and answers costs it a wake-up and a reply (~0.1–0.3 ms on a VM), so tasks of
 * 10 µs spread one by one over 64 engines cost more in messages than in work.
 */
const RUN_MS = 1;
/** Engines whose tasks take less than this (ms) are packed rather than spread (see #packed). */
const PACK_BELOW_MS = 0.25;
/** A run time this many times the estimate is an outlier until the next reply confirms it. */
const OUTLIER_FACTOR = 4;

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
 * A run far slower than the estimate ends deep queues until the next reply, which confirms it or
 * shows it was a one-off: on shared cores a tiny task is now and then descheduled mid-run (in a
 * flood of 20 µs tasks, 1 in 100 took 6x the median and 1 in 1000 25x), and believing each of
 * those cut an engine's queue from ~250 tasks to 9–40 for the next few dozen replies. Two slow
 * replies in a row are believed (see {@link ranFor}).
 *
 * Tiny tasks are packed, not spread: they go in runs of ~1 ms of work to the fullest engine that
 * streams them, and on each host to no more engines than it has cores (see #streamEngines).
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
   * An engine's task ran for `took` ms: update its run-time estimate. Its first run sets it; then,
   * within a factor of {@link OUTLIER_FACTOR}, it is a moving average. A run far above it, however
   * long, holds the engine to the strict limit until its next reply, which either confirms it (the
   * estimate jumps to the shorter of the two) or shows it was a one-off: with more engines than
   * cores, a 10 µs task is now and then descheduled for tens of milliseconds.
   */
  ranFor(rec: EngineRecord, took: number): void {
    if (rec.lastReplyAt === Number.NEGATIVE_INFINITY) {
      // The prior would take a dozen replies to forget.
      rec.taskMs = took;
      return;
    }
    if (took > OUTLIER_FACTOR * rec.taskMs) {
      if (rec.unconfirmedMs > 0) {
        rec.taskMs = Math.min(took, rec.unconfirmedMs);
        rec.unconfirmedMs = 0;
      } else rec.unconfirmedMs = took;
      return;
    }
    rec.unconfirmedMs = 0;
    rec.taskMs = rec.taskMs * 0.9 + took * 0.1;
  }

  /** True while `rec` answers a stream of tasks without a doubtful run time: deep queues apply. */
  #streaming(rec: EngineRecord): boolean {
    // A paused engine answers nothing: it must not hold a host's place among the packed ones.
    if (!this.adaptive || rec.unconfirmedMs !== 0 || rec.paused) return false;
    const fresh = rec.outstanding.size > 0 ? ADAPTIVE_BUSY_FRESH_MS : ADAPTIVE_FRESH_MS;
    return this.now() - rec.lastReplyAt < fresh;
  }

  #limit(rec: EngineRecord): number {
    if (this.hwm <= 0) return Number.POSITIVE_INFINITY;
    return this.#streaming(rec)
      ? Math.max(this.hwm, Math.min(ADAPTIVE_MAX, Math.floor(ADAPTIVE_QUEUE_MS / Math.max(rec.taskMs, 1e-3))))
      : this.hwm;
  }

  #hasRoom(rec: EngineRecord): boolean {
    if (rec.paused) return false; // what it holds waits for SIGCONT; new work goes elsewhere
    return rec.outstanding.size < this.#limit(rec);
  }

  /**
   * How many tasks in a row `rec` takes once picked: one, unless it streams tasks far shorter than
   * a message costs; then about {@link RUN_MS} of them, within its room.
   */
  #run(rec: EngineRecord): number {
    if (!this.#streaming(rec)) return 1;
    const room = this.#limit(rec) - rec.outstanding.size;
    return Math.max(1, Math.min(room, Math.floor(RUN_MS / Math.max(rec.taskMs, 1e-3))));
  }

  /**
   * Where a task no retry or `follow` ties goes while engines stream tiny tasks: to the fullest
   * such engine that still has room. One engine answers many thousands of 10 µs tasks a second,
   * while every engine that takes a turn pays a wake-up per message (with 64 engines on 2 cores,
   * with caches the others made cold), so a flood keeps a few engines hot.
   */
  #packed(candidates: readonly EngineRecord[]): EngineRecord | undefined {
    let best: EngineRecord | undefined;
    for (const r of candidates) {
      if (!this.#tiny(r)) continue;
      if (!best || r.outstanding.size > best.outstanding.size) best = r;
    }
    return best;
  }

  #tiny(rec: EngineRecord): boolean {
    return rec.taskMs < PACK_BELOW_MS && this.#streaming(rec);
  }

  /**
   * The engines an untargeted tiny-task stream may use: on a host with as many engines at work on
   * tiny tasks as it has cores, only those (the fullest, one per core); elsewhere any. More engines
   * than cores add wake-ups, not speed, so the others drain while the tasks wait (~5 ms of work at
   * most) for room on these. Undefined when every engine may be used.
   */
  #streamEngines(engines: readonly EngineRecord[]): Set<EngineRecord> | undefined {
    const hot = new Map<string, EngineRecord[]>();
    for (const r of engines) {
      // At work on tiny tasks and answering (one stuck in a long task stops counting after 100 ms).
      if (r.cpus === 0 || r.outstanding.size === 0 || !this.#tiny(r)) continue;
      const list = hot.get(r.host);
      if (list) list.push(r);
      else hot.set(r.host, [r]);
    }
    let limited = false;
    for (const list of hot.values()) if (list.length >= list[0]!.cpus) limited = true;
    if (!limited) return undefined;
    const allowed = new Set<EngineRecord>();
    for (const r of engines) {
      const list = hot.get(r.host);
      if (!list || list.length < r.cpus) allowed.add(r);
    }
    for (const list of hot.values()) {
      if (list.length < list[0]!.cpus) continue;
      list.sort((x, y) => y.outstanding.size - x.outstanding.size);
      for (const r of list.slice(0, list[0]!.cpus)) allowed.add(r);
    }
    return allowed;
  }

  /** Sends as many ready tasks as engines have room for. */
  pump(): void {
    if (this.#ready.length === 0) return;
    if (this.#deferring) {
      this.#deferred = true;
      return;
    }
    const alive = this.registry.alive();
    let open = alive.filter((r) => this.#hasRoom(r));
    // Packing pays in a flood; a handful of tasks (fewer than the engines' strict limits hold) is
    // spread, so that a slow one among them holds up none of the others.
    const flood = this.#ready.length > open.length * Math.max(this.hwm, 1);
    let stream = flood ? this.#streamEngines(alive) : undefined;
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
      const loose = flood && !follow?.size && task.tried.size === 0;
      const allowed = stream;
      if (loose && allowed && !task.route.targets) {
        candidates = candidates.filter((r) => allowed.has(r));
        if (candidates.length === 0) {
          // The untargeted tasks behind it would wait for the same engines.
          blocked.push(task);
          break;
        }
      }
      const packed = loose ? this.#packed(candidates) : undefined;
      const rec =
        packed ??
        this.registry.get(
          this.strategy(
            candidates.map(
              (r): EngineLoad => ({
                id: r.info.id,
                outstanding: r.outstanding.size,
                lastAssigned: r.lastAssigned,
              }),
            ),
          ),
        )!;
      rec.lastAssigned = ++this.#assignments;
      const woken = rec.outstanding.size === 0;
      this.#inflight.set(task.msg.header.msg_id, task);
      this.hooks.dispatch(task, rec);
      // The tasks behind it that may go where it went follow in one run: one batch, one pick.
      if (loose) {
        for (let more = this.#run(rec) - 1; more > 0 && this.#ready.length > 0; more--) {
          const next = this.#ready[0]!;
          if (
            next.route.follow?.length ||
            next.tried.size ||
            !sameTargets(next.route.targets, task.route.targets)
          )
            break;
          this.#ready.shift();
          this.#inflight.set(next.msg.header.msg_id, next);
          this.hooks.dispatch(next, rec);
        }
      }
      if (!this.#hasRoom(rec)) open = open.filter((r) => r !== rec);
      // An engine set to work on tiny tasks may fill its host's cores.
      if (woken && this.#tiny(rec)) stream = this.#streamEngines(alive);
    }
    if (blocked.length) this.#ready.unshift(...blocked);
  }
}

/** True when two tasks may run on the same engines (no targets, or the same ones in order). */
function sameTargets(a: readonly EngineId[] | undefined, b: readonly EngineId[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
