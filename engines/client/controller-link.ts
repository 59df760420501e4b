import { EventEmitter } from "node:events";
import { Dealer } from "zeromq";
import { interruption } from "../cancellation.js";
import {
  controllerPidHere,
  PAUSED_GRACE_MS,
  PRESENCE_CHECK_MS,
  silentController,
} from "../controller-presence.js";
import { sessionName } from "../store/host-identity.js";
import { type Batchable, batchable, sendBatched, unpackBatch } from "../wire/protocol/batch.js";
import type { ConnectionInfo } from "../wire/protocol/connection-file.js";
import {
  type AnyMessage,
  accepts,
  type ContentByType,
  type ControlReply,
  type ControlRequestType,
  type EngineId,
  type EngineInfo,
  type Message,
  type TaskRequestType,
} from "../wire/protocol/messages.js";
import { Signer } from "../wire/protocol/signing.js";
import { controllerCredentials } from "../wire/transport/controller-auth.js";
import { SignedSocket } from "../wire/transport/signed-socket.js";
import { TurnBatcher } from "../wire/transport/turn-batcher.js";
import { ClusterError } from "./errors.js";
import type { OutgoingTask, TaskListener } from "./outgoing-task.js";

/** How long a client waits for a controller it cannot reach before it gives up on it. */
const RECONNECT_GRACE_MS = 15_000;

/** How long a control request waits for its answer, and what may cancel it. */
export interface RequestOptions {
  /** In ms (default 10,000). */
  timeout?: number;
  signal?: AbortSignal;
}

/** Events a {@link ControllerLink} emits. */
export interface LinkEvents {
  engineAdded: [EngineInfo];
  engineRemoved: [EngineInfo, string | undefined];
  controllerLost: [ClusterError];
  /** The connection came back after it was down: what was said meanwhile may be missing. */
  reconnected: [];
  /** An engine released blocks of this client's store. */
  storeRelease: [EngineId, number[]];
}

/**
 * A client's connection to the controller: one DEALER socket, requests matched to replies by
 * parent msg_id, task messages handed to their listeners, and detection of a controller that
 * went away (socket disconnect or ZMTP heartbeat timeout, then no reconnection in time) so
 * nothing waits forever.
 */
export class ControllerLink extends EventEmitter<LinkEvents> {
  readonly sock: SignedSocket;
  readonly #listeners = new Map<string, TaskListener>();
  readonly #requests = new Map<string, { resolve: (m: AnyMessage) => void; reject: (e: Error) => void }>();
  #lost: ClusterError | undefined;
  #closed = false;
  /** A ref'd timer while anything is awaited: zeromq sockets alone do not keep Node alive. */
  #keepAlive: NodeJS.Timeout | undefined;

  #updateKeepAlive(): void {
    const busy = this.#listeners.size + this.#requests.size > 0 && !this.#lost;
    // One timer for the link's life, ref'd while busy: cheaper than a new timer per task.
    if (busy) {
      this.#keepAlive ??= setInterval(() => {}, 1 << 30);
      this.#keepAlive.ref();
    } else this.#keepAlive?.unref();
  }

  /** Messages received that belong to no request or task of this client (should stay 0). */
  unmatched = 0;
  /**
   * Tasks submitted in this turn of the event loop, sent together when it ends: a flood of
   * lb.apply calls leaves as a few batches, a lone task as itself.
   */
  readonly #outbox = new TurnBatcher<Batchable & { type: TaskRequestType }>((tasks) =>
    sendBatched(
      tasks,
      (t) =>
        void this.sock.send(t.type, t.content as ContentByType[TaskRequestType], {
          header: t.header,
          metadata: t.metadata,
          buffers: t.buffers,
        }),
      (content, buffers) => void this.sock.send("task_batch", content, { buffers }),
    ),
  );

  constructor(
    readonly info: ConnectionInfo,
    /** Tell engines this client's host and process in its session name (see sessionName). */
    sharesMemory = false,
  ) {
    super();
    const session = sessionName(sharesMemory);
    const signer = new Signer(info.key);
    const dealer = new Dealer({
      routingId: session,
      ...controllerCredentials(signer, info.encrypted === true),
      linger: 0,
      heartbeatInterval: 1000,
      heartbeatTimeout: 4000,
      heartbeatTimeToLive: 4000,
    });
    this.sock = new SignedSocket(dealer, signer, session, "client");
    // The controller turns away a client without the cluster's key in the handshake (see
    // controller-auth.ts): say so at once, rather than time out or call it lost.
    const refused = () => {
      if (this.#closed) return;
      this.#fail(
        new ClusterError(
          "CONTROLLER_UNREACHABLE",
          `the controller at ${info.client_url} refused this client: the key in its connection file is not the cluster's (is the file from an older run of the cluster?)`,
        ),
      );
    };
    dealer.events.on("handshake:error:auth", refused);
    // A client in the clear meets a CURVE controller with a protocol error, or a connection the
    // controller closes mid-handshake; a CURVE client of another key is not answered at all (the
    // controller cannot read its hello). Handshakes that break again and again before any has
    // succeeded mean the same: this client cannot be admitted.
    dealer.events.on("handshake:error:protocol", refused);
    let broken = 0;
    let shookHands = false;
    dealer.events.on("handshake:error:other", () => {
      if (!shookHands && ++broken >= 2) refused();
    });
    // A silent or closed connection is not yet a lost controller: ZeroMQ reconnects by itself, and
    // a controller that was stopped or stalled answers again where it left off (see #waitForController).
    dealer.events.on("disconnect", () => {
      if (!this.#closed && !this.#lost) this.#waitForController();
    });
    dealer.events.on("handshake", () => {
      shookHands = true;
      if (this.#down === undefined) return;
      clearInterval(this.#down.check);
      this.#down = undefined;
      this.#resume();
      this.emit("reconnected");
    });
    dealer.connect(info.client_url);
    void this.#loop();
  }

  /** While the connection is down: since when, and the check that gives up on the controller. */
  #down: { since: number; check: NodeJS.Timeout } | undefined;

  /**
   * The connection to the controller is down. Tasks and requests wait while ZeroMQ reconnects: a
   * controller that was stopped (SIGSTOP, a VM stall) answers them when it runs again. A controller
   * on this host whose process has exited is lost at once; one on this host whose process still
   * exists (stopped, or stalled) is waited for up to {@link PAUSED_GRACE_MS}; any other for
   * {@link RECONNECT_GRACE_MS}. Then everything fails with `CONTROLLER_LOST`.
   */
  #waitForController(): void {
    if (this.#down) return;
    const info = this.info;
    const pidHere = controllerPidHere(info);
    const since = Date.now();
    const check = setInterval(() => {
      const state = silentController(pidHere);
      const gone = state === "gone";
      const waited = Date.now() - since;
      const limit = state === "paused" ? PAUSED_GRACE_MS : RECONNECT_GRACE_MS;
      if (!gone && waited < limit) return;
      this.#fail(
        new ClusterError(
          "CONTROLLER_LOST",
          gone
            ? `the controller at ${info.client_url} (pid ${info.controller_pid}) has exited; unfinished tasks cannot complete. Start the cluster again and reconnect.`
            : `the controller at ${info.client_url} has not answered for ${Math.round(waited / 1000)} s; unfinished tasks are given up. If it runs again, connect a new client.`,
        ),
      );
    }, PRESENCE_CHECK_MS);
    check.unref();
    this.#down = { since, check };
  }

  /**
   * After a reconnection: what the controller sent while the connection was down may have gone to
   * the connection that died, so each task still waited for is asked for again (`result_request`):
   * a finished one's reply comes again, a running one's comes when it ends, and one the
   * controller never received fails with `CONTROLLER_LOST` (submit it again).
   */
  #resume(): void {
    for (const msgId of [...this.#listeners.keys()])
      this.request("result_request", { msg_id: msgId }).then(
        (m) => {
          const status = m.content.status;
          if (status === "sent" || status === "pending") return;
          const listener = this.#listeners.get(msgId);
          if (!listener) return; // answered meanwhile
          this.#listeners.delete(msgId);
          this.#updateKeepAlive();
          listener.lost(
            status === "unknown"
              ? new ClusterError(
                  "CONTROLLER_LOST",
                  `task ${msgId} did not reach the controller before the connection dropped: submit it again`,
                )
              : new ClusterError(
                  "RESULT_UNAVAILABLE",
                  `the reply to task ${msgId} was lost while the controller was unreachable, and the controller did not keep it (${status})`,
                ),
          );
        },
        () => {}, // lost again, or no answer: the link's own failure says why
      );
  }

  /** @internal Control requests waiting for their answers. */
  get pendingRequests(): number {
    return this.#requests.size;
  }

  /** The reason the link is unusable, if it is. */
  get lostReason(): ClusterError | undefined {
    return this.#lost;
  }

  #fail(err: ClusterError): void {
    if (this.#lost) return;
    this.#lost = err;
    clearInterval(this.#down?.check);
    this.#down = undefined;
    for (const l of this.#listeners.values()) l.lost(err);
    this.#listeners.clear();
    for (const r of this.#requests.values()) r.reject(err);
    this.#requests.clear();
    this.#updateKeepAlive();
    this.emit("controllerLost", err);
  }

  async #loop(): Promise<void> {
    try {
      for await (const msg of this.sock.messages()) this.#route(msg);
    } catch (e) {
      if (!this.#closed)
        this.#fail(
          new ClusterError("CONTROLLER_LOST", `the controller connection failed: ${(e as Error).message}`),
        );
    }
  }

  #route(msg: AnyMessage): void {
    if (!accepts("clientFromController", msg.header.msg_type)) {
      this.sock.codec.log(`ignoring ${msg.header.msg_type} from the controller`);
      return;
    }
    if (msg.header.msg_type === "reply_batch") {
      for (const part of unpackBatch(msg)) this.#route(part);
      return;
    }
    if (msg.header.msg_type === "store_release") {
      const { engine, blocks } = (msg as Message<"store_release">).content;
      if (typeof engine === "number" && Array.isArray(blocks)) this.emit("storeRelease", engine, blocks);
      return;
    }
    if (msg.header.msg_type === "engine_event") {
      const c = (msg as Message<"engine_event">).content;
      if (c.event === "added") this.emit("engineAdded", c.engine);
      else this.emit("engineRemoved", c.engine, c.reason);
      return;
    }
    const parent = (msg.parent_header as { msg_id?: string }).msg_id ?? "";
    const req = this.#requests.get(parent);
    if (req) {
      this.#requests.delete(parent);
      this.#updateKeepAlive();
      req.resolve(msg);
      return;
    }
    const l = this.#listeners.get(parent);
    if (!l) {
      this.unmatched++;
      return;
    }
    if (msg.header.msg_type.endsWith("_reply")) {
      this.#listeners.delete(parent);
      this.#updateKeepAlive();
      l.reply(msg);
    } else l.output(msg);
  }

  #check(): void {
    if (this.#lost) throw this.#lost.again();
  }

  /** Sends a control request and resolves with the controller's answer. */
  async request<T extends ControlRequestType>(
    type: T,
    content: ContentByType[T],
    opts: RequestOptions = {},
  ): Promise<ControlReply<T>> {
    this.#check();
    if (opts.signal?.aborted) throw interruption(opts.signal);
    this.#outbox.drain(); // a control request (abort…) must not overtake the tasks it is about
    const header = this.sock.header(type);
    const timeoutMs = opts.timeout ?? 10_000;
    const answer = new Promise<AnyMessage>((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", cancel);
        this.#requests.delete(header.msg_id);
        this.#updateKeepAlive();
      };
      const cancel = () => {
        settle();
        reject(interruption(opts.signal!));
      };
      const timer = setTimeout(() => {
        settle();
        reject(
          new ClusterError(
            "CONTROLLER_UNREACHABLE",
            `no answer to ${type} from the controller at ${this.info.client_url} within ${timeoutMs} ms: is the cluster running (\`tsparallel cluster list\`), and is the key in the connection file the cluster's? (a controller drops messages with a bad signature)`,
          ),
        );
      }, timeoutMs);
      opts.signal?.addEventListener("abort", cancel, { once: true });
      this.#requests.set(header.msg_id, {
        resolve: (m) => {
          settle();
          resolve(m);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      });
    });
    this.#updateKeepAlive();
    // The answer can fail (a controller that refuses this client, a lost link) while the send still
    // waits for a connection that will never come: then the send is not waited for, and the
    // failure is this call's, not an unhandled rejection.
    await Promise.race([this.sock.send(type, content, { header }), answer]);
    return answer as Promise<ControlReply<T>>;
  }

  /**
   * Sends a task through the controller; its listener receives its outputs and reply. Throws
   * `MESSAGE_TOO_LARGE` for a buffer larger than the controller takes (it would drop the link).
   */
  submit(task: OutgoingTask): void {
    this.#check();
    const { header, metadata, buffers, content } = task;
    const limit = this.info.max_message_bytes;
    if (limit !== undefined)
      for (const b of buffers)
        if (b.byteLength > limit)
          throw new ClusterError(
            "MESSAGE_TOO_LARGE",
            `this task carries ${b.byteLength} bytes in one frame through the controller, which takes at most ${limit} (maxMessageBytes): send it over a lane (no retries, lanes on) or the same-host store, or start the cluster with a larger maxMessageBytes`,
          );
    this.#listeners.set(header.msg_id, task.listener);
    this.#updateKeepAlive();
    if (batchable(buffers)) this.#outbox.add({ type: header.msg_type, header, metadata, content, buffers });
    else {
      this.#outbox.drain(); // keep submission order
      void this.sock.send(header.msg_type, content as ContentByType[TaskRequestType], {
        header,
        metadata,
        buffers,
      });
    }
  }

  /** Stops listening for a task that was answered another way (over a lane). */
  forget(msgId: string): void {
    if (this.#listeners.delete(msgId)) this.#updateKeepAlive();
  }

  /** Registers a listener for a msg_id submitted earlier (used by `getResult`). */
  listen(msgId: string, listener: TaskListener): void {
    this.#check();
    this.#listeners.set(msgId, listener);
    this.#updateKeepAlive();
  }

  /** Closes the socket; pending tasks are failed. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#outbox.drain();
    this.#fail(new ClusterError("CONTROLLER_LOST", "the client was closed before the task finished"));
    this.#closed = true;
    // What later calls are told: the client, not a task of theirs, was closed.
    this.#lost = new ClusterError(
      "CONTROLLER_LOST",
      "this client is closed (its cluster was stopped, or close() was called): connect again with Client.connect(name), or start a cluster",
    );
    clearInterval(this.#keepAlive);
    await this.sock.close();
  }
}
