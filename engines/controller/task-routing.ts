import { openPart, relayedParts } from "../wire/protocol/batch.js";
import { decodeMessage, type Header } from "../wire/protocol/frames.js";
import { CLUSTER_FRAMING } from "../wire/protocol/message-codec.js";
import {
  type AnyMessage,
  type EngineId,
  isTaskRequest,
  type Message,
  type ReplyMetadata,
  replyTypeOf,
  type SchedulerScheme,
  type TaskMetadata,
  type TaskRequestType,
} from "../wire/protocol/messages.js";
import { Signer } from "../wire/protocol/signing.js";
import type { SignedSocket } from "../wire/transport/signed-socket.js";
import { BatchingRelay, type Relayed, resign } from "./batching-relay.js";
import type { EngineRecord, EngineRegistry } from "./engine-registry.js";
import { LaneLedger } from "./lane-ledger.js";
import { strategyFor } from "./strategies/index.js";
import { type PendingTask, TaskScheduler } from "./task-scheduler.js";
import type { TaskRecord, TaskTable } from "./task-table.js";

/** Reads frames without checking their signature (see TaskRouting's #opened). */
const UNVERIFIED = new Signer("");

/** How the load balancer is set up. */
export interface RoutingOptions {
  scheme: SchedulerScheme;
  /** Load-balanced tasks in flight per engine (0 = unlimited); undefined: 2, adaptive. */
  hwm: number | undefined;
  /** How long an assigned task's payload may take to reach its engine, in ms (default 60,000). */
  assignmentTimeout?: number;
}

/** See {@link RoutingOptions.assignmentTimeout}. */
export const DEFAULT_ASSIGNMENT_TIMEOUT_MS = 60_000;

/** An assigned task whose payload has not reached its engine yet. */
interface Assignment {
  task: PendingTask;
  engine: EngineId;
  deadline: number;
}

/**
 * The controller's task path, end to end: a task arriving from a client (alone or in a batch)
 * goes straight to its engine (direct) or to the load-balancing scheduler; an assigned task's
 * engine is named to its client, which sends the payload over a lane; a reply goes back to its
 * client (re-batched per client) and into the task table; a task the controller cannot deliver
 * fails with an error it produces itself. Tasks clients sent over lanes are accounted for by the
 * {@link LaneLedger}.
 */
export class TaskRouting {
  readonly scheduler: TaskScheduler;
  readonly lanes: LaneLedger;
  readonly #engines: SignedSocket;
  /** Assigned tasks waiting for their payloads, by msg_id; swept while there are any. */
  readonly #assignments = new Map<string, Assignment>();
  #assignmentSweep: NodeJS.Timeout | undefined;
  readonly #assignmentTimeout: number;
  readonly #toEngines: BatchingRelay;
  readonly #toClients: BatchingRelay;

  constructor(
    private readonly registry: EngineRegistry,
    private readonly table: TaskTable,
    private readonly clients: SignedSocket,
    engines: SignedSocket,
    opts: RoutingOptions,
  ) {
    this.scheduler = new TaskScheduler(
      registry,
      table,
      {
        dispatch: (t, e) => this.#dispatch(t, e),
        fail: (t, n, v) => this.fail(t.msg.header, t.client, n, v),
      },
      strategyFor(opts.scheme),
      opts.hwm ?? 2,
      opts.hwm === undefined,
    );
    this.lanes = new LaneLedger(registry, table, this.scheduler);
    this.#engines = engines;
    this.#assignmentTimeout = opts.assignmentTimeout ?? DEFAULT_ASSIGNMENT_TIMEOUT_MS;
    this.#toEngines = new BatchingRelay(engines, "task_batch");
    this.#toClients = new BatchingRelay(clients, "reply_batch");
  }

  /** A task request from `client`. */
  submit(msg: Message<TaskRequestType>, client: Buffer): void {
    const route = (msg.metadata as Partial<TaskMetadata>).route;
    // An assigned task's payload that comes this way (its client has no lane) has come.
    if ((msg.metadata as Partial<TaskMetadata>).assigned !== undefined)
      this.#assignments.delete(msg.header.msg_id);
    this.table.add({ msgId: msg.header.msg_id, type: msg.header.msg_type, header: msg.header, client });
    if (route?.kind === "direct") {
      const rec = this.registry.get(route.target);
      if (!rec) {
        this.fail(
          msg.header,
          client,
          "EngineError",
          `engine ${route.target} is not registered (ids: ${this.ids()})`,
        );
        return;
      }
      const task = this.table.get(msg.header.msg_id)!;
      task.engine = rec.info.id;
      task.state = "running";
      rec.outstanding.add(msg.header.msg_id);
      this.#toEngines.send(rec.identity, msg);
      return;
    }
    const lb = route?.kind === "lb" ? route : { kind: "lb" as const };
    if (lb.lane) this.lanes.awaitRecords(lb.lane, client);
    if (lb.targets?.length && !lb.targets.some((id) => this.registry.get(id))) {
      this.fail(
        msg.header,
        client,
        "EngineError",
        `none of engines ${lb.targets.join(", ")} is registered (ids: ${this.ids()})`,
      );
      return;
    }
    this.scheduler.submit({
      msg,
      route: lb,
      client,
      retriesLeft: Math.max(0, lb.retries ?? 0),
      tried: new Set(),
    });
  }

  /** A batch of task requests from `client`: scheduled together, one pass over the engines. */
  submitBatch(batch: AnyMessage, client: Buffer): void {
    this.scheduler.together(() => {
      // A part is scheduled under its index's msg_id, which the engine checks the part against.
      for (const part of relayedParts(batch))
        if (isTaskRequest(part) && typeof part.sealed.entry.msg_id === "string" && part.header.msg_id)
          this.submit(part as Message<TaskRequestType>, client);
    });
  }

  #dispatch(task: PendingTask, rec: EngineRecord): void {
    const t = this.table.get(task.msg.header.msg_id);
    if (t) {
      t.engine = rec.info.id;
      t.state = "running";
    }
    rec.outstanding.add(task.msg.header.msg_id);
    if ((task.msg.metadata as Partial<TaskMetadata>).assign) {
      // Its payload is still at the client, which sends it over the engine's lane. The engine's
      // slot is held until the engine says it came, the client goes away, or the time is up.
      void this.clients.send(
        "task_assigned",
        { engine: rec.info.id },
        { identities: [task.client], parent: task.msg.header },
      );
      this.#assignments.set(task.msg.header.msg_id, {
        task,
        engine: rec.info.id,
        deadline: Date.now() + this.#assignmentTimeout,
      });
      this.#assignmentSweep ??= setInterval(
        () => this.#sweepAssignments(),
        Math.min(1000, this.#assignmentTimeout / 3),
      ).unref();
      return;
    }
    // A retry on an engine that already had it: the same frames would be dropped there as a replay.
    if (task.tried.has(rec.info.id) && task.msg.raw.length)
      resign(this.#engines, rec.identity, task.msg, {
        attempt: (task.route.retries ?? 0) - task.retriesLeft + 1,
      });
    else this.#toEngines.send(rec.identity, task.msg);
  }

  /** Engines say these assigned tasks' payloads have reached them. */
  assignmentsReceived(msgIds: readonly unknown[]): void {
    for (const id of msgIds) if (typeof id === "string") this.#assignments.delete(id);
  }

  /**
   * The client with routing id `client` is gone (its connection ended): its assignments end, since
   * their payloads were still with it, and the engines' slots are free again.
   */
  clientGone(client: Buffer): void {
    for (const [msgId, a] of this.#assignments)
      if (a.task.client.equals(client))
        this.#endAssignment(msgId, a, "its client went away before the payload left");
  }

  #sweepAssignments(): void {
    const now = Date.now();
    for (const [msgId, a] of this.#assignments) {
      if (!this.scheduler.owns(msgId))
        this.#assignments.delete(msgId); // done or failed meanwhile
      else if (now >= a.deadline)
        this.#endAssignment(
          msgId,
          a,
          `it did not reach engine ${a.engine} within ${this.#assignmentTimeout} ms`,
        );
    }
    if (this.#assignments.size === 0) {
      clearInterval(this.#assignmentSweep);
      this.#assignmentSweep = undefined;
    }
  }

  /** An assigned task whose payload will not come: its slot is freed and it fails. */
  #endAssignment(msgId: string, a: Assignment, why: string): void {
    this.#assignments.delete(msgId);
    if (!this.scheduler.owns(msgId)) return;
    this.scheduler.finished(msgId, "error", a.engine);
    this.registry.get(a.engine)?.outstanding.delete(msgId);
    this.fail(
      a.task.msg.header,
      a.task.client,
      "EngineError",
      `the payload of this task did not come: ${why}; it did not run`,
    );
    this.scheduler.dependenciesChanged();
  }

  /** Answers a task with an error the controller produced (dead engine, bad target…). */
  fail(header: Header, client: Buffer, ename: string, evalue: string): void {
    this.table.complete(header.msg_id, "error", undefined);
    queueMicrotask(() => this.scheduler.dependenciesChanged()); // its dependants can never run
    void this.clients.send(
      replyTypeOf(header.msg_type as TaskRequestType),
      { status: "error", ename, evalue, traceback: [] },
      {
        identities: [client],
        parent: header,
        metadata: { engine_id: -1, started: 0, completed: Date.now() },
      },
    );
  }

  /** A task's reply from the engine with routing id `identity` (alone, or a part of a batch). */
  reply(msg: AnyMessage, identity: Buffer): void {
    const parentId = (msg.parent_header as { msg_id?: string }).msg_id ?? "";
    const rec = this.registry.byUuid(identity.toString());
    const outcome = (msg.content as { status?: string }).status ?? "ok";
    if (rec) {
      rec.outstanding.delete(parentId);
      rec.completed++;
      const took = (msg.metadata as { duration?: unknown }).duration;
      if (typeof took === "number" && took >= 0 && outcome !== "aborted") this.scheduler.ranFor(rec, took);
      rec.lastReplyAt = performance.now();
    }
    const task = this.table.get(parentId);
    if (!task) return;
    if (this.scheduler.owns(parentId) && this.scheduler.finished(parentId, outcome, rec?.info.id) === "retry")
      return;
    // A reply whose arrays lie in the engine's store is its client's alone: not kept for others.
    const stored = (msg.metadata as Partial<ReplyMetadata>).stored === true;
    if (stored) task.notKept = true;
    this.table.complete(
      parentId,
      outcome,
      msg.raw.length && !stored ? msg.raw : undefined,
      stored ? undefined : msg,
    );
    this.#toClients.send(task.client, msg);
    this.scheduler.dependenciesChanged();
  }

  /** A batch of replies from one engine: recorded together, one scheduling pass. */
  replyBatch(batch: AnyMessage, identity: Buffer): void {
    this.scheduler.together(() => {
      for (const part of relayedParts(batch))
        if (part.header.msg_type.endsWith("_reply")) this.reply(part, identity);
    });
  }

  /**
   * Aborts the tasks among `ids` that have not started: the queued ones here (answered now as
   * aborted), those already at an engine by asking it. Returns the ids aborted here.
   */
  abort(ids: ReadonlySet<string>, engines: SignedSocket): string[] {
    const removed = this.scheduler.abort(ids);
    for (const t of removed) {
      this.table.complete(t.msg.header.msg_id, "aborted", undefined);
      void this.clients.send(
        replyTypeOf(t.msg.header.msg_type),
        { status: "aborted" },
        { identities: [t.client], parent: t.msg.header },
      );
    }
    const byEngine = new Map<EngineRecord, string[]>();
    for (const id of ids) {
      const rec = this.table.get(id);
      const eng =
        rec?.engine !== undefined && rec.state !== "done" ? this.registry.get(rec.engine) : undefined;
      if (eng) byEngine.set(eng, [...(byEngine.get(eng) ?? []), id]);
    }
    for (const [eng, list] of byEngine)
      void engines.send("abort_request", { msg_ids: list }, { identities: [eng.identity] });
    return removed.map((t) => t.msg.header.msg_id);
  }

  /** Sends a finished task's stored reply to `client`, or says why there is none. */
  answerResult(wanted: string, client: Buffer, parent: Header, mayWait = true): void {
    const rec = this.table.get(wanted);
    if ((!rec || rec.placeholder) && mayWait && !this.table.wasEvicted(wanted)) {
      // A lane task is recorded a few ms after its client has the reply: look again shortly.
      setTimeout(() => this.answerResult(wanted, client, parent, false), 100);
      return;
    }
    // The task's reply goes to the task's listener, signed anew and marked with this request (a
    // client that had it before, or asks twice, would drop the same frames as a replay); the
    // request itself is answered `sent` after it.
    const kept = rec?.state === "done" ? this.#storedReply(rec) : undefined;
    if (kept && resign(this.clients, client, kept, { resent_for: parent.msg_id })) {
      void this.clients.send("result_reply", { status: "sent" }, { identities: [client], parent });
      return;
    }
    const status = rec
      ? rec.state === "done"
        ? rec.notKept
          ? "not_kept"
          : "evicted"
        : "pending"
      : this.table.wasEvicted(wanted)
        ? "evicted"
        : "unknown";
    void this.clients.send("result_reply", { status }, { identities: [client], parent });
  }

  /** A finished task's kept reply, ready to be signed anew. */
  #storedReply(rec: TaskRecord): Relayed | undefined {
    if (rec.reply) return this.#opened(rec.reply);
    if (rec.replySealed) return openPart(rec.replySealed, []);
    return rec.replyMessage;
  }

  /**
   * A kept reply's frames as a message to sign anew. They were verified when they came in, alone
   * or inside a signed `task_records` (a lane reply, signed with its lane's own key), so they are
   * read here, not verified again.
   */
  #opened(frames: Buffer[]): Relayed | undefined {
    try {
      return { ...decodeMessage(frames, UNVERIFIED, CLUSTER_FRAMING), raw: [] };
    } catch {
      return undefined;
    }
  }

  /** An engine is gone: its tasks are retried elsewhere or fail with EngineError. */
  engineLost(rec: EngineRecord, reason: string): void {
    this.scheduler.engineDied(rec, reason);
    for (const msgId of rec.outstanding) {
      const task = this.table.get(msgId);
      if (task?.placeholder) {
        // A lane task whose record will never come: its dependants see it failed.
        this.table.complete(msgId, "error", undefined);
        continue;
      }
      // A direct task, or a load-balanced one that was not retried: it is lost with its engine.
      if (
        task?.header &&
        task.state === "running" &&
        task.engine === rec.info.id &&
        !this.scheduler.owns(msgId)
      )
        this.fail(
          task.header,
          task.client,
          "EngineError",
          `engine ${rec.info.id} died while running this task (${reason})`,
        );
    }
    rec.outstanding.clear();
    this.scheduler.dependenciesChanged();
  }

  /** Registered engine ids, for messages. */
  ids(): string {
    return (
      this.registry
        .alive()
        .map((r) => r.info.id)
        .join(", ") || "none"
    );
  }
}
