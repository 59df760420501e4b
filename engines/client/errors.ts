import type { EngineId, RefusalCode } from "../wire/protocol/messages.js";

/** Codes of the errors the client API throws (the controller's refusals keep their codes). */
export type ClusterErrorCode =
  | RefusalCode
  | "REMOTE_ERROR"
  | "COMPOSITE_ERROR"
  | "ENGINE_ERROR"
  | "TASK_TIMEOUT"
  | "TASK_ABORTED"
  | "NO_ENGINES"
  | "INVALID_TARGET"
  | "CONTROLLER_UNREACHABLE"
  | "CONTROLLER_LOST"
  | "UNSHIPPABLE_FUNCTION"
  | "RESULT_UNAVAILABLE"
  | "WAIT_TIMEOUT"
  /** A message with a frame larger than the controller takes (its `maxMessageBytes`). */
  | "MESSAGE_TOO_LARGE";

/** Where a remote error came from: `[engine 3]`, or `[controller]` for one the controller made (id −1). */
function origin(engineId: number): string {
  return engineId < 0 ? "[controller]" : `[engine ${engineId}]`;
}

/** An exception raised by user code on an engine. */
export class RemoteError extends Error {
  override readonly name: string = "RemoteError";
  readonly code: ClusterErrorCode = "REMOTE_ERROR";
  constructor(
    /** The engine it happened on (-1 when the controller produced it). */
    readonly engineId: EngineId,
    /** The remote exception's class name, e.g. `TypeError`. */
    readonly ename: string,
    /** The remote exception's message. */
    readonly evalue: string,
    /** The remote stack, with the engine's own frames removed. */
    readonly traceback: string[] = [],
  ) {
    super(`${origin(engineId)} ${ename}: ${evalue}`);
    if (traceback.length) this.stack = `${this.message}\n${traceback.slice(1).join("\n")}`;
  }

  /** The remote traceback as one string. */
  renderTraceback(): string {
    return this.traceback.length ? [origin(this.engineId), ...this.traceback].join("\n") : this.message;
  }
}

/** An engine died (or was unreachable) while it had this task. */
export class EngineError extends RemoteError {
  override readonly name = "EngineError";
  override readonly code = "ENGINE_ERROR" as const;
}

/** The task ran past its `timeout` and the engine stopped it. */
export class TaskTimeout extends RemoteError {
  override readonly name = "TaskTimeout";
  override readonly code = "TASK_TIMEOUT" as const;
}

/** The task was aborted before it ran. */
export class TaskAborted extends RemoteError {
  override readonly name = "TaskAborted";
  override readonly code = "TASK_ABORTED" as const;
}

/** Errors from several engines; renders compactly with the first few tracebacks. */
export class CompositeError extends Error {
  override readonly name = "CompositeError";
  readonly code = "COMPOSITE_ERROR" as const;
  /** How many tracebacks `render()` shows. */
  static tbLimit = 4;

  constructor(readonly errors: Error[]) {
    const flat = errors.flatMap((e) => (e instanceof CompositeError ? e.errors : [e]));
    super(`${flat.length} of the tasks raised errors:\n${flat.map((e) => `  ${e.message}`).join("\n")}`);
    this.errors = flat;
  }

  /** The first `tbLimit` tracebacks, then a count of the rest. */
  render(): string {
    const shown = this.errors
      .slice(0, CompositeError.tbLimit)
      .map((e) => (e instanceof RemoteError ? e.renderTraceback() : String(e.stack ?? e)));
    const more = this.errors.length - shown.length;
    return [
      `${this.name}: ${this.errors.length} errors`,
      ...shown,
      ...(more > 0 ? [`… ${more} more exceptions …`] : []),
    ].join("\n\n");
  }
}

/** A client-side error with a literal code and a message that says what to do. */
export class ClusterError extends Error {
  override readonly name = "ClusterError";
  constructor(
    readonly code: Exclude<
      ClusterErrorCode,
      "REMOTE_ERROR" | "COMPOSITE_ERROR" | "ENGINE_ERROR" | "TASK_TIMEOUT" | "TASK_ABORTED"
    >,
    message: string,
  ) {
    super(message);
  }

  /**
   * This error anew, for a later call that meets the same condition (a lost controller): thrown
   * from there, its stack shows that call, not where the condition first arose.
   */
  again(): ClusterError {
    return new ClusterError(this.code, this.message);
  }
}

/** Builds the right error class for a remote error name. */
export function remoteErrorFor(
  engineId: EngineId,
  ename: string,
  evalue: string,
  traceback: string[] = [],
): RemoteError {
  switch (ename) {
    case "EngineError":
      return new EngineError(engineId, ename, evalue, traceback);
    case "TaskTimeout":
      return new TaskTimeout(engineId, ename, evalue, traceback);
    case "TaskAborted":
      return new TaskAborted(engineId, ename, evalue, traceback);
    default:
      return new RemoteError(engineId, ename, evalue, traceback);
  }
}
