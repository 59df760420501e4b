/**
 * What the JupyterLab cluster panel is told about clusters: the JSON the cluster service answers
 * with, which the Jupyter server extension passes on unchanged as its REST API.
 *
 * Nothing here may carry a cluster's key: the browser gets names, processes and counts only.
 *
 * A declaration file because two programs share it: the root package (the service) and the lab
 * extension (extension/src, whose own tsconfig may only import declarations from outside src/).
 */

/** How a cluster's controller looks from here. */
export type ClusterState =
  /** The controller answers: engines and counts are current. */
  | "running"
  /** The connection file names a controller process that no longer exists. */
  | "stale"
  /** The controller process exists (or is on another host) but does not answer. */
  | "unresponsive"
  /** The connection file cannot be read or is not a connection file. */
  | "unreadable";

/** One engine of a running cluster. */
export interface EngineSnapshot {
  id: number;
  host: string;
  pid: number;
  /** `paused`: stopped with SIGSTOP through the controller; SIGCONT resumes it. */
  state: "idle" | "busy" | "paused";
  /** Tasks the engine holds, the running one included (its own count). */
  queued: number;
  /** Tasks the controller sent it and has not seen finish. */
  outstanding: number;
  /** Tasks it finished since it registered. */
  completed: number;
  /** Resident set size in bytes. */
  rss: number;
}

/** Something that happened to a cluster, newest last. */
export interface ClusterEvent {
  /** Epoch milliseconds. */
  time: number;
  kind: "info" | "error";
  text: string;
}

/** One cluster, as its connection file and controller describe it. */
export interface ClusterSnapshot {
  name: string;
  /** The connection file (its path, never its contents). */
  file: string;
  state: ClusterState;
  /** For states other than "running": what is wrong and what to do. */
  message?: string;
  controller?: {
    pid: number;
    host: string;
    /** Where clients connect, e.g. tcp://127.0.0.1:5555. */
    url: string;
    scheme: string;
    /** When the cluster was started (ISO 8601). */
    created: string;
  };
  /** The log of a cluster started in the background, when there is one. */
  log?: string;
  engines: EngineSnapshot[];
  /** Load-balanced tasks waiting for an engine. */
  unassigned: number;
  events: ClusterEvent[];
}

/** The answer to a listing. */
export interface ClusterList {
  /** The folder whose connection files are listed. */
  dir: string;
  /** CPU cores of the machine the service runs on (the panel's default engine count). */
  cores: number;
  clusters: ClusterSnapshot[];
}

/**
 * A cluster's task stream over the last minute (`GET …/NAME/stream?width=PX`), from its
 * controller: per engine the spans of tasks it ran, merged to a pixel of a view `width` pixels
 * wide, and per-second series. Times are the controller's epoch milliseconds; `now` is the
 * right edge (draw against it, not the browser's clock).
 */
export interface TaskStreamSnapshot {
  now: number;
  window_ms: number;
  /** Task names (function names, or execute, push, pull); spans refer to them by index. */
  names: string[];
  /** Tasks of each name over the window, all engines (exact: a merged span shows one name). */
  name_tasks: number[];
  engines: {
    id: number;
    /** Flat, five numbers per span: start, end, tasks, name index, 1 if they failed. */
    spans: number[];
    /** The task it runs now: start and name index. */
    running?: [number, number];
    state: "registering" | "idle" | "busy" | "paused" | "dead";
    /** Resident memory now, and once a second over the window (bytes). */
    rss: number;
    rss_series: number[];
  }[];
  /** Sample times, once a second. */
  t: number[];
  /** Tasks finished per second, all engines. */
  rate: number[];
  /** Tasks waiting: in engines' queues (running ones included) plus not yet assigned. */
  queued: number[];
}

/** The requests the cluster service understands, one JSON object per line on its stdin. */
export type ServiceRequest = { id: number } & (
  | { op: "list" }
  | { op: "get"; name: string }
  | { op: "start"; name: string; n: number }
  | { op: "scale"; name: string; n: number }
  | { op: "stop"; name: string }
  | { op: "restart"; name: string; engine: number }
  | { op: "signal"; name: string; engines: number[] | "all"; signal: string }
  | { op: "stream"; name: string; width?: number }
);

/** The service's answer to request `id`, one JSON object per line on its stdout. */
export type ServiceResponse =
  | { id: number; ok: true; result: unknown }
  | {
      id: number;
      ok: false;
      /** The HTTP status the server extension answers with (400, 404, 409, 500, 504). */
      status: number;
      error: string;
    };
