import type { SchedulerScheme } from "../../wire/protocol/messages.js";
import { leastLoad } from "./least-load.js";
import { lru } from "./lru.js";
import { random } from "./random.js";
import type { SchedulingStrategy } from "./strategy.js";
import { weighted } from "./weighted.js";

export type { EngineLoad, SchedulingStrategy } from "./strategy.js";

/** The schemes by name (`--scheme` / `Cluster.start({ scheme })`). */
export const STRATEGIES: Record<SchedulerScheme, SchedulingStrategy> = {
  leastload: leastLoad,
  lru,
  random,
  weighted,
};

/** Looks a scheme up, with an error that lists the valid names. */
export function strategyFor(scheme: string): SchedulingStrategy {
  const s = STRATEGIES[scheme as SchedulerScheme];
  if (!s)
    throw new TypeError(
      `unknown scheduling scheme "${scheme}": use one of ${Object.keys(STRATEGIES).join(", ")}`,
    );
  return s;
}
