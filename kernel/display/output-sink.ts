import type { MimeBundle } from "../../engines/wire/values/mime-bundle.js";
import type { ContentByType, DisplayMetadata } from "../protocol/messages.js";

/** IOPub messages a cell's output can produce. */
export type OutputMsgType =
  | "stream"
  | "display_data"
  | "update_display_data"
  | "clear_output"
  | "execute_result"
  | "error"
  | "comm_open"
  | "comm_msg"
  | "comm_close";

/** Sends one IOPub message as a child of the request that owns the output. */
export type PublishFn = <T extends OutputMsgType>(
  msgType: T,
  content: ContentByType[T],
  buffers?: readonly Uint8Array[],
) => void;

/**
 * Where one request's output goes. Stream text is buffered and coalesced (a loop of
 * console.log calls becomes a few messages, not thousands) and always flushed before any other
 * output, so text and displays stay in the order the cell produced them.
 */
export class OutputSink {
  #pending: { name: "stdout" | "stderr"; text: string } | undefined;
  #timer: NodeJS.Immediate | undefined;

  constructor(readonly publish: PublishFn) {}

  /** Text written to stdout or stderr. */
  stream(name: "stdout" | "stderr", text: string): void {
    if (text === "") return;
    if (this.#pending && this.#pending.name !== name) this.flush();
    if (this.#pending) this.#pending.text += text;
    else this.#pending = { name, text };
    if (this.#pending.text.length > 1 << 20) this.flush();
    // setImmediate runs after the current synchronous stretch; a sync loop flushes at its end.
    this.#timer ??= setImmediate(() => this.flush());
  }

  /** Sends buffered stream text now. */
  flush(): void {
    if (this.#timer) clearImmediate(this.#timer);
    this.#timer = undefined;
    const p = this.#pending;
    this.#pending = undefined;
    if (p) this.publish("stream", { name: p.name, text: p.text });
  }

  /** A display_data message; with `displayId` it can later be updated in place. */
  display(data: MimeBundle, metadata: DisplayMetadata = {}, displayId?: string): void {
    this.flush();
    this.publish("display_data", { data, metadata, transient: displayId ? { display_id: displayId } : {} });
  }

  /** Replaces the output shown under `displayId`, wherever it is in the notebook. */
  updateDisplay(displayId: string, data: MimeBundle, metadata: DisplayMetadata = {}): void {
    this.flush();
    this.publish("update_display_data", { data, metadata, transient: { display_id: displayId } });
  }

  /** Clears the cell's output; `wait` keeps it until the next output arrives (no flicker). */
  clearOutput(wait = false): void {
    this.flush();
    this.publish("clear_output", { wait });
  }

  /** Any other output message, in order with the stream text. */
  send<T extends OutputMsgType>(
    msgType: T,
    content: ContentByType[T],
    buffers?: readonly Uint8Array[],
  ): void {
    this.flush();
    this.publish(msgType, content, buffers);
  }
}

/**
 * Which sink receives output right now. User code can write after its cell finished (a timer, an
 * unawaited promise); like ipykernel, such output goes to the most recent request.
 */
export class OutputRouter {
  #current: OutputSink | undefined;

  get current(): OutputSink | undefined {
    return this.#current;
  }

  set current(sink: OutputSink | undefined) {
    if (this.#current && this.#current !== sink) this.#current.flush();
    this.#current = sink;
  }

  /** The sink, or an error telling the user there is no cell to show output in. */
  require(): OutputSink {
    if (!this.#current)
      throw new Error("no cell is running yet: display output can only be shown from a cell");
    return this.#current;
  }
}
