import type { OutgoingMessage, WireMessage } from "../engines/wire/protocol/frames.js";
import { makeHeader } from "../engines/wire/protocol/frames.js";
import type { InputRequest } from "./protocol/messages.js";

/** Why `input()` could not give an answer. */
export type InputErrorCode = "STDIN_NOT_SUPPORTED" | "INPUT_INTERRUPTED" | "INPUT_BUSY";

/** Raised by `input()`; `code` says why. */
export class InputError extends Error {
  override readonly name = "InputError";
  constructor(
    readonly code: InputErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What `input()` needs to know about the request that is running. */
export interface InputContext {
  /** The execute_request: its routing identities address the frontend's stdin socket. */
  parent: WireMessage;
  allowStdin: boolean;
  signal: AbortSignal;
}

/**
 * Asks the frontend for a line of text over the stdin channel (input_request → input_reply).
 * One question at a time, as frontends show one prompt.
 */
export class StdinBroker {
  #pending: { msgId: string; resolve: (v: string) => void } | undefined;

  constructor(
    private readonly send: (msg: OutgoingMessage<InputRequest, "input_request">) => Promise<void>,
    private readonly session: string,
  ) {}

  /** Sends an input_request and resolves with the user's answer. */
  async request(prompt: string, password: boolean, ctx: InputContext | undefined): Promise<string> {
    if (!ctx?.allowStdin) {
      throw new InputError(
        "STDIN_NOT_SUPPORTED",
        "input(): this frontend does not support input (the execute request had allow_stdin=false)",
      );
    }
    if (this.#pending)
      throw new InputError("INPUT_BUSY", "input(): another input() is still waiting for an answer");
    ctx.signal.throwIfAborted();
    const header = makeHeader("input_request", this.session);
    const answer = new Promise<string>((resolve, reject) => {
      this.#pending = { msgId: header.msg_id, resolve };
      const onAbort = () => {
        this.#pending = undefined;
        reject(new InputError("INPUT_INTERRUPTED", "input(): interrupted"));
      };
      ctx.signal.addEventListener("abort", onAbort, { once: true });
    });
    await this.send({
      identities: ctx.parent.identities,
      header,
      parent_header: ctx.parent.header,
      content: { prompt: String(prompt), password: Boolean(password) },
    });
    return answer;
  }

  /**
   * An input_reply from the frontend. Replies to anything but the pending request are ignored, and
   * so is one whose value is not text (a malformed reply must not answer the question with "").
   */
  handleReply(msg: WireMessage): boolean {
    const p = this.#pending;
    const parentId = (msg.parent_header as { msg_id?: unknown } | undefined)?.msg_id;
    if (!p || (parentId !== undefined && parentId !== p.msgId)) return false;
    const value = (msg.content as { value?: unknown } | null | undefined)?.value;
    if (typeof value !== "string") return false;
    this.#pending = undefined;
    p.resolve(value);
    return true;
  }
}

/** The `input` global's declaration. */
export const INPUT_DECLARATION = `
/**
 * Asks the user for a line of text in the notebook and resolves with it.
 * With password: true the frontend hides what is typed.
 */
declare function input(prompt?: string, options?: { password?: boolean }): Promise<string>;
`;
