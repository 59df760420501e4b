import { performance } from "node:perf_hooks";
import { clearTimeout, setImmediate, setTimeout } from "node:timers";
import { setTimeout as delay } from "node:timers/promises";
import type { StoreMapper } from "../store/store-mapper.js";
import { isStoreRef, type StoreRef } from "../store/store-ref.js";
import { type Batchable, batchable, sendBatched } from "../wire/protocol/batch.js";
import type { Header } from "../wire/protocol/frames.js";
import type { MessageSink } from "../wire/protocol/message-codec.js";
import {
  type EngineId,
  type LaneTaskRecord,
  type Message,
  type ReplyMetadata,
  type ReplyStatus,
  replyTypeOf,
  type TaskMetadata,
  type TaskRequestType,
} from "../wire/protocol/messages.js";
import type { Lease, SendArena } from "../wire/transport/send-arena.js";
import type { SignedSocket } from "../wire/transport/signed-socket.js";
import type { StreamSocket } from "../wire/transport/stream-socket.js";
import { TurnBatcher } from "../wire/transport/turn-batcher.js";
import { formatMimeBundle, type MimeBundle } from "../wire/values/mime-bundle.js";
import type { StorePlacer } from "../wire/values/serialize.js";
import { decodeValue, encodeValue } from "../wire/values/serialize.js";
import type { Namespace } from "./namespace.js";
import type { OutputCapture } from "./output-capture.js";
import type { TaskSpans } from "./task-spans.js";

type TaskMessage = Message<TaskRequestType>;

/** A task and where it came from: its outputs and reply go back the same way. */
interface QueuedTask {
  task: TaskMessage;
  origin: MessageSink;
  /** Set when a client sent it over a lane (the controller then gets a record of it). */
  lane?: StreamSocket;
}

/**
 * A lane reply this large is let out before the engine's next task starts (see #pump), for up to
 * LEAVE_WAIT_MS: the system takes at most a few MiB at once, the rest waits for the event loop.
 */
const LEAVE_BEFORE_NEXT_BYTES = 1 << 20;
const LEAVE_WAIT_MS = 2000;
/** Replies up to this size are copied into the controller's record (for others' `getResult`). */
const RECORDED_REPLY_BYTES = 64 * 1024;
/** How long lane records wait to be sent together. */
const RECORD_FLUSH_MS = 20;

/**
 * An engine's task path: tasks queue in arrival order (from the controller or from lanes) and run
 * one at a time in the engine's namespace; outputs stream back to where the task came from, and so
 * does the reply (batched per event-loop turn toward the controller). A task that came over a lane
 * is also recorded to the controller, so it knows of it (see controller/lane-ledger.ts).
 */
export class TaskRunner {
  readonly #queue: QueuedTask[] = [];
  #running = false;
  #current: Header | undefined;
  #currentOrigin: MessageSink | undefined;
  /** The last large reply, until the system has taken all of it or its lane is gone (see #pump). */
  #leaving: Promise<void> | undefined;
  #records: LaneTaskRecord[] = [];
  #recordFrames: Uint8Array[] = [];
  #recordTimer: NodeJS.Timeout | undefined;
  /** Replies to the controller finished in one turn of the event loop leave together. */
  readonly #replies: TurnBatcher<Batchable & { type: string }>;
  /** The engine's id, for error replies and reply metadata. */
  id: EngineId = -1;
  /** Where each task's start, end, name and outcome go, for the task stream (set by the engine). */
  spans: TaskSpans | undefined;
  /** The largest frame the controller takes (see ConnectionInfo.max_message_bytes). */
  maxMessageBytes: number | undefined;

  constructor(
    private readonly ns: Namespace,
    private readonly capture: OutputCapture,
    private readonly controller: SignedSocket,
    /** Reused memory for large replies over lanes (see send-arena.ts). */
    private readonly arena: SendArena,
    /** Hears when the queue or running state changed (status reports). */
    private readonly changed: () => void,
    /** Maps arrays clients placed in their shared-memory store (undefined: none can be). */
    private readonly store?: StoreMapper,
    /** Told when the queue has run dry. */
    private readonly idle: () => void = () => {},
    /** Where a reply for the client with this session may place its large arrays (its host's store). */
    private readonly replyPlacer: (session: string) => StorePlacer | undefined = () => undefined,
  ) {
    this.#replies = new TurnBatcher((replies) =>
      sendBatched(
        replies,
        (r) =>
          void controller.send(r.type as "apply_reply", r.content as ReplyStatus, {
            header: r.header,
            parent: r.parent_header,
            metadata: r.metadata,
            buffers: r.buffers,
          }),
        (content, buffers) => void controller.send("reply_batch", content, { buffers }),
      ),
    );
  }

  /** Whether a task runs. */
  get busy(): boolean {
    return this.#running;
  }

  /** When the runner last ran dry (`performance.now()` time). */
  idleSince = 0;

  /**
   * Tasks run that may have dropped the last reference to a mapped store block: every direct
   * task, and load-balanced ones whose arguments were mapped. A load-balanced function without
   * mapped arguments can drop one too (one that clears a global), but floods of those are what
   * engines run most, and a client short of room asks every engine to collect anyway.
   */
  mayHaveDropped = 0;

  /** Tasks received and not finished, the running one included. */
  get queued(): number {
    return this.#queue.length + (this.#running ? 1 : 0);
  }

  /** Queues a task that came from `origin` (over `lane`, when a client sent it directly). */
  add(task: TaskMessage, origin: MessageSink, lane?: StreamSocket): void {
    // The controller holds this engine's slot for an assigned task until its payload is here.
    if (lane && (task.metadata as Partial<TaskMetadata>).assigned !== undefined)
      void this.controller.send("assignment_received", { msg_ids: [task.header.msg_id] });
    this.#queue.push({ task, origin, lane });
    this.changed();
    void this.#pump();
  }

  /** Drops queued tasks among `ids` (answered as aborted); returns the ids dropped, in queue order. */
  abort(ids: ReadonlySet<string>): string[] {
    const aborted: string[] = [];
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      const queued = this.#queue[i]!;
      if (!ids.has(queued.task.header.msg_id)) continue;
      this.#queue.splice(i, 1);
      aborted.push(queued.task.header.msg_id);
      this.#releaseStored(queued.task, new Set());
      this.#reply(queued, { status: "aborted" }, Date.now());
    }
    this.changed();
    return aborted.reverse();
  }

  /**
   * Answers task `msgId` from the controller with a `ProtocolError` without running anything: what
   * arrived under that id was not a task this engine may run (see engine-handlers.ts).
   */
  refuse(msgId: string, why: string): void {
    const now = Date.now();
    // No duration: a refusal is not a run, and must not move the scheduler's estimate.
    const metadata: ReplyMetadata = { engine_id: this.id, started: now, completed: now };
    const content: ReplyStatus = {
      status: "error",
      ename: "ProtocolError",
      evalue: why,
      traceback: [],
      engine_id: this.id,
    };
    const parent = { msg_id: msgId, msg_type: "execute_request" } as Header;
    const header = this.controller.header("execute_reply");
    this.#replies.add({
      type: "execute_reply",
      header,
      parent_header: parent,
      metadata,
      content,
      buffers: [],
    });
  }

  /** Shows a MIME bundle as output of the running task (`display(...)` on the engine). */
  display(data: MimeBundle, metadata: Record<string, unknown>): void {
    const parent = this.#current;
    if (!parent) return;
    this.capture.flush();
    void this.#currentOrigin?.send("display_data", { data, metadata }, { parent });
  }

  async #pump(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (let task = this.#queue.shift(); task; task = this.#queue.shift()) {
        this.changed();
        await this.#run(task);
        // A large reply is written (and its tags made) between turns of the event loop: a next
        // task that runs long without yielding would hold it back for all that time, while the
        // task itself ends no later if it starts once the reply is out. A client that does not
        // read is not waited for long.
        if (this.#leaving) {
          await Promise.race([this.#leaving, delay(LEAVE_WAIT_MS, undefined, { ref: false })]);
          this.#leaving = undefined;
        }
      }
    } finally {
      this.#running = false;
      this.idleSince = performance.now();
      this.changed();
      this.idle();
    }
  }

  async #run(queued: QueuedTask): Promise<void> {
    const { task, origin } = queued;
    const meta = task.metadata as Partial<TaskMetadata>;
    if (meta.route?.kind !== "lb" || meta.store?.length) this.mayHaveDropped++;
    const started = Date.now();
    const t0 = performance.now();
    const told = this.spans?.begin(taskName(task), t0);
    if (told) await told.catch(() => {});
    const parent = task.header;
    const timeout = (task.metadata as Partial<TaskMetadata>).timeout;
    this.#current = parent;
    this.#currentOrigin = origin;
    this.capture.begin((name, text) => void origin.send("stream", { name, text }, { parent }));
    let status: ReplyStatus = { status: "ok" };
    let buffers: Buffer[] = [];
    // A lane says when it has sent a reply, so only lane replies may borrow reused memory; a client
    // on this host gets large arrays in the engine's store instead.
    const leases: Lease[] = [];
    const placed: StoreRef[] = [];
    const store = this.replyPlacer(task.header.session);
    const enc = {
      ...(queued.lane ? { arena: this.arena, leases } : {}),
      ...(store ? { store, placed } : {}),
    };
    try {
      const label = `engine ${this.id}`;
      switch (task.header.msg_type) {
        case "execute_request": {
          const c = (task as Message<"execute_request">).content;
          const value = await this.ns.run(c.code, { timeout, filename: c.filename ?? `[${label}] execute` });
          if (!c.silent && value !== undefined) {
            this.capture.flush();
            await origin.send("execute_result", { data: formatMimeBundle(value), metadata: {} }, { parent });
          }
          break;
        }
        case "apply_request": {
          const c = (task as Message<"apply_request">).content;
          const args = (await this.#decode(task)) as unknown[];
          const value =
            c.mode === "map"
              ? await this.ns.map(c.fn, c.name, args as ArrayLike<unknown>[], { timeout })
              : await this.ns.apply(c.fn, c.name, args, { timeout });
          buffers = await encodeValue(value, { name: "result", ...enc });
          break;
        }
        case "push_request": {
          const ns = (await this.#decode(task)) as Record<string, unknown>;
          for (const [k, v] of Object.entries(ns)) this.ns.set(k, v);
          break;
        }
        case "pull_request": {
          const c = (task as Message<"pull_request">).content;
          const value = c.single ? this.ns.get(c.names[0]!) : c.names.map((n) => this.ns.get(n));
          const into = task.buffers.length
            ? this.#intoPlacer(await decodeValue(task.buffers), enc.store)
            : undefined;
          try {
            buffers = await encodeValue(value, {
              name: c.single ? c.names[0]! : "names",
              split: c.split === true,
              ...enc,
              ...(into ? { store: into.placer } : {}),
            });
          } finally {
            into?.done();
          }
          break;
        }
      }
    } catch (e) {
      status = errorStatus(e, this.id);
      buffers = [];
      for (const l of leases.splice(0)) l.release();
      for (const ref of placed.splice(0)) store?.discard(ref);
    } finally {
      this.capture.end();
      this.#current = undefined;
      this.#currentOrigin = undefined;
    }
    const t1 = performance.now();
    this.spans?.end(t1, status.status === "error");
    this.#reply(queued, status, started, buffers, t1 - t0, leases, placed.length > 0);
  }

  #reply(
    queued: QueuedTask,
    status: ReplyStatus,
    started: number,
    buffers: Buffer[] = [],
    duration = 0,
    leases: Lease[] = [],
    stored = false,
  ): void {
    const { task, lane } = queued;
    if (
      !lane &&
      this.maxMessageBytes !== undefined &&
      buffers.some((b) => b.byteLength > this.maxMessageBytes!)
    ) {
      // The controller would drop this engine's connection for it: the client hears why instead.
      const bytes = Math.max(...buffers.map((b) => b.byteLength));
      for (const l of leases.splice(0)) l.release();
      buffers = [];
      status = {
        status: "error",
        ename: "MessageTooLarge",
        evalue: `the reply holds ${bytes} bytes in one frame, more than the controller takes (${this.maxMessageBytes}, its maxMessageBytes): return it over a lane (a direct view) or the same-host store, or start the cluster with a larger maxMessageBytes`,
        traceback: [],
        engine_id: this.id,
      };
    }
    const metadata: ReplyMetadata = { engine_id: this.id, started, completed: Date.now(), duration };
    if (stored) metadata.stored = true;
    const type = replyTypeOf(task.header.msg_type);
    const opts = { parent: task.header, metadata, buffers };
    if (!lane) {
      // A stored reply goes alone: the controller reads its metadata to know not to keep it.
      if (!stored && batchable(buffers)) {
        const header = this.controller.header(type);
        this.#replies.add({ type, header, parent_header: task.header, metadata, content: status, buffers });
      } else {
        this.#replies.drain();
        void this.controller.send(type, status, opts);
      }
      return;
    }
    // Over a lane: answer the client, then tell the controller what happened (batched).
    const { frames, tagged } = lane.codec.encode(type, status, opts, !lane.closed);
    const release = leases.length
      ? () => {
          for (const l of leases) l.release();
        }
      : undefined;
    const bytes = frames.reduce((n, f) => n + f.byteLength, 0);
    if (bytes >= LEAVE_BEFORE_NEXT_BYTES) this.#leaving = lane.writeOut(frames, release, tagged);
    else lane.write(frames, release, tagged);
    // The engine's own warm-up (lane-warm-up.ts) is nobody's task.
    if ((task.metadata as Partial<TaskMetadata>).warm_up === true) return;
    // Far below LATE_TAGS_MIN: never a trailer being filled. A stored reply's blocks are its client's.
    const keep = bytes <= RECORDED_REPLY_BYTES && !stored;
    this.#records.push({
      msg_id: task.header.msg_id,
      msg_type: task.header.msg_type,
      client: task.header.session,
      outcome: status.status,
      frames: keep ? frames.length : 0,
    });
    // Copied: leased frames go back to the arena once the lane has written them, before the
    // records leave (a later reply would overwrite what the controller keeps for getResult).
    if (keep) for (const f of frames) this.#recordFrames.push(leases.length ? Buffer.from(f) : f);
    if ((task.metadata as Partial<TaskMetadata>).assigned !== undefined) {
      // A load-balanced task: the scheduler holds this engine's slot until it hears, so no waiting.
      clearTimeout(this.#recordTimer);
      this.#recordTimer = undefined;
      setImmediate(() => this.flushRecords());
    } else this.#recordTimer ??= setTimeout(() => this.flushRecords(), RECORD_FLUSH_MS);
  }

  /**
   * A task's values, arrays in a client's store mapped here. If decoding fails, the blocks it did
   * not map are released at once (those it mapped are released when collected).
   */
  async #decode(task: TaskMessage): Promise<unknown> {
    const mapped = new Set<number>();
    const store = this.store;
    const map = store
      ? (ref: StoreRef) => {
          const memory = store.map(ref);
          mapped.add(ref.block);
          return memory;
        }
      : undefined;
    try {
      return await decodeValue(task.buffers, { map });
    } catch (e) {
      this.#releaseStored(task, mapped);
      throw e;
    }
  }

  /**
   * Where a pull's client asked for the value's large arrays to be written (slices of a block of
   * its store, in order): a placer that fills those slices that fit and hands the rest to
   * `fallback` (this engine's store). `done` unmaps what it mapped.
   */
  #intoPlacer(
    request: unknown,
    fallback: StorePlacer | undefined,
  ): { placer: StorePlacer; done(): void } | undefined {
    const store = this.store;
    const slots = (request as { into?: unknown } | null)?.into;
    if (!store || !Array.isArray(slots)) return undefined;
    const maps: ArrayBuffer[] = [];
    let next = 0;
    const placer: StorePlacer = {
      threshold: fallback?.threshold ?? 1,
      place: (length) => {
        const slot = slots[next] as { ref?: unknown; at?: unknown; length?: unknown } | undefined;
        if (slot && isStoreRef(slot.ref) && slot.length === length && Number.isSafeInteger(slot.at)) {
          next++;
          const memory = store.mapForWriting(slot.ref, slot.at as number, length);
          maps.push(memory);
          return { bytes: new Uint8Array(memory), ref: slot.ref, slice: [slot.at as number, length] };
        }
        return fallback?.place(length);
      },
      hold: () => false,
      discard: (ref) => fallback?.discard(ref),
      copy: fallback?.copy,
    };
    return {
      placer,
      done: () => {
        for (const m of maps.splice(0)) store.unmapWritten(m);
      },
    };
  }

  /** Releases the store blocks `task` carries that it has not mapped (it will not run). */
  #releaseStored(task: TaskMessage, mapped: ReadonlySet<number>): void {
    const { store: blocks, store_owner: owner } = task.metadata as Partial<TaskMetadata>;
    if (!this.store || !Array.isArray(blocks)) return;
    this.store.release(
      typeof owner === "string" ? owner : task.header.session,
      blocks.filter((b) => Number.isSafeInteger(b) && !mapped.has(b)),
    );
  }

  /** Sends the controller the records of lane tasks not yet reported. */
  flushRecords(): void {
    this.#recordTimer = undefined;
    if (!this.#records.length) return;
    const records = this.#records;
    const buffers = this.#recordFrames;
    this.#records = [];
    this.#recordFrames = [];
    void this.controller.send("task_records", { records }, { buffers });
  }
}

/** What the task stream calls a task: its function's name, or what kind of task it is. */
function taskName(task: TaskMessage): string {
  if (task.header.msg_type !== "apply_request") return task.header.msg_type.replace("_request", "");
  return (task as Message<"apply_request">).content.name || "anonymous";
}

/** Engine-side frames that only show our own plumbing. */
const INTERNAL_FRAME = /\/dist\/engines\/|node:internal|tsparallel:apply|\(node:/;

/** Turns anything thrown by user code into an error reply. */
export function errorStatus(e: unknown, engineId: EngineId): ReplyStatus {
  if (!(e instanceof Error) && !(typeof e === "object" && e !== null && "message" in e)) {
    return {
      status: "error",
      ename: typeof e === "string" ? "Error" : typeof e,
      evalue: String(e),
      traceback: [],
      engine_id: engineId,
    };
  }
  const err = e as Error;
  let evalue = String(err.message);
  if (err.name === "ReferenceError") {
    evalue += " (functions run in the engine's namespace: push the value or define it with execute() first)";
  }
  const stack = String(err.stack ?? "").split("\n");
  const traceback = stack.filter((line, i) => i === 0 || !INTERNAL_FRAME.test(line));
  return { status: "error", ename: err.name || "Error", evalue, traceback, engine_id: engineId };
}
