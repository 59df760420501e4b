import { constants } from "node:buffer";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { Publisher, Router } from "zeromq";
import { IdleCollector } from "../idle-collector.js";
import { createLauncher } from "../launchers/create-launcher.js";
import type { Launcher } from "../launchers/launcher.js";
import type { LauncherSpec } from "../launchers/launcher-spec.js";
import { hostIdentity } from "../store/host-identity.js";
import {
  type ConnectionInfo,
  removeConnectionFile,
  writeConnectionFile,
} from "../wire/protocol/connection-file.js";
import type { CodecOptions } from "../wire/protocol/message-codec.js";
import { dispatch, UNHANDLED } from "../wire/protocol/message-table.js";
import type { AnyMessage, ContentByType, SchedulerScheme } from "../wire/protocol/messages.js";
import { Signer } from "../wire/protocol/signing.js";
import { controllerSecurity, encryptsByDefault } from "../wire/transport/controller-auth.js";
import { SignedSocket } from "../wire/transport/signed-socket.js";
import { clientHandlers } from "./client-handlers.js";
import type { ControllerParts } from "./controller-parts.js";
import { CoreSlots } from "./core-slots.js";
import { EngineControl } from "./engine-control.js";
import { engineHandlers } from "./engine-handlers.js";
import { type EngineRecord, EngineRegistry } from "./engine-registry.js";
import { DEFAULT_HEARTBEAT, HeartbeatMonitor, type HeartbeatOptions } from "./heartbeat-monitor.js";
import { OutputRelay } from "./output-relay.js";
import { TaskRouting } from "./task-routing.js";
import { TaskStream } from "./task-stream.js";
import { DEFAULT_TABLE_LIMITS, TaskTable, type TaskTableLimits } from "./task-table.js";
import { ZapHandler } from "./zap-handler.js";

/** How to run a controller. */
export interface ControllerOptions {
  name: string;
  key: string;
  /** Where to write the connection file. */
  file: string;
  /** Interface to bind (default 127.0.0.1: loopback only). */
  ip?: string;
  /**
   * Encrypt the cluster's traffic: CURVE on ZeroMQ sockets, TLS 1.3 on lanes, keys derived from
   * `key` (see wire/transport/controller-auth.ts). Default: on unless `ip` is a loopback address.
   */
  encrypt?: boolean;
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
  /**
   * The largest frame a client or engine may send the controller, in bytes (ZMQ_MAXMSGSIZE; a
   * peer that sends a larger one is disconnected). Clients and engines read it from the connection
   * file and refuse to send more. Default: the largest buffer Node.js can hold, at most 4 GiB.
   */
  maxMessageBytes?: number;
  /** How long an assigned task's payload may take to reach its engine, in ms (default 60,000). */
  assignmentTimeout?: number;
  /** How many dead engines the controller replaces over its life (default 0). */
  respawn?: number;
}

/** See {@link ControllerOptions.maxMessageBytes}. */
export const DEFAULT_MAX_MESSAGE_BYTES = Math.min(constants.MAX_LENGTH, 2 ** 32);

/** The largest frame a heart or subscriber sends (echoed pings, subscriptions): they are tiny. */
const SMALL_MESSAGE_BYTES = 64 * 1024;

/**
 * The controller: it binds the sockets clients, engines and hearts connect to, writes the
 * connection file, and hands every message to the handler map of the socket it came in on
 * (client-handlers.ts, engine-handlers.ts). The task path is {@link TaskRouting}'s, the engines'
 * lifecycle {@link EngineControl}'s. It also owns the launcher, so a cluster survives the kernel
 * that started it.
 */
export class Controller implements ControllerParts {
  readonly registry = new EngineRegistry();
  /** This host's core board: engines here borrow idle cores for large multiplies. */
  readonly cores = CoreSlots.open();
  readonly table: TaskTable;
  readonly tasks: TaskRouting;
  readonly control: EngineControl;
  readonly relay: OutputRelay;
  readonly stream: TaskStream;
  readonly clients: SignedSocket;
  readonly engines: SignedSocket;
  readonly #hearts: SignedSocket;
  readonly #pings: SignedSocket;
  /**
   * Clients that have sent anything (routing id hex → one copy of the id): they hear of engines
   * coming and going, and their messages are handled with that copy. The id a message arrives
   * with is a view of its frames and keeps their whole receive buffer: kept in 50,000 task
   * records, such views held ~40 MB of ZeroMQ's receive batches.
   */
  readonly #known = new Map<string, Buffer>();
  readonly #zap: ZapHandler;
  /** Whether traffic is encrypted (see {@link ControllerOptions.encrypt}). */
  readonly encrypted: boolean;
  #monitor: HeartbeatMonitor | undefined;
  #info: ConnectionInfo | undefined;
  #stopping = false;
  /** One full collection after a burst, once quiet (the controller runs without V8's memory reducer). */
  readonly #collector = new IdleCollector({ rssGrowth: 1.25 });
  readonly session = randomUUID();

  constructor(readonly opts: ControllerOptions) {
    const signer = new Signer(opts.key);
    this.encrypted = opts.encrypt ?? encryptsByDefault(opts.ip ?? "127.0.0.1");
    if (this.encrypted && !signer.enabled)
      throw new TypeError(
        "an encrypted cluster needs a key: give one, or turn encryption off on a network you trust",
      );
    this.#zap = new ZapHandler(signer, this.encrypted);
    const security = controllerSecurity(signer, this.encrypted);
    const limit = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    // The controller relays payloads: it checks signatures over the JSON frames, never hashes buffers.
    // Every socket admits only peers that hold the cluster key (see controller-auth.ts).
    const relay = (linger: number, maxMessageSize: number, label: string, opts: CodecOptions = {}) =>
      new SignedSocket(
        // A peer that reconnects (after a pause, or a link that went silent) keeps its routing id:
        // its new connection takes over from the stale one (ZMQ_ROUTER_HANDOVER).
        new Router({ linger, maxMessageSize, handover: true, ...security }),
        signer,
        this.session,
        label,
        "relay",
        opts,
      );
    this.clients = relay(500, limit, "controller/clients");
    this.engines = relay(500, limit, "controller/engines");
    // Every heart echoes the same ping: repeats are the rule here (the monitor checks its seq).
    this.#hearts = relay(0, SMALL_MESSAGE_BYTES, "controller/hearts", { replays: "accept" });
    this.#pings = new SignedSocket(
      new Publisher({ linger: 0, maxMessageSize: SMALL_MESSAGE_BYTES, ...security }),
      signer,
      this.session,
      "controller/pings",
    );
    this.table = new TaskTable(opts.limits ?? DEFAULT_TABLE_LIMITS);
    this.tasks = new TaskRouting(this.registry, this.table, this.clients, this.engines, {
      scheme: this.scheme,
      hwm: opts.hwm,
      assignmentTimeout: opts.assignmentTimeout,
    });
    this.control = new EngineControl(this.registry, this.engines, this.#hearts, this.tasks, {
      added: (rec) => this.#broadcast("added", rec),
      removed: (rec, reason) => {
        this.cores.gone(rec.info.id);
        this.#broadcast("removed", rec, reason);
      },
    });
    this.relay = new OutputRelay(this.clients, this.table);
    this.stream = new TaskStream(this.registry, () => this.tasks.scheduler.queued);
  }

  get name(): string {
    return this.opts.name;
  }

  get scheme(): SchedulerScheme {
    return this.opts.scheme ?? "leastload";
  }

  get heartbeatInterval(): number {
    return this.#monitor?.opts.interval ?? 0;
  }

  /** The launcher that starts this controller's engines (set by {@link start}). */
  get launcher(): Launcher | undefined {
    return this.control.launcher;
  }

  /** The one copy of client `from`'s routing id (see #known). */
  #client(from: Buffer): Buffer {
    const key = from.toString("hex");
    let id = this.#known.get(key);
    if (!id) {
      id = Buffer.from(from);
      this.#known.set(key, id);
    }
    return id;
  }

  /** Binds, writes the connection file, starts `engines` engines with the launcher. */
  async start(engines = 0): Promise<ConnectionInfo> {
    const ip = this.opts.ip ?? "127.0.0.1";
    await this.#zap.start(); // before any socket is bound: without it, libzmq admits anyone
    // A client whose connection ends hears of engines no more, and its assignments end.
    this.clients.watchPeers((client) => {
      this.#known.delete(client.toString("hex"));
      this.tasks.clientGone(client);
    });
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
      client_url: await bind(this.clients),
      engine_url: await bind(this.engines),
      heartbeat_url: await bind(this.#hearts),
      ping_url: await bind(this.#pings),
      controller_pid: process.pid,
      controller_host: hostname(),
      ...(hostIdentity() ? { controller_host_id: hostIdentity() } : {}),
      created: new Date().toISOString(),
      scheme: this.scheme,
      max_message_bytes: this.opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      ...(this.encrypted ? { encrypted: true } : {}),
    };
    this.#info = info;
    writeConnectionFile(this.opts.file, info);
    this.#monitor = new HeartbeatMonitor(
      this.#pings,
      this.registry,
      (rec, why) => this.control.died(rec, why),
      this.opts.heartbeat ?? DEFAULT_HEARTBEAT,
    );
    this.stream.start();
    const fromClients = clientHandlers(this);
    const fromEngines = engineHandlers(this);
    void this.#serve(
      this.clients,
      "a client",
      (m, from) => dispatch(fromClients, m, this.#client(from)) !== UNHANDLED,
    );
    void this.#serve(this.engines, "an engine", (m, from) => dispatch(fromEngines, m, from) !== UNHANDLED);
    void this.#serve(this.#hearts, "a heart", (m, from) => {
      if (m.header.msg_type !== "heartbeat_ping") return false;
      this.#monitor?.echo(from.toString(), (m.content as { seq?: unknown }).seq);
      return true;
    });
    this.control.launcher = createLauncher(this.opts.launcher, {
      connectionFile: this.opts.file,
      clusterName: this.opts.name,
      onExit: (where, code, signal) => this.control.exited(where, code, signal),
      log: (line) => process.stderr.write(`[tsparallel controller] ${line}\n`),
    });
    this.control.respawnsLeft = this.opts.respawn ?? 0;
    if (engines > 0) await this.control.launcher.start(engines);
    return info;
  }

  /** Receives on `sock` until it closes; `handle` returns false for a message its socket does not take. */
  async #serve(
    sock: SignedSocket,
    peer: string,
    handle: (m: AnyMessage, from: Buffer) => boolean,
  ): Promise<void> {
    try {
      for await (const msg of sock.messages()) {
        // Clients drive the bursts; engines' heartbeats, status and spans never stop.
        if (sock === this.clients) this.#collector.saw();
        const from = msg.identities[0] ?? Buffer.alloc(0);
        try {
          if (!handle(msg, from))
            sock.codec.log(`ignoring ${msg.header.msg_type} from ${peer}: not a message it may send here`);
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

  #broadcast(event: ContentByType["engine_event"]["event"], rec: EngineRecord, reason?: string): void {
    for (const client of this.#known.values()) {
      void this.clients.send(
        "engine_event",
        { event, engine: rec.info, ...(reason ? { reason } : {}) },
        { identities: [client] },
      );
    }
  }

  /** Resolves when `n` engines are registered (or rejects after `timeoutMs`). */
  waitForEngines(n: number, timeoutMs = 30_000): Promise<void> {
    return this.control.waitForEngines(n, timeoutMs);
  }

  /** Stops engines, closes sockets, removes the connection file. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#monitor?.stop();
    this.#collector.stop();
    this.stream.stop();
    await this.control.stopAll();
    if (this.#info) removeConnectionFile(this.opts.file);
    await Promise.all([
      this.clients.close(),
      this.engines.close(),
      this.#hearts.close(),
      this.#pings.close(),
    ]);
    this.cores.close();
    this.#zap.close();
  }
}
