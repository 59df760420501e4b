import type { Header } from "../wire/protocol/frames.js";
import type { AnyMessage, ContentByType, TaskMetadata, TaskRequestType } from "../wire/protocol/messages.js";

/** Receives what comes back for one task, from whichever connection it went over. */
export interface TaskListener {
  output(msg: AnyMessage): void;
  reply(msg: AnyMessage): void;
  /** The connection it went over is gone; the task will never finish (ClusterError, EngineError). */
  lost(err: Error): void;
}

/**
 * One task on its way to an engine: the message (its header names its type), who hears back, and
 * when its buffers may be reused. Views make them; the client's TaskRouter sends them.
 */
export interface OutgoingTask<T extends TaskRequestType = TaskRequestType> {
  header: Header<T>;
  content: ContentByType[T];
  metadata: TaskMetadata;
  buffers: readonly Uint8Array[];
  listener: TaskListener;
  /** Runs once the transport no longer needs the buffers (only lanes know, so it may never run). */
  sent?: () => void;
}
