import type { MessageCodec } from "../wire/protocol/message-codec.js";
import {
  type AnyMessage,
  accepts,
  type ContentByType,
  type EngineInfo,
  type Message,
} from "../wire/protocol/messages.js";
import { type FramePlace, StreamSocket } from "../wire/transport/stream-socket.js";
import { tcpEndpoint } from "../wire/transport/tcp-endpoint.js";
import { EngineError } from "./errors.js";
import type { OutgoingTask, TaskListener } from "./outgoing-task.js";

/** How long a lane may take to connect (and shake hands) before its tasks go through the controller instead. */
const CONNECT_TIMEOUT_MS = 3000;
/** How long a broken lane's tasks wait for the controller to say why the engine went. */
const REASON_GRACE_MS = 500;

/**
 * A client's direct connection to one engine (its "lane"): a direct view's tasks go straight to
 * the engine and its outputs and reply come straight back, one hop each way instead of two
 * through the controller (see engines/README.md, "Lanes").
 *
 * If the lane cannot be opened (a firewall, an engine on another network), the tasks given to it
 * so far and every later one go through the controller, which reaches every engine. If it breaks
 * while tasks are in flight, they fail with {@link EngineError}: the engine died or dropped the
 * connection.
 */
export class EngineLane {
  readonly #sock: StreamSocket;
  readonly #listeners = new Map<string, TaskListener>();
  /** Requests that wait for an answer (aborts, placements); undefined when the lane failed. */
  readonly #requests = new Map<string, (m: AnyMessage | undefined) => void>();
  /** Tasks written before the connection opened (resent another way if it never does). */
  #unconfirmed: OutgoingTask[] | undefined = [];
  #state: "connecting" | "open" | "refused" | "broken" = "connecting";

  constructor(
    readonly engine: EngineInfo & { lane: string },
    codec: MessageCodec,
    private readonly fallback: (task: OutgoingTask) => void,
    /** Where large incoming frames may land (a gather's parts in their joined result). */
    place: FramePlace | undefined,
    /** The lane runs inside TLS (the cluster is encrypted). */
    encrypted: boolean,
  ) {
    this.#sock = StreamSocket.connect(
      tcpEndpoint(engine.lane) ?? { host: "127.0.0.1", port: 0 },
      codec,
      (msg) => this.#route(msg),
      { place, encrypted },
    );
    const socket = this.#sock.socket;
    socket.unref();
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error("connect timed out")));
    // Open once the handshake proved the engine holds the key: until then nothing was sent.
    this.#sock.onReady = () => {
      socket.setTimeout(0);
      this.#unconfirmed = undefined;
      this.#state = "open";
    };
    socket.on("close", () => this.#closed());
  }

  /**
   * `refused`: it never opened (send through the controller); `broken`: it closed after opening
   * (open a new one).
   */
  get state(): "connecting" | "open" | "refused" | "broken" {
    return this.#state;
  }

  /**
   * Sends a task to the engine; the listener gets its outputs and reply. Its `sent` runs once the
   * system has taken every byte (never, if the lane fails first and the task goes another way).
   */
  submit(task: OutgoingTask): void {
    this.#listeners.set(task.header.msg_id, task.listener);
    this.#unconfirmed?.push(task);
    this.#sock.socket.ref();
    this.#sock.send(
      task.header.msg_type,
      task.content,
      { header: task.header, metadata: task.metadata, buffers: task.buffers },
      task.sent,
    );
  }

  /** Asks the engine to drop those of `msgIds` it holds and has not started; resolves with them. */
  async abort(msgIds: readonly string[]): Promise<string[]> {
    const mine = msgIds.filter((id) => this.#listeners.has(id));
    if (!mine.length || this.#sock.closed) return [];
    const header = this.#sock.codec.header("abort_request");
    const answer = new Promise<string[]>((resolve) => {
      const timer = setTimeout(() => {
        this.#requests.delete(header.msg_id);
        resolve([]);
      }, 5000);
      this.#requests.set(header.msg_id, (m) => {
        clearTimeout(timer);
        resolve((m as Message<"abort_reply"> | undefined)?.content.aborted ?? []);
      });
    });
    this.#sock.socket.ref();
    this.#sock.send("abort_request", { msg_ids: mine }, { header });
    const aborted = await answer;
    this.#idle();
    return aborted;
  }

  /**
   * Asks the engine to place a value (its encoded `buffers`) in its store for `holders`, engines
   * of its host (see TaskRouter.placeOnHost). Resolves with the answer, or undefined when the lane
   * fails first. No time limit: the engine answers once its event loop gets to it, as it would
   * run a task.
   */
  place(
    buffers: readonly Uint8Array[],
    holders: ContentByType["store_place_request"]["holders"],
  ): Promise<Message<"store_place_reply"> | undefined> {
    const header = this.#sock.codec.header("store_place_request");
    const answer = new Promise<Message<"store_place_reply"> | undefined>((resolve) => {
      this.#requests.set(header.msg_id, (m) => {
        this.#idle();
        resolve(m as Message<"store_place_reply"> | undefined);
      });
    });
    this.#sock.socket.ref();
    this.#sock.send("store_place_request", { holders }, { header, buffers });
    return answer;
  }

  /** Tasks sent over this lane and not answered yet. */
  get inFlight(): number {
    return this.#listeners.size;
  }

  /** Bytes written to this lane's connection, and read from it. */
  get bytes(): { sent: number; received: number } {
    const socket = this.#sock.socket;
    return { sent: socket.bytesWritten ?? 0, received: socket.bytesRead ?? 0 };
  }

  #route(msg: AnyMessage): void {
    // Only what an engine sends a client over a lane may answer anything here.
    if (!accepts("clientFromLane", msg.header.msg_type)) {
      this.#sock.codec.log(`ignoring ${msg.header.msg_type} from engine ${this.engine.id}'s lane`);
      return;
    }
    const parent = (msg.parent_header as { msg_id?: string }).msg_id ?? "";
    const request = this.#requests.get(parent);
    if (request) {
      this.#requests.delete(parent);
      request(msg);
      return;
    }
    const l = this.#listeners.get(parent);
    if (!l) return;
    if (msg.header.msg_type.endsWith("_reply")) {
      this.#listeners.delete(parent);
      this.#idle();
      l.reply(msg);
    } else l.output(msg);
  }

  /** An idle lane must not keep the process alive. */
  #idle(): void {
    if (this.#listeners.size + this.#requests.size === 0) this.#sock.socket.unref();
  }

  #closed(): void {
    const unconfirmed = this.#unconfirmed;
    if (unconfirmed) {
      // Never connected: nothing reached the engine, so everything can take the other way.
      this.#state = "refused";
      this.#unconfirmed = undefined;
      for (const t of unconfirmed) {
        this.#listeners.delete(t.header.msg_id);
        this.fallback(t);
      }
    } else this.#state = "broken";
    if (!this.#listeners.size) {
      this.#fail(undefined);
      return;
    }
    // The controller usually says why an engine went (killed, heartbeat lost) a moment after its
    // connection drops: give that reason a chance to reach the tasks' errors.
    const id = this.engine.id;
    setTimeout(
      () =>
        this.#fail(
          new EngineError(
            id,
            "EngineError",
            `the connection to engine ${id} closed while this task was in flight (the engine died or was stopped)`,
          ),
        ),
      REASON_GRACE_MS,
    );
  }

  /** Fails every task in flight with `err` (once). */
  #fail(err: Error | undefined): void {
    if (err) for (const l of this.#listeners.values()) l.lost(err);
    this.#listeners.clear();
    for (const r of this.#requests.values()) r(undefined);
    this.#requests.clear();
  }

  /** The controller reports the engine gone: its tasks in flight fail with the reason. */
  engineGone(reason: string | undefined): void {
    const id = this.engine.id;
    this.close(
      new EngineError(
        id,
        "EngineError",
        `engine ${id} died while running this task${reason ? ` (${reason})` : ""}`,
      ),
    );
  }

  /** Closes the connection; tasks still in flight fail with `err`. */
  close(err?: Error): void {
    this.#unconfirmed = undefined;
    if (this.#state !== "refused") this.#state = "broken";
    this.#fail(
      err ??
        new EngineError(
          this.engine.id,
          "EngineError",
          "the client closed the lane while this task was in flight",
        ),
    );
    this.#sock.socket.destroy();
  }
}
