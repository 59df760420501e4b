import type { SchedulingStrategy } from "./strategy.js";

/** Random, weighted towards idle engines: weight 1 / (1 + outstanding). */
export const weighted: SchedulingStrategy = (candidates) => {
  const weights = candidates.map((c) => 1 / (1 + c.outstanding));
  let r = Math.random() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < candidates.length; i++) {
    r -= weights[i]!;
    if (r <= 0) return candidates[i]!.id;
  }
  return candidates[candidates.length - 1]!.id;
};
