import type { SchedulingStrategy } from "./strategy.js";

/** Any engine with room, uniformly. */
export const random: SchedulingStrategy = (candidates) =>
  candidates[Math.floor(Math.random() * candidates.length)]!.id;
