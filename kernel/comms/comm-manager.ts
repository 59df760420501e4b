import { randomUUID } from "node:crypto";
import type { CommInfoReply, CommOpen, Message } from "../protocol/messages.js";
import { Comm, type CommData, type CommMessage, type CommPublish, type CommSendOptions } from "./comm.js";

/** Called when the frontend opens a comm to a target registered in the kernel. */
export type CommTargetHandler = (comm: Comm, openMsg: CommMessage) => void;

/**
 * The kernel's comms: targets that frontends may open, and every open comm. Also the object
 * behind the `comms` global of the cell namespace.
 */
export class CommManager {
  readonly #targets = new Map<string, CommTargetHandler>();
  readonly #comms = new Map<string, Comm>();

  constructor(private readonly publish: CommPublish) {}

  /** Lets the frontend open comms to `targetName`; `handler` receives each new comm. */
  registerTarget(targetName: string, handler: CommTargetHandler): void {
    if (typeof targetName !== "string" || targetName === "")
      throw new TypeError("comms.registerTarget: give a target name");
    if (typeof handler !== "function")
      throw new TypeError("comms.registerTarget: give a handler function (comm, msg) => …");
    this.#targets.set(targetName, handler);
  }

  /** Stops accepting new comms for `targetName` (open ones stay open). */
  unregisterTarget(targetName: string): void {
    this.#targets.delete(targetName);
  }

  /** Opens a comm from the kernel to a frontend target (e.g. "jupyter.widget"). */
  open(targetName: string, data: CommData = {}, options: CommSendOptions & { commId?: string } = {}): Comm {
    const comm = this.#create(options.commId ?? randomUUID().replaceAll("-", ""), targetName);
    this.publish("comm_open", { comm_id: comm.commId, target_name: targetName, data }, options);
    return comm;
  }

  /** Open comms, optionally only those of one target. */
  list(targetName?: string): Comm[] {
    return [...this.#comms.values()].filter((c) => targetName === undefined || c.targetName === targetName);
  }

  /** @internal comm_info_request. */
  info(targetName?: string): CommInfoReply {
    const comms: CommInfoReply["comms"] = {};
    for (const c of this.list(targetName)) comms[c.commId] = { target_name: c.targetName };
    return { status: "ok", comms };
  }

  /** @internal comm_open from the frontend. An unknown target gets a comm_close back. */
  handleOpen(msg: Message<"comm_open">): void {
    const { comm_id, target_name } = msg.content as CommOpen;
    const handler = this.#targets.get(target_name);
    if (!handler) {
      console.error(
        `comm_open for unknown target "${target_name}": closing it (register it with comms.registerTarget)`,
      );
      this.publish("comm_close", { comm_id, data: {} });
      return;
    }
    const comm = this.#create(comm_id, target_name);
    try {
      handler(comm, toCommMessage(msg));
    } catch (e) {
      console.error(`Error in comm target "${target_name}":`, e);
      comm.close();
    }
  }

  /** @internal comm_msg from the frontend. */
  handleMsg(msg: Message<"comm_msg">): void {
    const comm = this.#comms.get(msg.content.comm_id);
    if (comm) comm.deliver(toCommMessage(msg));
    else console.error(`comm_msg for unknown comm ${msg.content.comm_id}: ignored`);
  }

  /** @internal comm_close from the frontend. */
  handleClose(msg: Message<"comm_close">): void {
    this.#comms.get(msg.content.comm_id)?.closedByFrontend(toCommMessage(msg));
  }

  #create(commId: string, targetName: string): Comm {
    const comm = new Comm(commId, targetName, this.publish, (c) => this.#comms.delete(c.commId));
    this.#comms.set(commId, comm);
    return comm;
  }
}

function toCommMessage(msg: Message<"comm_open" | "comm_msg" | "comm_close">): CommMessage {
  const data = msg.content.data;
  return {
    data: typeof data === "object" && data !== null ? data : {},
    metadata: msg.metadata,
    buffers: msg.buffers.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)),
  };
}

/** The `comms` global's declaration, for type checking and Shift-Tab. */
export const COMMS_DECLARATION = `
/** A message received on a comm. */
interface CommMessage {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** Binary buffers sent next to the JSON. */
  buffers: Uint8Array[];
}
/** Extra parts of an outgoing comm message. */
interface CommSendOptions {
  metadata?: Record<string, unknown>;
  buffers?: readonly Uint8Array[];
}
/** One end of a Jupyter comm between kernel code and a frontend object. */
interface Comm {
  readonly commId: string;
  readonly targetName: string;
  readonly closed: boolean;
  /** Sends data to the frontend. */
  send(data?: Record<string, unknown>, options?: CommSendOptions): void;
  /** Closes the comm on both sides. */
  close(data?: Record<string, unknown>, options?: CommSendOptions): void;
  /** Listens for messages from the frontend; returns a function that stops listening. */
  onMsg(listener: (msg: CommMessage) => void): () => void;
  /** Listens for the comm being closed by either side. */
  onClose(listener: (msg: CommMessage) => void): () => void;
}
/** Jupyter comms: channels between kernel code and frontend objects (widgets, progress bars). */
declare const comms: {
  /** Lets the frontend open comms to targetName; handler receives each new comm and the open message. */
  registerTarget(targetName: string, handler: (comm: Comm, openMsg: CommMessage) => void): void;
  /** Stops accepting new comms for targetName. */
  unregisterTarget(targetName: string): void;
  /** Opens a comm from the kernel to a frontend target. */
  open(targetName: string, data?: Record<string, unknown>, options?: CommSendOptions & { commId?: string }): Comm;
  /** The open comms, optionally of one target. */
  list(targetName?: string): Comm[];
};
`;
