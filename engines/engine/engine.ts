import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { clearTimeout, setImmediate, setTimeout } from "node:timers";
import { setTimeout as delay } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import { Dealer } from "zeromq";
import { type Batchable, batchable, sendBatched, TurnBatcher, unpackBatch } from "../wire/batch.js";
import type { ConnectionInfo } from "../wire/connection-file.js";
import type { Header } from "../wire/frames.js";
import { type MessageCodec as Codec, MessageCodec, type MessageSink } from "../wire/message-codec.js";
import {
  type AnyMessage,
  type EngineId,
  type EngineStatus,
  isTaskRequest,
  type LaneTaskRecord,
  type Message,
  type ReplyMetadata,
  type ReplyStatus,
  replyTypeOf,
  type TaskMetadata,
  type TaskRequestType,
} from "../wire/messages.js";
import { formatMimeBundle, type MimeBundle, mimeShortcuts } from "../wire/mime-bundle.js";
import { type Lease, SendArena } from "../wire/send-arena.js";
import { decodeValue, encodeValue } from "../wire/serialize.js";
import { SignedSocket } from "../wire/signed-socket.js";
import { Signer } from "../wire/signing.js";
import type { StreamSocket } from "../wire/stream-socket.js";
import { Heart } from "./heart.js";
import { LaneServer, laneAddress } from "./lane-server.js";
import { Namespace } from "./namespace.js";
import { OutputCapture } from "./output-capture.js";
import { type SigintKeeper, startSigintKeeper } from "./sigint-keeper.js";
import type { SignalThreadData } from "./signal-worker.js";

/** How long an engine waits for its controller to answer registration (env: slow links). */
const REGISTRATION_TIMEOUT_MS = Number(process.env.TSPARALLEL_REGISTRATION_TIMEOUT_MS) || 15_000;
/** How long an engine outlives a lost controller connection before exiting (no orphans). */
const ORPHAN_GRACE_MS = 3_000;

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
/** How long an engine's status may lag behind when it goes idle. */
const STATUS_DELAY_MS = 100;
/** How often memory use is refreshed while nothing else changes. */
const STATUS_REFRESH_MS = 2_000;

/**
 * An engine process: registers with the controller, then runs tasks one at a time in its
 * persistent {@link Namespace}, streaming their output to the controller's relay.
 */
export class Engine {
  id: EngineId = -1;
  readonly uuid = randomUUID();
  readonly #sock: SignedSocket;
  readonly #capture = new OutputCapture();
  readonly #ns: Namespace;
  readonly #queue: QueuedTask[] = [];
  /** The status last sent to the controller. */
  #reported: EngineStatus = { busy: false, queued: 0, rss: 0 };
  #statusTimer: NodeJS.Timeout | undefined;
  #statusRefresh: NodeJS.Timeout | undefined;
  #current: Header | undefined;
  #currentOrigin: MessageSink | undefined;
  readonly #signer: Signer;
  /** Reused memory for large replies over lanes (see send-arena.ts). */
  readonly #arena = new SendArena();
  #lanes: LaneServer | undefined;
  /** Lane messages that arrived before registration finished. */
  readonly #early: [AnyMessage, StreamSocket][] = [];
  #records: LaneTaskRecord[] = [];
  #recordFrames: Uint8Array[] = [];
  #recordTimer: NodeJS.Timeout | undefined;
  /** Replies to the controller finished in one turn of the event loop leave together. */
  readonly #replies = new TurnBatcher<Batchable & { type: string }>((replies) =>
    sendBatched(
      replies,
      (r) =>
        void this.#sock.send(r.type as "apply_reply", r.content as ReplyStatus, {
          header: r.header,
          parent: r.parent_header,
          metadata: r.metadata,
          buffers: r.buffers,
        }),
      (content, buffers) => void this.#sock.send("reply_batch", content, { buffers }),
    ),
  );
  #running = false;
  /** The last large reply, until the system has taken all of it or its lane is gone (see #pump). */
  #leaving: Promise<void> | undefined;
  #heart: Heart | undefined;
  #signals: Worker | undefined;
  #registered: ((id: EngineId) => void) | undefined;
  #orphanTimer: NodeJS.Timeout | undefined;
  /** Connections to the controller that are down (see #link). */
  readonly #linksDown = new Set<"tasks" | "heart">();
  #exiting = false;

  /** `requestedId`: the id to ask the controller for (an MPI rank); it may give another. */
  constructor(
    readonly info: ConnectionInfo,
    private readonly requestedId?: EngineId,
  ) {
    const dealer = new Dealer({ routingId: this.uuid, linger: 1000 });
    this.#signer = new Signer(info.key);
    this.#sock = new SignedSocket(dealer, this.#signer, this.uuid, "engine");
    this.#ns = new Namespace({
      display: Object.assign(
        (value: unknown, metadata: Record<string, unknown> = {}) =>
          this.#display(formatMimeBundle(value), metadata),
        // display.html(…), display.png(…) …: the same shortcuts as in the kernel.
        Object.fromEntries(
          Object.entries(mimeShortcuts()).map(([name, bundle]) => [
            name,
            (...args: unknown[]) => this.#display((bundle as (...a: unknown[]) => MimeBundle)(...args), {}),
          ]),
        ),
      ),
    });
  }

  /** Connects, starts the heart, registers; resolves with the engine id. */
  async start(): Promise<EngineId> {
    const dealer = this.#sock.socket as Dealer;
    dealer.events.on("disconnect", () => this.#link("tasks", false));
    dealer.events.on("connect", () => this.#link("tasks", true));
    if (!this.info.ping_url)
      throw new Error(
        "the cluster's controller is from an older tsparallel (its connection file has no ping_url): restart the cluster",
      );
    // User code can outlive its task (a timer that throws, a promise nobody awaits): report it
    // (to the running task's stderr if there is one) and carry on, as a Python engine would.
    const stray = (e: unknown) =>
      void process.stderr.write(
        `[engine ${this.id}] uncaught error from code that outlived its task: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
    process.on("uncaughtException", stray);
    process.on("unhandledRejection", stray);
    const keeper = startSigintKeeper(() => this.#ns.interrupt());
    dealer.connect(this.info.engine_url);
    const heartId = `heart-${this.uuid}`;
    this.#heart = new Heart(this.info.ping_url, this.info.heartbeat_url, heartId, (up) =>
      this.#link("heart", up),
    );
    // The controller signals engines on its own host itself; others need a thread of their own.
    const signals = this.info.controller_host === hostname() ? undefined : this.#startSignalThread();
    const registered = new Promise<EngineId>((resolve, reject) => {
      this.#registered = resolve;
      setTimeout(
        () =>
          reject(
            new Error(
              `no registration reply from ${this.info.engine_url} within ${REGISTRATION_TIMEOUT_MS} ms`,
            ),
          ),
        REGISTRATION_TIMEOUT_MS,
      ).unref();
    });
    void this.#loop();
    const lane = process.env.TSPARALLEL_LANES === "0" ? undefined : await this.#openLanes();
    // Before registering: from then on a SIGINT must never kill an idle engine.
    const sigint: SigintKeeper = await keeper;
    this.#ns.onAwait = (on) => sigint.awaiting(on);
    await this.#sock.send("registration_request", {
      uuid: this.uuid,
      pid: process.pid,
      hostname: hostname(),
      heart: heartId,
      ...(lane ? { lane } : {}),
      ...(signals ? { signals: await signals } : {}),
      ...(this.requestedId !== undefined ? { id: this.requestedId } : {}),
    });
    this.id = await registered;
    this.#sendStatus();
    for (const [msg, lane] of this.#early.splice(0)) this.#handle(msg, lane, lane);
    return this.id;
  }

  /**
   * A connection to the controller went down or came back. An engine whose controller stays
   * unreachable for {@link ORPHAN_GRACE_MS} exits: no orphans. The heart's socket notices a link
   * that went silent without closing (see heart.ts); the task socket, a controller that closed.
   */
  #link(which: "tasks" | "heart", up: boolean): void {
    if (up) this.#linksDown.delete(which);
    else this.#linksDown.add(which);
    if (this.#linksDown.size === 0) {
      clearTimeout(this.#orphanTimer);
      this.#orphanTimer = undefined;
    } else
      this.#orphanTimer ??= setTimeout(
        () => this.exit(0, `lost the controller (${[...this.#linksDown].join(", ")} connection)`),
        ORPHAN_GRACE_MS,
      );
  }

  async #loop(): Promise<void> {
    for await (const msg of this.#sock.messages()) this.#handle(msg, this.#sock);
  }

  /** Starts the lane server; resolves with its URL (undefined when it cannot listen). */
  async #openLanes(): Promise<string | undefined> {
    const { bind, advertise } = laneAddress(this.info.engine_url);
    const codec = (): Codec => new MessageCodec(this.#signer, this.uuid, "engine lane");
    this.#lanes = new LaneServer(codec, (msg, lane) => {
      // A client may hear of this engine (and send it work) before the controller's answer to its
      // registration arrives here: hold such messages until the engine knows its id.
      if (this.id < 0) this.#early.push([msg, lane]);
      else this.#handle(msg, lane, lane);
    });
    try {
      const port = await this.#lanes.listen(bind);
      return `tcp://${advertise.includes(":") ? `[${advertise}]` : advertise}:${port}`;
    } catch (e) {
      process.stderr.write(
        `[tsparallel engine] no lane (clients go through the controller): ${(e as Error).message}\n`,
      );
      this.#lanes = undefined;
      return undefined;
    }
  }

  #handle(msg: AnyMessage, origin: MessageSink, lane?: StreamSocket): void {
    switch (msg.header.msg_type) {
      case "registration_reply": {
        const c = (msg as Message<"registration_reply">).content;
        if (c.status === "ok") this.#registered?.(c.id);
        else this.exit(1, `registration refused: ${c.evalue}`);
        return;
      }
      case "abort_request": {
        const ids = new Set((msg as Message<"abort_request">).content.msg_ids);
        const aborted: string[] = [];
        for (let i = this.#queue.length - 1; i >= 0; i--) {
          const queued = this.#queue[i]!;
          if (!ids.has(queued.task.header.msg_id)) continue;
          this.#queue.splice(i, 1);
          aborted.push(queued.task.header.msg_id);
          this.#reply(queued, { status: "aborted" }, Date.now());
        }
        this.#publishStatus();
        // A lane client waits for the answer; the controller does not.
        if (lane) lane.send("abort_reply", { aborted: aborted.reverse() }, { parent: msg.header });
        return;
      }
      case "task_batch":
        for (const part of unpackBatch(msg)) this.#handle(part, origin, lane);
        return;
      case "shutdown_request":
        if (lane) return; // only the controller may stop an engine
        this.exit(0, "shutdown requested");
        return;
      default:
        if (isTaskRequest(msg)) {
          this.#queue.push({ task: msg as TaskMessage, origin, lane });
          this.#publishStatus();
          void this.#pump();
        }
    }
  }

  /** Starts the signal thread; returns its routing id once it is connected (or after 3 s). */
  async #startSignalThread(): Promise<string> {
    const data: SignalThreadData = {
      url: this.info.heartbeat_url,
      key: this.info.key,
      identity: `signals-${this.uuid}`,
    };
    this.#signals = new Worker(new URL("./signal-worker.js", import.meta.url), {
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    this.#signals.unref();
    const worker = this.#signals;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      worker.once("message", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return data.identity;
  }

  /**
   * Tells the controller when the engine turns busy (at once: it may be about to block in a long
   * synchronous task) and, a moment later, when it is idle again (a stream of tiny tasks flips
   * between the two thousands of times a second).
   */
  #publishStatus(): void {
    if (this.#running && !this.#reported.busy) {
      this.#sendStatus();
      return;
    }
    this.#statusTimer ??= setTimeout(() => this.#sendStatus(), STATUS_DELAY_MS);
  }

  #sendStatus(): void {
    clearTimeout(this.#statusTimer);
    this.#statusTimer = undefined;
    if (this.id < 0 || this.#exiting) return;
    this.#reported = {
      busy: this.#running,
      queued: this.#queue.length + (this.#running ? 1 : 0),
      rss: process.memoryUsage.rss(),
    };
    void this.#sock.send("engine_status", this.#reported);
    clearTimeout(this.#statusRefresh);
    this.#statusRefresh = setTimeout(() => this.#sendStatus(), STATUS_REFRESH_MS);
    this.#statusRefresh.unref();
  }

  async #pump(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (let task = this.#queue.shift(); task; task = this.#queue.shift()) {
        this.#publishStatus();
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
      this.#publishStatus();
    }
  }

  #display(data: MimeBundle, metadata: Record<string, unknown>): void {
    const parent = this.#current;
    if (!parent) return;
    this.#capture.flush();
    void this.#currentOrigin?.send("display_data", { data, metadata }, { parent });
  }

  async #run(queued: QueuedTask): Promise<void> {
    const { task, origin } = queued;
    const started = Date.now();
    const t0 = performance.now();
    const parent = task.header;
    const timeout = (task.metadata as Partial<TaskMetadata>).timeout;
    this.#current = parent;
    this.#currentOrigin = origin;
    this.#capture.begin((name, text) => void origin.send("stream", { name, text }, { parent }));
    let status: ReplyStatus = { status: "ok" };
    let buffers: Buffer[] = [];
    // A lane says when it has sent a reply, so only lane replies may borrow reused memory.
    const leases: Lease[] = [];
    const enc = queued.lane ? { arena: this.#arena, leases } : {};
    try {
      const label = `engine ${this.id}`;
      switch (task.header.msg_type) {
        case "execute_request": {
          const c = (task as Message<"execute_request">).content;
          const value = await this.#ns.run(c.code, { timeout, filename: c.filename ?? `[${label}] execute` });
          if (!c.silent && value !== undefined) {
            this.#capture.flush();
            await origin.send("execute_result", { data: formatMimeBundle(value), metadata: {} }, { parent });
          }
          break;
        }
        case "apply_request": {
          const c = (task as Message<"apply_request">).content;
          const args = (await decodeValue(task.buffers)) as unknown[];
          const value =
            c.mode === "map"
              ? await this.#ns.map(c.fn, c.name, args as ArrayLike<unknown>[], { timeout })
              : await this.#ns.apply(c.fn, c.name, args, { timeout });
          buffers = await encodeValue(value, { name: "result", ...enc });
          break;
        }
        case "push_request": {
          const ns = (await decodeValue(task.buffers)) as Record<string, unknown>;
          for (const [k, v] of Object.entries(ns)) this.#ns.set(k, v);
          break;
        }
        case "pull_request": {
          const c = (task as Message<"pull_request">).content;
          const value = c.single ? this.#ns.get(c.names[0]!) : c.names.map((n) => this.#ns.get(n));
          buffers = await encodeValue(value, {
            name: c.single ? c.names[0]! : "names",
            split: c.split === true,
            ...enc,
          });
          break;
        }
      }
    } catch (e) {
      status = errorStatus(e, this.id);
      buffers = [];
      for (const l of leases.splice(0)) l.release();
    } finally {
      this.#capture.end();
      this.#current = undefined;
      this.#currentOrigin = undefined;
    }
    this.#reply(queued, status, started, buffers, performance.now() - t0, leases);
  }

  #reply(
    queued: QueuedTask,
    status: ReplyStatus,
    started: number,
    buffers: Buffer[] = [],
    duration = 0,
    leases: Lease[] = [],
  ): void {
    const { task, lane } = queued;
    const metadata: ReplyMetadata = { engine_id: this.id, started, completed: Date.now(), duration };
    const type = replyTypeOf(task.header.msg_type);
    const opts = { parent: task.header, metadata, buffers };
    if (!lane) {
      if (batchable(buffers)) {
        const header = this.#sock.header(type);
        this.#replies.add({ type, header, parent_header: task.header, metadata, content: status, buffers });
      } else {
        this.#replies.drain();
        void this.#sock.send(type, status, opts);
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
    const keep = bytes <= RECORDED_REPLY_BYTES; // far below LATE_TAGS_MIN: never a trailer being filled
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
      setImmediate(() => this.#flushRecords());
    } else this.#recordTimer ??= setTimeout(() => this.#flushRecords(), RECORD_FLUSH_MS);
  }

  #flushRecords(): void {
    this.#recordTimer = undefined;
    if (!this.#records.length) return;
    const records = this.#records;
    const buffers = this.#recordFrames;
    this.#records = [];
    this.#recordFrames = [];
    void this.#sock.send("task_records", { records }, { buffers });
  }

  /** Stops the heart, closes the socket and exits the process. */
  exit(code: number, why: string): void {
    if (why && code !== 0) process.stderr.write(`[tsparallel engine ${this.id}] exiting: ${why}\n`);
    if (this.#exiting) return;
    this.#exiting = true;
    clearTimeout(this.#statusTimer);
    clearTimeout(this.#statusRefresh);
    // The signal thread closes its own socket and ends; exiting under a live zeromq socket in a
    // worker aborts, as it does under a running proxy.
    const signals = this.#signals;
    const signalsDone = signals
      ? new Promise<void>((resolve) => {
          signals.once("exit", () => resolve());
          signals.postMessage("stop");
          setTimeout(() => void signals.terminate().finally(resolve), 1000).unref();
        })
      : Promise.resolve();
    this.#flushRecords();
    this.#lanes?.close();
    void Promise.all([signalsDone, this.#heart?.stop()])
      .then(() => this.#sock.close())
      .finally(() => process.exit(code));
  }
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
