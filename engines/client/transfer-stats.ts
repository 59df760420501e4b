import type { EngineId } from "../wire/protocol/messages.js";

/** Bytes one engine's lanes carried (see {@link TransferStats}). */
export interface LaneBytes {
  engine: EngineId;
  /** Bytes this client wrote to lanes to the engine: tasks and aborts. */
  sent: number;
  /** Bytes it read from them: replies and outputs. */
  received: number;
}

/**
 * Where a client's bytes went (`Client.transferStats()`): counts since it connected, for seeing
 * what a call cost on the wire.
 */
export interface TransferStats {
  /** Per engine it opened a lane to, every lane to it counted (one replaced after a break too). */
  lanes: LaneBytes[];
}
