import type { CommClose, CommMsg, CommOpen } from "../protocol/messages.js";

/** JSON data carried by a comm message. */
export type CommData = Record<string, unknown>;

/** A comm message as user code sees it. */
export interface CommMessage {
  data: CommData;
  metadata: Record<string, unknown>;
  /** Binary buffers sent next to the JSON (e.g. widget array data). */
  buffers: Uint8Array[];
}

/** Extra parts of an outgoing comm message. */
export interface CommSendOptions {
  metadata?: Record<string, unknown>;
  buffers?: readonly Uint8Array[];
}

/** Publishes one comm message on IOPub. */
export type CommPublish = (
  msgType: "comm_open" | "comm_msg" | "comm_close",
  content: CommOpen | CommMsg | CommClose,
  options?: CommSendOptions,
) => void;

type Listener = (msg: CommMessage) => void;

/**
 * One end of a Jupyter comm: a channel between kernel code and a frontend object (a widget,
 * a progress bar), opened by either side.
 */
export class Comm {
  #closed = false;
  readonly #onMsg: Listener[] = [];
  readonly #onClose: Listener[] = [];

  constructor(
    readonly commId: string,
    readonly targetName: string,
    private readonly publish: CommPublish,
    private readonly onClosed: (comm: Comm) => void,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends data to the frontend end of the comm. */
  send(data: CommData = {}, options: CommSendOptions = {}): void {
    if (this.#closed)
      throw new Error(`comm ${this.commId} (${this.targetName}) is closed: open a new one to send`);
    this.publish("comm_msg", { comm_id: this.commId, data }, options);
  }

  /** Closes the comm on both sides; later sends throw. */
  close(data: CommData = {}, options: CommSendOptions = {}): void {
    if (this.#closed) return;
    this.publish("comm_close", { comm_id: this.commId, data }, options);
    this.#finish({ data, metadata: options.metadata ?? {}, buffers: [...(options.buffers ?? [])] });
  }

  /** Calls `listener` for every message from the frontend. Returns a function that removes it. */
  onMsg(listener: Listener): () => void {
    this.#onMsg.push(listener);
    return () => this.#onMsg.splice(this.#onMsg.indexOf(listener) >>> 0, 1);
  }

  /** Calls `listener` when either side closes the comm. */
  onClose(listener: Listener): () => void {
    this.#onClose.push(listener);
    return () => this.#onClose.splice(this.#onClose.indexOf(listener) >>> 0, 1);
  }

  /** @internal A comm_msg from the frontend. */
  deliver(msg: CommMessage): void {
    for (const l of [...this.#onMsg]) callListener(l, msg, this);
  }

  /** @internal A comm_close from the frontend. */
  closedByFrontend(msg: CommMessage): void {
    if (!this.#closed) this.#finish(msg);
  }

  #finish(msg: CommMessage): void {
    this.#closed = true;
    this.onClosed(this);
    for (const l of [...this.#onClose]) callListener(l, msg, this);
  }
}

/** A throwing listener is the user's bug: report it in the cell output, keep the kernel going. */
function callListener(l: Listener, msg: CommMessage, comm: Comm): void {
  try {
    l(msg);
  } catch (e) {
    console.error(`Error in a listener of comm ${comm.commId} (${comm.targetName}):`, e);
  }
}
