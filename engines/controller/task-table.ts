import type { SealedPart } from "../wire/protocol/batch.js";
import type { Header } from "../wire/protocol/frames.js";
import type { AnyMessage, EngineId, TaskRequestType } from "../wire/protocol/messages.js";

/** One task the controller has seen. */
export interface TaskRecord {
  msgId: string;
  type: TaskRequestType;
  /** The request's header while the task is unfinished (a failure is answered with it); dropped once done. */
  header?: Header;
  /**
   * Routing id of the client that submitted it (outputs and the reply go only there); the
   * controller hands every record of a client the same copy (Controller's known clients).
   */
  client: Buffer;
  engine?: EngineId;
  state: "queued" | "running" | "done";
  /** "ok" / "error" / "aborted" once done. */
  outcome?: string;
  submitted: number;
  /**
   * Stands for a task a client sent over a lane that a load-balanced task depends on: the
   * controller waits for the engine's record of it (it never answers it).
   */
  placeholder?: boolean;
  /** Its reply went to the client over a lane and was too large to record. */
  notKept?: boolean;
  /**
   * The reply as received (from the delimiter on), kept for late `getResult` while it fits: views
   * of one buffer (a receive buffer per frame costs more than the frame for small replies).
   */
  reply?: Buffer[];
  /** A reply that arrived inside a batch: its sealed bytes only (parsed again if asked for). */
  replySealed?: SealedPart;
  /** A reply that arrived inside a batch unsealed (a relay's own), kept as parsed while it fits. */
  replyMessage?: AnyMessage;
  replyBytes: number;
}

/** Limits of the table; oldest finished tasks are evicted first. */
export interface TaskTableLimits {
  maxTasks: number;
  maxReplyBytes: number;
}

/**
 * 10,000 finished tasks, ten times what ipyparallel 9's in-memory DictDB keeps (1,024 records). A
 * finished record with its small reply costs ~2 KB of heap and receive buffers: at 50,000 the
 * controller stayed at 2.8× its idle size after a soak, at 10,000 1.3×.
 */
export const DEFAULT_TABLE_LIMITS: TaskTableLimits = { maxTasks: 10_000, maxReplyBytes: 256 * 1024 * 1024 };

const EVICTED_MEMORY = 50_000;
/** How far past their limits finished tasks and evicted ids may grow before a bulk eviction. */
const EVICT_SLACK = 1024;

/**
 * The controller's bounded record of tasks. Unfinished tasks are always kept; finished ones are
 * evicted oldest first past `maxTasks`, and their stored replies past `maxReplyBytes`.
 */
export class TaskTable {
  readonly #tasks = new Map<string, TaskRecord>();
  /** Finished tasks in completion order (Map keeps insertion order). */
  readonly #done = new Map<string, TaskRecord>();
  readonly #evicted = new Set<string>();
  #replyBytes = 0;

  constructor(readonly limits: TaskTableLimits = DEFAULT_TABLE_LIMITS) {}

  add(rec: Omit<TaskRecord, "replyBytes" | "state" | "submitted"> & { header: Header }): TaskRecord {
    const full: TaskRecord = {
      msgId: rec.msgId,
      type: rec.type,
      header: rec.header,
      client: rec.client,
      engine: rec.engine,
      placeholder: rec.placeholder,
      state: "queued",
      submitted: Date.now(),
      replyBytes: 0,
    };
    this.#tasks.set(rec.msgId, full);
    return full;
  }

  get(msgId: string): TaskRecord | undefined {
    return this.#tasks.get(msgId);
  }

  /** True when `msgId` was known but has been evicted. */
  wasEvicted(msgId: string): boolean {
    return this.#evicted.has(msgId);
  }

  /** Records a finished task and its reply frames (if they fit the byte budget). */
  complete(
    msgId: string,
    outcome: string,
    reply: Buffer[] | undefined,
    message?: AnyMessage & { sealed?: SealedPart },
  ): TaskRecord | undefined {
    const rec = this.#tasks.get(msgId);
    if (!rec || rec.state === "done") return rec;
    rec.state = "done";
    rec.outcome = outcome;
    rec.header = undefined;
    const bytes = reply ? reply.reduce((n, f) => n + f.length, 0) : message ? messageBytes(message) : 0;
    if ((reply || message) && bytes <= this.limits.maxReplyBytes) {
      if (reply) rec.reply = packed(reply);
      else if (message?.sealed) rec.replySealed = message.sealed;
      else rec.replyMessage = message;
      rec.replyBytes = bytes;
      this.#replyBytes += bytes;
    }
    this.#done.set(msgId, rec);
    this.#evict();
    return rec;
  }

  #evict(): void {
    // Past a large limit, evict in bulk: deleting a Map's oldest entry one call at a time makes
    // every call walk the tombstones left at its front.
    const slack = this.limits.maxTasks >= 4 * EVICT_SLACK ? EVICT_SLACK : 0;
    if (this.#done.size <= this.limits.maxTasks + slack && this.#replyBytes <= this.limits.maxReplyBytes)
      return;
    for (const [id, rec] of this.#done) {
      if (this.#done.size <= this.limits.maxTasks && this.#replyBytes <= this.limits.maxReplyBytes) break;
      if (this.#done.size > this.limits.maxTasks) {
        this.#done.delete(id);
        this.#tasks.delete(id);
        this.#remember(id);
      }
      this.#replyBytes -= rec.replyBytes;
      rec.reply = undefined;
      rec.replySealed = undefined;
      rec.replyMessage = undefined;
      rec.replyBytes = 0;
    }
  }

  #remember(id: string): void {
    this.#evicted.add(id);
    if (this.#evicted.size > EVICTED_MEMORY + EVICT_SLACK) {
      const keep = [...this.#evicted].slice(-EVICTED_MEMORY);
      this.#evicted.clear();
      for (const k of keep) this.#evicted.add(k);
    }
  }

  /** Unfinished tasks. */
  pending(): TaskRecord[] {
    return [...this.#tasks.values()].filter((t) => t.state !== "done");
  }

  get size(): number {
    return this.#tasks.size;
  }

  get replyBytes(): number {
    return this.#replyBytes;
  }
}

/** What keeping a reply that came inside a batch costs (its JSON counted at a typical size when not sealed). */
function messageBytes(m: AnyMessage & { sealed?: SealedPart }): number {
  if (m.sealed) return m.sealed.json.length + m.sealed.buffers.length;
  return m.buffers.reduce((n, f) => n + f.length, 512);
}

/**
 * Frames copied into one buffer, as views of it. ZeroMQ hands each received frame over in a buffer
 * of its own; 50,000 kept replies of five or six small frames each were a quarter of a million
 * of them, most of the controller's memory after a long flood.
 */
function packed(frames: Buffer[]): Buffer[] {
  const all = Buffer.concat(frames);
  let at = 0;
  return frames.map((f) => {
    const view = all.subarray(at, at + f.length);
    at += f.length;
    return view;
  });
}
