import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Publisher, Router } from "zeromq";
import { createLauncher } from "../launchers/create-launcher.js";
import type { Launcher } from "../launchers/launcher.js";
import type { LauncherSpec } from "../launchers/launcher-spec.js";
import { relayedParts } from "../wire/batch.js";
import { type ConnectionInfo, removeConnectionFile, writeConnectionFile } from "../wire/connection-file.js";
import type { Header } from "../wire/frames.js";
import {
  type AnyMessage,
  type ContentByType,
  ENGINE_SIGNALS,
  type EngineId,
  type EngineQueueStatus,
  isTaskRequest,
  type Message,
  type MsgType,
  OUTPUT_TYPES,
  replyTypeOf,
  type SchedulerScheme,
  type TaskMetadata,
  type TaskRequestType,
} from "../wire/messages.js";
import { SignedSocket } from "../wire/signed-socket.js";
import { Signer } from "../wire/signing.js";
import { BatchingRelay, resign } from "./batching-relay.js";
import { type EngineRecord, EngineRegistry } from "./engine-registry.js";
import { DEFAULT_HEARTBEAT, HeartbeatMonitor, type HeartbeatOptions } from "./heartbeat-monitor.js";
import { OutputRelay } from "./output-relay.js";
import { strategyFor } from "./strategies/index.js";
import { type PendingTask, TaskScheduler } from "./task-scheduler.js";
import { DEFAULT_TABLE_LIMITS, TaskTable, type TaskTableLimits } from "./task-table.js";

/** How to run a controller. */
export interface ControllerOptions {
  name: string;
  key: string;
  /** Where to write the connection file. */
  file: string;
  /** Interface to bind (default 127.0.0.1: loopback only). */
  ip?: string;
  scheme?: SchedulerScheme;
  /**
   * Load-balanced tasks in flight per engine (0 = unlimited). Without it: 2, raised for engines
   * whose tasks are short (see TaskScheduler's adaptive limit).
   */
  hwm?: number;
  /** Which launcher starts the engines, with its options (default: local child processes). */
  launcher?: LauncherSpec;
  heartbeat?: HeartbeatOptions;
  limits?: TaskTableLimits;
}

/**
 * The controller: registration, heartbeats, the direct and load-balanced schedulers, the output
 * relay and the bounded task table, on one event loop. It also owns the launcher, so a
 * cluster survives the kernel that started it.
 */
export class Controller {
  readonly registry = new EngineRegistry();
  readonly table: TaskTable;
  readonly scheduler: TaskScheduler;
  readonly #clients: SignedSocket;
  readonly #engines: SignedSocket;
  readonly #hearts: SignedSocket;
  readonly #pings: SignedSocket;
  readonly #relay: OutputRelay;
  readonly #toEngines: BatchingRelay;
  readonly #toClients: BatchingRelay;
  readonly #known = new Map<string, Buffer>();
  #monitor: HeartbeatMonitor | undefined;
  #launcher: Launcher | undefined;
  #info: ConnectionInfo | undefined;
  #stopping = false;
  /** Engines (host:pid) removed from the registry whose processes have not exited yet. */
  readonly #leaving = new Set<string>();
  readonly #registrationWaiters: (() => void)[] = [];
  readonly session = randomUUID();

  constructor(readonly opts: ControllerOptions) {
    const signer = new Signer(opts.key);
    // The controller relays payloads: it checks signatures over the JSON frames, never hashes buffers.
    const relay = (linger: number, label: string) =>
      new SignedSocket(new Router({ linger }), signer, this.session, label, "relay");
    this.#clients = relay(500, "controller/clients");
    this.#engines = relay(500, "controller/engines");
    this.#hearts = relay(0, "controller/hearts");
    this.#pings = new SignedSocket(new Publisher({ linger: 0 }), signer, this.session, "controller/pings");
    this.table = new TaskTable(opts.limits ?? DEFAULT_TABLE_LIMITS);
    this.scheduler = new TaskScheduler(
      this.registry,
      this.table,
      {
        dispatch: (t, e) => this.#dispatch(t, e),
        fail: (t, n, v) => this.#failTask(t.msg.header, t.client, n, v),
      },
      strategyFor(opts.scheme ?? "leastload"),
      opts.hwm ?? 2,
      opts.hwm === undefined,
    );
    this.#relay = new OutputRelay(this.#clients, this.table);
    this.#toEngines = new BatchingRelay(this.#engines, "task_batch");
    this.#toClients = new BatchingRelay(this.#clients, "reply_batch");
  }

  /** The launcher that starts this controller's engines (set by {@link start}). */
  get launcher(): Launcher | undefined {
    return this.#launcher;
  }

  /** Binds, writes the connection file, starts `engines` engines with the launcher. */
  async start(engines = 0): Promise<ConnectionInfo> {
    const ip = this.opts.ip ?? "127.0.0.1";
    const bind = async (s: SignedSocket) => {
      const sock = s.socket;
      if (sock instanceof Router) sock.mandatory = false;
      await sock.bind(`tcp://${ip}:0`);
      return sock.lastEndpoint!;
    };
    const info: ConnectionInfo = {
      name: this.opts.name,
      key: this.opts.key,
      signature_scheme: "hmac-sha256",
      client_url: await bind(this.#clients),
      engine_url: await bind(this.#engines),
      heartbeat_url: await bind(this.#hearts),
      ping_url: await bind(this.#pings),
      controller_pid: process.pid,
      controller_host: hostname(),
      created: new Date().toISOString(),
      scheme: this.opts.scheme ?? "leastload",
    };
    this.#info = info;
    writeConnectionFile(this.opts.file, info);
    this.#monitor = new HeartbeatMonitor(
      this.#pings,
      this.registry,
      (rec, why) => this.#engineDied(rec, why),
      this.opts.heartbeat ?? DEFAULT_HEARTBEAT,
    );
    void this.#serve(this.#clients, (m) => this.#onClient(m));
    void this.#serve(this.#engines, (m) => this.#onEngine(m));
    void this.#serve(this.#hearts, (m) => {
      if (m.header.msg_type === "heartbeat_ping") this.#monitor?.echo(m.identities[0]?.toString() ?? "");
    });
    this.#launcher = createLauncher(this.opts.launcher, {
      connectionFile: this.opts.file,
      clusterName: this.opts.name,
      onExit: (where, code, signal) => {
        const rec = this.registry
          .alive()
          .find((r) => r.info.pid === where.pid && r.info.hostname === where.hostname);
        if (rec && !this.#stopping)
          this.#engineDied(rec, signal ? `killed by ${signal}` : `exited with code ${code}`);
        this.#leaving.delete(`${where.hostname}:${where.pid}`);
      },
      log: (line) => process.stderr.write(`[tsparallel controller] ${line}\n`),
    });
    if (engines > 0) await this.#launcher.start(engines);
    return info;
  }

  async #serve(sock: SignedSocket, handle: (m: AnyMessage) => void): Promise<void> {
    try {
      for await (const msg of sock.messages()) {
        try {
          handle(msg);
        } catch (e) {
          process.stderr.write(
            `[tsparallel controller] error handling ${msg.header.msg_type}: ${(e as Error).stack}\n`,
          );
        }
      }
    } catch (e) {
      if (!this.#stopping)
        process.stderr.write(`[tsparallel controller] socket loop ended: ${(e as Error).message}\n`);
    }
  }

  // ---- clients ---------------------------------------------------------------------------------

  #onClient(msg: AnyMessage): void {
    const client = msg.identities[0]!;
    this.#known.set(client.toString("hex"), client);
    const reply = <T extends MsgType>(type: T, content: ContentByType[T]) =>
      void this.#clients.send(type, content, { identities: [client], parent: msg.header });
    if (isTaskRequest(msg)) {
      this.#submit(msg as Message<TaskRequestType>, client);
      return;
    }
    if (msg.header.msg_type === "task_batch") {
      this.scheduler.together(() => {
        for (const part of relayedParts(msg))
          if (isTaskRequest(part)) this.#submit(part as Message<TaskRequestType>, client);
      });
      return;
    }
    switch (msg.header.msg_type) {
      case "connect_request":
        reply("connect_reply", {
          engines: this.registry.alive().map((r) => r.info),
          scheme: (this.opts.scheme ?? "leastload") as SchedulerScheme,
          hwm: this.scheduler.hwm,
          cluster: this.opts.name,
        });
        return;
      case "queue_status_request": {
        const engines: Record<string, EngineQueueStatus> = {};
        for (const r of this.registry.alive()) {
          engines[r.info.id] = {
            ...r.status,
            outstanding: r.outstanding.size,
            completed: r.completed,
            state: r.status.busy ? "busy" : "idle",
          };
        }
        reply("queue_status_reply", { engines, unassigned: this.scheduler.queued });
        return;
      }
      case "abort_request": {
        const ids = new Set((msg as Message<"abort_request">).content.msg_ids);
        const removed = this.scheduler.abort(ids);
        for (const t of removed) {
          this.table.complete(t.msg.header.msg_id, "aborted", undefined);
          void this.#clients.send(
            replyTypeOf(t.msg.header.msg_type),
            { status: "aborted" },
            { identities: [t.client], parent: t.msg.header },
          );
        }
        // Tasks already at engines: the engine aborts them if they have not started.
        const byEngine = new Map<EngineRecord, string[]>();
        for (const id of ids) {
          const rec = this.table.get(id);
          const eng =
            rec?.engine !== undefined && rec.state !== "done" ? this.registry.get(rec.engine) : undefined;
          if (eng) byEngine.set(eng, [...(byEngine.get(eng) ?? []), id]);
        }
        for (const [eng, list] of byEngine)
          void this.#engines.send("abort_request", { msg_ids: list }, { identities: [eng.identity] });
        reply("abort_reply", { aborted: removed.map((t) => t.msg.header.msg_id) });
        return;
      }
      case "signal_request": {
        const c = (msg as Message<"signal_request">).content;
        const signalled: number[] = [];
        const missing = c.targets.filter((id) => !this.registry.get(id));
        if (missing.length || !ENGINE_SIGNALS.includes(c.signal)) {
          reply("signal_reply", {
            status: "error",
            evalue: missing.length
              ? `engine ${missing.join(", ")} does not exist (ids: ${this.#ids()})`
              : `cannot send "${c.signal}": choose one of ${ENGINE_SIGNALS.join(", ")}`,
          });
          return;
        }
        for (const id of c.targets) {
          const rec = this.registry.get(id)!;
          if (rec.info.hostname !== hostname()) {
            // Another host: the engine's signal thread signals its own process (it answers even
            // while the engine runs a long task; a stopped process cannot, so SIGCONT cannot).
            if (!rec.signals) {
              reply("signal_reply", {
                status: "error",
                evalue: `engine ${id} runs on ${rec.info.hostname} without a signal thread; signal its process ${rec.info.pid} there`,
              });
              return;
            }
            void this.#hearts.send(
              "signal_request",
              { targets: [id], signal: c.signal },
              { identities: [rec.signals] },
            );
            signalled.push(id);
            continue;
          }
          try {
            process.kill(rec.info.pid, c.signal);
            signalled.push(id);
          } catch (e) {
            reply("signal_reply", {
              status: "error",
              evalue: `could not signal engine ${id}: ${(e as Error).message}`,
            });
            return;
          }
        }
        reply("signal_reply", { status: "ok", signalled });
        return;
      }
      case "result_request": {
        const wanted = (msg as Message<"result_request">).content.msg_id;
        this.#answerResult(wanted, client, msg.header, true);
        return;
      }
      case "shutdown_request": {
        const { targets, hub } = (msg as Message<"shutdown_request">).content;
        if (hub) {
          reply("shutdown_reply", { status: "ok" });
          void this.stop().then(() => process.exit(0));
          return;
        }
        const recs =
          targets === "all"
            ? this.registry.alive()
            : targets.map((id) => this.registry.get(id)).filter((r) => r !== undefined);
        for (const r of recs)
          void this.#engines.send(
            "shutdown_request",
            { targets: [r.info.id], hub: false },
            { identities: [r.identity] },
          );
        reply("shutdown_reply", { status: "ok" });
        return;
      }
      case "scale_request": {
        const n = (msg as Message<"scale_request">).content.n;
        if (!Number.isInteger(n) || n < 0) {
          reply("scale_reply", {
            status: "error",
            evalue: `cannot scale to ${n} engines: give a whole number ≥ 0`,
          });
          return;
        }
        void this.scale(n).then(
          (count) => reply("scale_reply", { status: "ok", engines: count }),
          (e) => reply("scale_reply", { status: "error", evalue: (e as Error).message }),
        );
        return;
      }
      case "restart_engine_request": {
        void this.restartEngine((msg as Message<"restart_engine_request">).content.id).then(
          () => reply("restart_engine_reply", { status: "ok" }),
          (e) => reply("restart_engine_reply", { status: "error", evalue: (e as Error).message }),
        );
        return;
      }
      default:
        process.stderr.write(`[tsparallel controller] ignoring ${msg.header.msg_type} from a client\n`);
    }
  }

  /** Sends a finished task's stored reply, or says why there is none. */
  #answerResult(wanted: string, client: Buffer, parent: Header, mayWait: boolean): void {
    const rec = this.table.get(wanted);
    if ((!rec || rec.placeholder) && mayWait && !this.table.wasEvicted(wanted)) {
      // A lane task is recorded a few ms after its client has the reply: look again shortly.
      setTimeout(() => this.#answerResult(wanted, client, parent, false), 100);
      return;
    }
    if (rec?.state === "done" && rec.reply) {
      void this.#clients.queue.send([client, ...rec.reply]);
      return;
    }
    const kept = rec?.state === "done" ? rec.replyMessage : undefined;
    if (kept) {
      resign(this.#clients, client, kept); // a reply that came in a batch: signed on its own now
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
    void this.#clients.send("result_reply", { status }, { identities: [client], parent });
  }

  #ids(): string {
    return (
      this.registry
        .alive()
        .map((r) => r.info.id)
        .join(", ") || "none"
    );
  }

  /** Direct tasks go to their engine at once; load-balanced ones to the scheduler. */
  #submit(msg: Message<TaskRequestType>, client: Buffer): void {
    const route = (msg.metadata as Partial<TaskMetadata>).route;
    this.table.add({ msgId: msg.header.msg_id, type: msg.header.msg_type, header: msg.header, client });
    if (route?.kind === "direct") {
      const rec = this.registry.get(route.target);
      if (!rec) {
        this.#failTask(
          msg.header,
          client,
          "EngineError",
          `engine ${route.target} is not registered (ids: ${this.#ids()})`,
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
    if (lb.lane) this.#awaitLaneRecords(lb.lane, client);
    if (lb.targets?.length && !lb.targets.some((id) => this.registry.get(id))) {
      this.#failTask(
        msg.header,
        client,
        "EngineError",
        `none of engines ${lb.targets.join(", ")} is registered (ids: ${this.#ids()})`,
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

  /**
   * A load-balanced task depends on tasks its client sent over lanes: until their engines'
   * records arrive, placeholders keep the scheduler waiting (or tell it where to follow).
   */
  #awaitLaneRecords(lane: Record<string, EngineId>, client: Buffer): void {
    for (const [msgId, engine] of Object.entries(lane)) {
      if (this.table.get(msgId) || this.table.wasEvicted(msgId)) continue;
      const rec = this.registry.get(engine);
      const header = { msg_id: msgId, msg_type: "apply_request" } as Header;
      const t = this.table.add({ msgId, type: "apply_request", header, client, engine, placeholder: true });
      if (rec) {
        t.state = "running";
        rec.outstanding.add(msgId);
      } else this.table.complete(msgId, "error", undefined); // its engine is gone: it failed
    }
  }

  /** An engine's records of tasks clients sent it over lanes. */
  #onRecords(msg: Message<"task_records">, rec: EngineRecord | undefined): void {
    let at = 0;
    for (const r of msg.content.records) {
      const frames = msg.buffers.slice(at, at + r.frames);
      at += r.frames;
      if (rec) {
        rec.outstanding.delete(r.msg_id);
        rec.completed++;
      }
      // A load-balanced task that went over a lane: its slot is free now.
      if (this.scheduler.owns(r.msg_id)) this.scheduler.finished(r.msg_id, r.outcome, rec?.info.id);
      const known = this.table.get(r.msg_id);
      const task =
        known ??
        this.table.add({
          msgId: r.msg_id,
          type: r.msg_type,
          header: { msg_id: r.msg_id, msg_type: r.msg_type } as Header,
          client: Buffer.from(r.client),
          engine: rec?.info.id,
        });
      task.engine = rec?.info.id ?? task.engine;
      task.placeholder = false;
      task.notKept = r.frames === 0;
      this.table.complete(r.msg_id, r.outcome, r.frames ? frames : undefined);
    }
    this.scheduler.dependenciesChanged();
  }

  #dispatch(task: PendingTask, rec: EngineRecord): void {
    const t = this.table.get(task.msg.header.msg_id);
    if (t) {
      t.engine = rec.info.id;
      t.state = "running";
    }
    rec.outstanding.add(task.msg.header.msg_id);
    if ((task.msg.metadata as Partial<TaskMetadata>).assign) {
      // Its payload is still at the client, which sends it over the engine's lane.
      void this.#clients.send(
        "task_assigned",
        { engine: rec.info.id },
        { identities: [task.client], parent: task.msg.header },
      );
      return;
    }
    this.#toEngines.send(rec.identity, task.msg);
  }

  /** Answers a task with an error the controller produced (dead engine, bad target…). */
  #failTask(header: Header, client: Buffer, ename: string, evalue: string): void {
    this.table.complete(header.msg_id, "error", undefined);
    queueMicrotask(() => this.scheduler.dependenciesChanged()); // its dependants can never run
    const type = replyTypeOf(header.msg_type as TaskRequestType);
    void this.#clients.send(
      type,
      { status: "error", ename, evalue, traceback: [] },
      {
        identities: [client],
        parent: header,
        metadata: { engine_id: -1, started: 0, completed: Date.now() },
      },
    );
  }

  // ---- engines ---------------------------------------------------------------------------------

  #onEngine(msg: AnyMessage): void {
    const identity = msg.identities[0]!;
    const type = msg.header.msg_type;
    if ((OUTPUT_TYPES as readonly string[]).includes(type)) {
      this.#relay.relay(msg);
      return;
    }
    if (type === "registration_request") {
      const c = (msg as Message<"registration_request">).content;
      if (identity.toString() !== c.uuid) {
        void this.#engines.send(
          "registration_reply",
          { status: "error", evalue: "routing id and uuid differ" },
          { identities: [identity], parent: msg.header },
        );
        return;
      }
      const rec = this.registry.register(c);
      void this.#engines.send(
        "registration_reply",
        { status: "ok", id: rec.info.id, hb_interval: this.#monitor?.opts.interval ?? 0 },
        { identities: [identity], parent: msg.header },
      );
      this.#broadcast("added", rec);
      this.scheduler.pump();
      for (const w of this.#registrationWaiters.splice(0)) w();
      return;
    }
    if (type.endsWith("_reply")) {
      this.#onReply(msg, identity);
      return;
    }
    if (type === "reply_batch") {
      this.scheduler.together(() => {
        for (const part of relayedParts(msg))
          if (part.header.msg_type.endsWith("_reply")) this.#onReply(part, identity);
      });
      return;
    }
    if (type === "task_records") {
      this.#onRecords(msg as Message<"task_records">, this.registry.byUuid(identity.toString()));
      return;
    }
    if (type === "engine_status") {
      const rec = this.registry.byUuid(identity.toString());
      if (rec) rec.status = (msg as Message<"engine_status">).content;
      return;
    }
    if (type === "unregistration_request") {
      const rec = this.registry.byUuid(identity.toString());
      if (rec) this.#engineDied(rec, (msg as Message<"unregistration_request">).content.reason);
    }
  }

  #onReply(msg: AnyMessage, identity: Buffer): void {
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
    this.table.complete(parentId, outcome, msg.raw.length ? msg.raw : undefined, msg);
    this.#toClients.send(task.client, msg);
    this.scheduler.dependenciesChanged();
  }

  #engineDied(rec: EngineRecord, reason: string): void {
    if (!this.registry.remove(rec.info.id)) return;
    process.stderr.write(`[tsparallel controller] engine ${rec.info.id} is dead: ${reason}\n`);
    this.scheduler.engineDied(rec, reason);
    for (const msgId of rec.outstanding) {
      const task = this.table.get(msgId);
      if (task?.placeholder) {
        // A lane task whose record will never come: its dependants see it failed.
        this.table.complete(msgId, "error", undefined);
        continue;
      }
      if (task && task.state !== "done" && !this.scheduler.owns(msgId)) {
        // A direct task, or an LB task that was not retried: it is lost with its engine.
        const t = this.table.get(msgId);
        if (t && t.engine === rec.info.id && t.state === "running") {
          this.#failTask(
            task.header,
            task.client,
            "EngineError",
            `engine ${rec.info.id} died while running this task (${reason})`,
          );
        }
      }
    }
    rec.outstanding.clear();
    this.scheduler.dependenciesChanged();
    this.#broadcast("removed", rec, reason);
    try {
      process.kill(rec.info.pid, 0);
      if (rec.info.hostname === hostname()) process.kill(rec.info.pid, "SIGKILL");
    } catch {
      // already gone
    }
    this.#launcher?.release(rec.info);
    this.#leaving.add(`${rec.info.hostname}:${rec.info.pid}`);
  }

  #broadcast(event: "added" | "removed", rec: EngineRecord, reason?: string): void {
    for (const client of this.#known.values()) {
      void this.#clients.send(
        "engine_event",
        { event, engine: rec.info, ...(reason ? { reason } : {}) },
        { identities: [client] },
      );
    }
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /** Resolves when `n` engines are registered (or rejects after `timeoutMs`). */
  async waitForEngines(n: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.registry.alive().length < n) {
      if (Date.now() > deadline)
        throw new Error(
          `only ${this.registry.alive().length} of ${n} engines registered within ${timeoutMs} ms`,
        );
      await new Promise<void>((resolve) => {
        this.#registrationWaiters.push(resolve);
        setTimeout(resolve, 200).unref();
      });
    }
  }

  /** Starts or stops local engines until `n` are alive; resolves with the count. */
  async scale(n: number): Promise<number> {
    const alive = this.registry.alive();
    if (n > alive.length) {
      const refused = this.#launcher!.refusal("add");
      if (refused) throw new Error(refused);
      // Started and not registered yet; engines told to go still run for a moment: not pending.
      const pending = this.#launcher!.running() - alive.length - this.#leaving.size;
      const missing = n - alive.length - Math.max(0, pending);
      if (missing > 0) await this.#launcher!.start(missing);
      await this.waitForEngines(n);
    } else {
      const extra = alive.slice(n).reverse();
      const refused = extra.length ? this.#launcher!.refusal("remove") : undefined;
      if (refused) throw new Error(refused);
      for (const rec of extra) this.#stopEngine(rec, "scaled down");
    }
    return this.registry.alive().length;
  }

  #stopEngine(rec: EngineRecord, reason: string): void {
    // Signals reach only engines on this host: ask every engine to exit, wherever it runs.
    void this.#engines.send(
      "shutdown_request",
      { targets: [rec.info.id], hub: false },
      { identities: [rec.identity] },
    );
    this.#engineDied(rec, reason);
  }

  /** Replaces engine `id` with a fresh one (new id; the old one's tasks fail with EngineError). */
  async restartEngine(id: number): Promise<void> {
    const rec = this.registry.get(id);
    if (!rec) throw new Error(`engine ${id} does not exist (ids: ${this.#ids()})`);
    const refused = this.#launcher!.refusal("restart");
    if (refused) throw new Error(refused);
    const target = this.registry.alive().length;
    this.#stopEngine(rec, "restarted");
    await this.#launcher!.start(1);
    await this.waitForEngines(target);
  }

  /** Stops engines, closes sockets, removes the connection file. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#monitor?.stop();
    for (const r of this.registry.alive())
      void this.#engines.send(
        "shutdown_request",
        { targets: [r.info.id], hub: false },
        { identities: [r.identity] },
      );
    await this.#launcher?.stopAll(1500);
    if (this.#info) removeConnectionFile(this.opts.file);
    await Promise.all([
      this.#clients.close(),
      this.#engines.close(),
      this.#hearts.close(),
      this.#pings.close(),
    ]);
  }
}
