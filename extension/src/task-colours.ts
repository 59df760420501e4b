/**
 * Colours of the task stream: one per task name, the same in every view and every session (a
 * hash of the name picks it), and red for failed tasks only, so that no name looks like an error.
 */

/** Tableau 10 without its red and pink: distinct on light and dark themes. */
const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#59a14f",
  "#76b7b2",
  "#edc948",
  "#b07aa1",
  "#9c755f",
  "#bab0ac",
  "#17becf",
  "#8cd17d",
] as const;

/** Failed tasks. */
export const ERROR_COLOUR = "#e15759";

/** The colour of tasks named `name`. */
export function colourOf(name: string): string {
  // FNV-1a: cheap, and stable across sessions (unlike an order of first appearance).
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return PALETTE[(h >>> 0) % PALETTE.length]!;
}
