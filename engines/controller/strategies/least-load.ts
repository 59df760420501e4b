import type { SchedulingStrategy } from "./strategy.js";

/** The engine with the fewest outstanding tasks; ties go to the least recently used. */
export const leastLoad: SchedulingStrategy = (candidates) => {
  let best = candidates[0]!;
  for (const c of candidates) {
    if (
      c.outstanding < best.outstanding ||
      (c.outstanding === best.outstanding && c.lastAssigned < best.lastAssigned)
    )
      best = c;
  }
  return best.id;
};
