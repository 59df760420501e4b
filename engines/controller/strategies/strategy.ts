import type { EngineId } from "../../wire/protocol/messages.js";

/** What a strategy knows about one candidate engine. */
export interface EngineLoad {
  id: EngineId;
  /** Tasks sent to it and not yet finished. */
  outstanding: number;
  /** Monotonic counter of the last assignment (0 = never). */
  lastAssigned: number;
}

/**
 * Picks the engine for the next load-balanced task among candidates that still have room under
 * the high-water mark (never empty when called).
 */
export type SchedulingStrategy = (candidates: readonly EngineLoad[]) => EngineId;
