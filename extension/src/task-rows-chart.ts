import { type ChartTheme, prepareCanvas } from "./chart-theme";
import type { TaskStreamSnapshot } from "./cluster-api";
import { colourOf, ERROR_COLOUR } from "./task-colours";

/** Height of one engine's row, and of the time axis below the rows, in CSS pixels. */
export const ROW_HEIGHT = 22;
export const AXIS_HEIGHT = 16;
/** Seconds between the axis's ticks. */
const TICK_S = 10;

/**
 * Draws the task stream: one row per engine, a bar per span of tasks over the window (coloured by
 * the tasks' name, red where they failed), the background showing where the engine was idle, and
 * the task it runs now from its start to the right edge, lighter. The right edge is the
 * snapshot's `now` (the controller's clock, not the browser's).
 */
export function drawTaskRows(canvas: HTMLCanvasElement, snap: TaskStreamSnapshot, theme: ChartTheme): void {
  const rows = snap.engines.length;
  const prepared = prepareCanvas(canvas, rows * ROW_HEIGHT + AXIS_HEIGHT);
  if (!prepared) return;
  const { ctx, width } = prepared;
  const from = snap.now - snap.window_ms;
  const x = (t: number) => ((t - from) / snap.window_ms) * width;
  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, width, rows * ROW_HEIGHT + AXIS_HEIGHT);
  snap.engines.forEach((engine, row) => {
    const top = row * ROW_HEIGHT + 2;
    const h = ROW_HEIGHT - 4;
    ctx.fillStyle = theme.row;
    ctx.fillRect(0, top, width, h);
    const s = engine.spans;
    for (let i = 0; i < s.length; i += 5) {
      const x0 = x(s[i]!);
      // A span narrower than a pixel still shows: a task ran there.
      const w = Math.max(1, x(s[i + 1]!) - x0);
      ctx.fillStyle = s[i + 4] ? ERROR_COLOUR : colourOf(snap.names[s[i + 3]!] ?? "");
      ctx.fillRect(x0, top, w, h);
    }
    if (engine.running) {
      const x0 = Math.max(0, x(engine.running[0]));
      ctx.globalAlpha = 0.55;
      ctx.fillStyle = colourOf(snap.names[engine.running[1]] ?? "");
      ctx.fillRect(x0, top, Math.max(1, width - x0), h);
      ctx.globalAlpha = 1;
    }
  });
  // The time axis: a tick every 10 s, counted back from now.
  const axisTop = rows * ROW_HEIGHT;
  ctx.fillStyle = theme.text;
  ctx.strokeStyle = theme.grid;
  ctx.font = theme.font;
  ctx.textBaseline = "top";
  for (let s = 0; s * 1000 <= snap.window_ms; s += TICK_S) {
    const tx = Math.round(width - (s * 1000 * width) / snap.window_ms) - 0.5;
    ctx.beginPath();
    ctx.moveTo(tx, axisTop);
    ctx.lineTo(tx, axisTop + 4);
    ctx.stroke();
    const label = s === 0 ? "now" : `−${s} s`;
    ctx.textAlign = s === 0 ? "right" : tx < 20 ? "left" : "center";
    ctx.fillText(label, Math.max(0, Math.min(width, tx)), axisTop + 4);
  }
}
