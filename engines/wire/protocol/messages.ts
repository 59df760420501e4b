import type { CoreBoardRef } from "../../store/core-board.js";
import type { MimeBundle } from "../values/mime-bundle.js";
import type { ReplyType, RequestType, TableMessage, TypeOf } from "./message-table.js";

/**
 * The cluster protocol's message table.
 *
 * Every msg_type the controller, engines and clients exchange is one key of
 * {@link ContentByType}; the message, union and handler-map types below are derived from it, so a
 * new message is added in exactly one place. This file imports nothing from zeromq.
 */

/** Numeric engine id, assigned by the controller in registration order (0, 1, 2, …). */
export type EngineId = number;

/**
 * Lifecycle of an engine as the controller sees it. `paused`: a client sent it SIGSTOP through the
 * controller, which then expects no heartbeat and gives it no load-balanced task until SIGCONT.
 */
export type EngineState = "registering" | "idle" | "busy" | "paused" | "dead";

/** Load-balancing schemes the controller's task scheduler offers. */
export type SchedulerScheme = "leastload" | "lru" | "random" | "weighted";

/** What a client learns about an engine. */
export interface EngineInfo {
  id: EngineId;
  uuid: string;
  pid: number;
  hostname: string;
  /** Where clients reach the engine directly (`tcp://host:port`), when it offers a lane. */
  lane?: string;
  /**
   * The engine's host as shared memory sees it (boot id, pid and user namespaces, uid; see
   * store/host-identity.ts), when it can map clients' store blocks: a client with the same identity
   * places large arrays in its store for it.
   */
  host_id?: string;
}

/** An engine's self-reported status (`engine_status`, sent when it changes). */
export interface EngineStatus {
  busy: boolean;
  /** Tasks received and not yet finished, the running one included. */
  queued: number;
  /** Resident set size in bytes. */
  rss: number;
}

/** How a task reaches its engine: a named engine, or the load balancer. */
export type Route =
  | { kind: "direct"; target: EngineId }
  | {
      kind: "lb";
      /** Restrict to these engines (default: all). */
      targets?: EngineId[];
      /** Re-run on another engine this many times if it fails or its engine dies. */
      retries?: number;
      /** Run only after these msg_ids have finished (successfully, unless `afterAny`). */
      after?: string[];
      /** Run on the engine(s) where these msg_ids ran. */
      follow?: string[];
      /**
       * Dependencies that went to an engine over a lane (msg_id → engine): the controller hears
       * of them only when the engine records them, so it waits for that record.
       */
      lane?: Record<string, EngineId>;
    };

/** Per-task options carried in request metadata. */
export interface TaskMetadata {
  route: Route;
  /** Wall-clock limit in milliseconds; the engine stops the task when it is reached. */
  timeout?: number;
  /**
   * A load-balanced task whose payload goes over a lane: the controller schedules it without
   * its buffers and answers `task_assigned`; the client then sends it to that engine.
   */
  assign?: boolean;
  /** The engine the controller assigned this task to (set on the copy sent over the lane). */
  assigned?: EngineId;
  /**
   * Blocks of the sender's shared-memory store the task's values lie in: an engine that drops the
   * task without decoding it (an abort) releases them.
   */
  store?: number[];
  /**
   * Whose store those blocks are in, when not the sender's: the engine (its uuid) that placed a
   * value once for the engines of its host (`store_place_request`).
   */
  store_owner?: string;
  /** An engine's task to itself before it registers (engine/lane-warm-up.ts): never recorded. */
  warm_up?: boolean;
  [extra: string]: unknown;
}

/** Timing and placement metadata an engine attaches to every reply. */
export interface ReplyMetadata {
  engine_id: EngineId;
  /** Epoch milliseconds. */
  started: number;
  completed: number;
  /** How long the task ran, in ms (sub-millisecond resolution). */
  duration?: number;
  /** The reply's arrays lie in the engine's store, held for the submitting client only: not for others to fetch. */
  stored?: true;
  [extra: string]: unknown;
}

/** The status part every reply carries. */
export type ReplyStatus =
  | { status: "ok" }
  | { status: "error"; ename: string; evalue: string; traceback: string[]; engine_id?: EngineId }
  | { status: "aborted" };

/** What an engine tells the controller about a task a client sent it over a lane. */
export interface LaneTaskRecord {
  msg_id: string;
  msg_type: TaskRequestType;
  /** The submitting client's session (its routing id at the controller). */
  client: string;
  outcome: "ok" | "error" | "aborted";
  /** How many of the message's buffers are this task's reply frames (0: too large to keep). */
  frames: number;
}

/**
 * Why the controller refused a control request (`signal_request`, `scale_request`,
 * `restart_engine_request`, `shutdown_request`); the client raises a ClusterError with this code.
 */
export type RefusalCode =
  /** The request names an engine that is not registered. */
  | "INVALID_TARGET"
  /** A signal the controller does not send. */
  | "INVALID_SIGNAL"
  /** The engine's process could not be signalled (gone, another host without a signal thread). */
  | "SIGNAL_FAILED"
  /** `scale` to a count that is not a whole number ≥ 0. */
  | "INVALID_ENGINE_COUNT"
  /** The launcher cannot make this change (an MPI world cannot grow, Slurm cannot restart one). */
  | "LAUNCHER_REFUSED"
  /** The launcher tried and failed (its message says why: sbatch's error, ssh's stderr …). */
  | "LAUNCHER_FAILED"
  /** The launcher started engines that did not register in time. */
  | "ENGINES_LATE"
  /** The request's content is not what its type requires (a peer with the key, but a bug or worse). */
  | "MALFORMED_REQUEST";

/** A refused control request's reply. */
export interface Refusal {
  status: "error";
  code: RefusalCode;
  evalue: string;
}

/** Signals a client may ask the controller to send to engines (`signal_request`). */
export const ENGINE_SIGNALS: readonly NodeJS.Signals[] = [
  "SIGINT",
  "SIGTERM",
  "SIGKILL",
  "SIGHUP",
  "SIGQUIT",
  "SIGUSR1",
  "SIGUSR2",
  "SIGSTOP",
  "SIGCONT",
];

/** Per-engine counts for `queue_status`. */
export interface EngineQueueStatus extends EngineStatus {
  /** Tasks the controller has sent to this engine and not seen finish. */
  outstanding: number;
  completed: number;
  state: EngineState;
}

/**
 * An engine's recent task spans (`task_spans`, about once a second while it works): what ran,
 * when, and how it ended, merged where tasks follow each other closely (see
 * engine/task-spans.ts). Times are milliseconds relative to `now`, the engine's clock when it
 * sent them, so the controller places them on its own clock whatever the engines' clocks say.
 */
export interface TaskSpansContent {
  /** The engine's epoch milliseconds when it sent this. */
  now: number;
  /** The task names the spans use (function names, or "execute", "push", "pull"). */
  names: string[];
  /** Per span: start, end (ms before `now`, negative), tasks merged, index in `names`, 1 if they failed. */
  spans: number[];
  /** The task running as this was sent: its start (relative, as above) and name index. */
  running?: [number, number];
}

/**
 * A cluster's task stream over a recent window, for a live view (`task_stream_reply`): one row of
 * spans per engine, merged to the resolution asked for, and per-second series of throughput,
 * queue length and memory. Times are the controller's epoch milliseconds.
 */
export interface TaskStreamContent {
  /** The controller's clock when it answered: the right edge of the window. */
  now: number;
  window_ms: number;
  /** Task names; spans refer to them by index. */
  names: string[];
  /** Tasks of each name over the window, all engines (exact: merged spans take one name). */
  name_tasks: number[];
  engines: {
    id: EngineId;
    /** Per span: start, end, tasks, name index, 1 if they failed. */
    spans: number[];
    /** The task it runs now (start and name index), when it told. */
    running?: [number, number];
    state: EngineState;
    /** Resident memory now, in bytes, and once a second over the window. */
    rss: number;
    rss_series: number[];
  }[];
  /** Sample times (once a second) for the series below. */
  t: number[];
  /** Tasks finished per second, over all engines. */
  rate: number[];
  /** Tasks waiting: held by engines (the running ones included) plus not yet assigned. */
  queued: number[];
}

/** What a batch's index says about one of its parts (see batch.ts). */
export interface PartEntry {
  /** Byte length of the part's JSON, then of each of its buffers. */
  sizes: number[];
  /** The part's msg_type (omitted in the batches the controller sends on). */
  type?: string;
  /** A request's msg_id. */
  msg_id?: string;
  /** A request's metadata (route, timeout, …): the scheduler reads it. */
  meta?: Record<string, unknown>;
  /** A reply's parent msg_id, status and run time (ms). */
  parent_id?: string;
  status?: string;
  duration?: number;
}

/** A batch message's content: the index of its parts, in order. */
export interface BatchContent {
  parts: PartEntry[];
}

/** The single source of truth: msg_type → content. */
export interface ContentByType {
  // client ↔ controller session
  connect_request: Record<string, never>;
  connect_reply: { engines: EngineInfo[]; scheme: SchedulerScheme; hwm: number; cluster: string };
  engine_event: { event: "added" | "removed"; engine: EngineInfo; reason?: string };

  // engine ↔ controller session
  registration_request: {
    uuid: string;
    pid: number;
    hostname: string;
    /** Routing id of its heart (which echoes the controller's pings). */
    heart: string;
    lane?: string;
    /** Routing id of its signal thread (engines on another host than the controller). */
    signals?: string;
    /** The id it asks for (its MPI rank), granted when no engine ever had it. */
    id?: EngineId;
    /** Its host identity for shared memory, when it can map clients' store blocks. */
    host_id?: string;
    /** How many cores its host lets it use (`os.availableParallelism()`). */
    cpus?: number;
  };
  registration_reply:
    | {
        status: "ok";
        id: EngineId;
        hb_interval: number;
        /** This host's core board and the engine's slot in it (engines on the controller's host). */
        board?: CoreBoardRef;
      }
    | { status: "error"; evalue: string };
  /** Published to every heart, which echoes it back unchanged. */
  heartbeat_ping: { seq: number };
  engine_status: EngineStatus;
  unregistration_request: { reason: string; code?: number };
  /** Tasks engines ran for clients over lanes, batched; small replies ride along as buffers. */
  task_records: { records: LaneTaskRecord[] };
  /** What an engine ran lately, for the task stream. */
  task_spans: TaskSpansContent;
  /** Assigned tasks whose payloads reached this engine (the controller stops waiting for them). */
  assignment_received: { msg_ids: string[] };

  // tasks: a client sends them, the controller routes them, an engine runs them
  execute_request: {
    code: string;
    silent: boolean /** Script name in stack traces (the kernel maps it back to cell lines). */;
    filename?: string;
  };
  execute_reply: ReplyStatus;
  /** `call`: fn(...args); `map`: fn applied element-wise over the sequences in args. */
  apply_request: { fn: string; name: string; mode: "call" | "map" };
  apply_reply: ReplyStatus;
  push_request: Record<string, never>;
  push_reply: ReplyStatus;
  /**
   * `split`: large arrays come back as split streams, for a receiver that lands them in place. A
   * pull whose client shares the engine's host may carry, as its one value frame, where to write
   * the value's large arrays: `{ into: [{ ref, at, length }] }`, slices of a block of the client's
   * store (a gather's parts, each into its place in the joined result).
   */
  pull_request: { names: string[]; single: boolean; split?: boolean };
  pull_reply: ReplyStatus;

  /** Several task requests in one message (see batch.ts). */
  task_batch: BatchContent;
  /** Several task replies in one message. */
  reply_batch: BatchContent;

  /** The controller picked an engine for a task sent with `assign` (see TaskMetadata). */
  task_assigned: { engine: EngineId };

  // the same-host object store (engines/store/)
  /**
   * These blocks of `owner`'s store are held no more: an engine's release to a client, a client's
   * to an engine, or an engine's to another engine of its host that placed a value for it, through
   * the controller, which fills in who held them (`engine`: the engine's id; `client`: the
   * client's session; `sibling`: the releasing engine's uuid).
   */
  store_release: { owner: string; engine?: EngineId; client?: string; sibling?: string; blocks: number[] };
  /**
   * Over a lane: place this value (the buffers, as a task's) in the engine's store, held for each
   * of `holders` (engines of its host, by uuid, with their pids), and answer with the value's
   * frames naming the blocks. A client sends a large value to a host once this way, then each
   * engine there a small task.
   */
  store_place_request: { holders: { uuid: string; pid: number }[] };
  /** The placed value's frames as buffers; `blocks`: the blocks holding its arrays. */
  store_place_reply: { status: "ok"; blocks: number[] } | { status: "error"; evalue: string };
  /** A client's store is short of room: engines collect garbage and release what they can. */
  store_collect: Record<string, never>;

  // task outputs, relayed to the client that asked
  stream: { name: "stdout" | "stderr"; text: string };
  display_data: { data: MimeBundle; metadata: Record<string, unknown> };
  execute_result: { data: MimeBundle; metadata: Record<string, unknown> };

  // control
  abort_request: { msg_ids: string[] };
  abort_reply: { aborted: string[] };
  signal_request: { targets: EngineId[]; signal: NodeJS.Signals };
  signal_reply: { status: "ok"; signalled: EngineId[] } | Refusal;
  queue_status_request: Record<string, never>;
  /** `respawned`: dead engines replaced so far; `respawns_left`: how many more may be. */
  queue_status_reply: {
    engines: Record<string, EngineQueueStatus>;
    unassigned: number;
    respawned?: number;
    respawns_left?: number;
  };
  result_request: { msg_id: string };
  /** `sent`: the task's reply went to the client just before this answer. */
  result_reply: { status: "sent" | "pending" | "unknown" | "evicted" | "not_kept" };
  shutdown_request: { targets: EngineId[] | "all"; hub: boolean };
  shutdown_reply: { status: "ok" } | Refusal;
  scale_request: { n: number };
  scale_reply: { status: "ok"; engines: number } | Refusal;
  restart_engine_request: { id: EngineId };
  restart_engine_reply: { status: "ok" } | Refusal;
  /** The task stream of the last `window_ms`, spans merged below `resolution_ms` (a pixel). */
  task_stream_request: { window_ms?: number; resolution_ms?: number };
  task_stream_reply: TaskStreamContent;
}

/** Every msg_type of the cluster protocol. */
export type MsgType = TypeOf<ContentByType>;

/** A decoded message of one type (of a union of types: the union of their messages). */
export type Message<T extends MsgType = MsgType> = T extends MsgType
  ? TableMessage<ContentByType, T> & {
      /** The frames as received, from the delimiter on (for forwarding without re-signing). */
      raw: Buffer[];
    }
  : never;

/** The union of all decoded messages, discriminated by `header.msg_type`. */
export type AnyMessage = Message<MsgType>;

/** Task requests: what the controller schedules and engines run. */
export const TASK_REQUESTS = ["execute_request", "apply_request", "push_request", "pull_request"] as const;
export type TaskRequestType = (typeof TASK_REQUESTS)[number];

/** Task replies, one per request type. */
export type TaskReplyType = ReplyType<ContentByType, TaskRequestType>;

/** Output messages an engine sends while a task runs. */
export const OUTPUT_TYPES = ["stream", "display_data", "execute_result"] as const;

const TASK_REPLIES = [
  "execute_reply",
  "apply_reply",
  "push_reply",
  "pull_reply",
] as const satisfies readonly TaskReplyType[];

/**
 * What each receiver accepts, by where it sits: its handler map must handle exactly these
 * ({@link ClusterHandlers}), and anything else that arrives there is dropped and logged.
 */
export const ACCEPTS = {
  /** The controller's client socket. */
  controllerFromClient: [
    ...TASK_REQUESTS,
    "task_batch",
    "connect_request",
    "abort_request",
    "signal_request",
    "queue_status_request",
    "result_request",
    "shutdown_request",
    "scale_request",
    "restart_engine_request",
    "task_stream_request",
    "store_collect",
    "store_release",
  ],
  /** The controller's engine socket. */
  controllerFromEngine: [
    "registration_request",
    "unregistration_request",
    "engine_status",
    "task_records",
    "task_spans",
    "assignment_received",
    ...TASK_REPLIES,
    "reply_batch",
    ...OUTPUT_TYPES,
    "store_release",
  ],
  /** The controller's heartbeat socket (hearts echo the pings back). */
  controllerFromHeart: ["heartbeat_ping"],
  /** An engine's connection to the controller. */
  engineFromController: [
    ...TASK_REQUESTS,
    "task_batch",
    "registration_reply",
    "abort_request",
    "shutdown_request",
    "store_collect",
    "store_release",
  ],
  /** An engine's lane: what a client may send it directly (never registration or shutdown). */
  engineFromLane: [...TASK_REQUESTS, "abort_request", "store_place_request"],
  /** The signal thread of an engine on another host than its controller. */
  signalThread: ["signal_request"],
  /** A client's connection to the controller. */
  clientFromController: [
    "connect_reply",
    "engine_event",
    "task_assigned",
    ...TASK_REPLIES,
    "reply_batch",
    ...OUTPUT_TYPES,
    "abort_reply",
    "signal_reply",
    "queue_status_reply",
    "result_reply",
    "shutdown_reply",
    "scale_reply",
    "restart_engine_reply",
    "task_stream_reply",
    "store_release",
  ],
  /** A client's lane to an engine. */
  clientFromLane: [...TASK_REPLIES, ...OUTPUT_TYPES, "abort_reply", "store_place_reply"],
} as const satisfies Record<string, readonly MsgType[]>;

/** A receiver of the cluster protocol (see {@link ACCEPTS}). */
export type Receiver = keyof typeof ACCEPTS;

/** The msg_types receiver `R` accepts. */
export type Accepted<R extends Receiver> = (typeof ACCEPTS)[R][number];

/** Handlers for everything receiver `R` accepts, each given the message and `Ctx`: one missing is a compile error. */
export type ClusterHandlers<R extends Receiver, Ctx = void> = {
  [T in Accepted<R>]: (msg: Message<T>, ctx: Ctx) => void;
};

/** A msg_type no receiver accepts would be dead protocol: this fails to compile if there is one. */
type Unreceived = Exclude<MsgType, Accepted<Receiver>>;
const everyTypeHasAReceiver: [Unreceived] extends [never] ? true : Unreceived = true;
void everyTypeHasAReceiver;

const ALL_TYPES: ReadonlySet<string> = new Set<string>(Object.values(ACCEPTS).flat());

/** True when `type` is a msg_type of this protocol (unknown ones are logged and dropped). */
export function isMsgType(type: string): type is MsgType {
  return ALL_TYPES.has(type);
}

/** ACCEPTS as sets: a receiver checks every message it gets, in O(1). */
const ACCEPTED = {} as Record<Receiver, ReadonlySet<string>>;
for (const receiver of Object.keys(ACCEPTS) as Receiver[])
  ACCEPTED[receiver] = new Set<string>(ACCEPTS[receiver]);

/** True when `type` is one receiver `R` accepts. */
export function accepts<R extends Receiver>(receiver: R, type: string): type is Accepted<R> {
  return ACCEPTED[receiver].has(type);
}

/** True when `msg` is a task request. */
export function isTaskRequest(msg: AnyMessage): msg is Extract<AnyMessage, Message<TaskRequestType>> {
  return (TASK_REQUESTS as readonly string[]).includes(msg.header.msg_type);
}

/** The reply type that answers a task request. */
export function replyTypeOf(type: TaskRequestType): TaskReplyType {
  return type.replace("_request", "_reply") as TaskReplyType;
}

/** Requests a client sends the controller and awaits an answer to. */
export type ControlRequestType = Exclude<
  Extract<Accepted<"controllerFromClient">, RequestType<ContentByType>>,
  TaskRequestType
>;

/** The reply a control request gets. */
export type ControlReply<T extends ControlRequestType> = Message<ReplyType<ContentByType, T>>;
