import type { RefusalCode } from "../wire/protocol/messages.js";

/**
 * A control request the controller cannot carry out (scale, restart, signal): the code travels to
 * the client in the refusal reply and becomes its ClusterError's code; the message says what to do.
 */
export class ControllerError extends Error {
  override readonly name = "ControllerError";
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
  }
}
