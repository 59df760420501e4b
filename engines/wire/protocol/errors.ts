/** Why a multipart message could not be turned into a {@link WireMessage}. */
export type WireErrorCode =
  | "MISSING_DELIMITER"
  | "TOO_FEW_FRAMES"
  | "BAD_SIGNATURE"
  | "INVALID_UTF8"
  | "MALFORMED_JSON"
  | "MALFORMED_HEADER"
  /** A buffer does not match the MAC its signed metadata lists (cluster protocol). */
  | "BAD_BUFFER_MAC"
  /** The same signed frames came again lately: a replay (see replay-guard.ts). */
  | "REPLAYED";

/** A message that failed framing, signature or JSON checks. It is never executed. */
export class WireError extends Error {
  override readonly name = "WireError";
  constructor(
    readonly code: WireErrorCode,
    message: string,
  ) {
    super(message);
  }
}
