import type { EngineId } from "../wire/protocol/messages.js";

/** Bytes one engine's lanes carried (see {@link TransferStats}). */
export interface LaneBytes {
  engine: EngineId;
  /** Bytes this client wrote to lanes to the engine: tasks, aborts, values to place. */
  sent: number;
  /** Bytes it read from them: replies and outputs. */
  received: number;
}

/**
 * Where a client's bytes went (`Client.transferStats()`): counts since it connected, for seeing
 * what a call cost on the wire, e.g. that a push to every engine of another host sent the value
 * there once.
 */
export interface TransferStats {
  /** Per engine it opened a lane to, every lane to it counted (one replaced after a break too). */
  lanes: LaneBytes[];
  /** Values sent to a host once, to one engine there that placed them for the others. */
  relays: {
    /** Values placed (one per host and call). */
    values: number;
    /** Engines that got those values from their host's store instead of a copy each. */
    engines: number;
    /** Placements that failed (a relay without room, a lane that broke): a copy went to each engine. */
    failed: number;
  };
}
