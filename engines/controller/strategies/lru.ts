import type { SchedulingStrategy } from "./strategy.js";

/** The engine that was assigned a task longest ago, regardless of load. */
export const lru: SchedulingStrategy = (candidates) => {
  let best = candidates[0]!;
  for (const c of candidates) if (c.lastAssigned < best.lastAssigned) best = c;
  return best.id;
};
