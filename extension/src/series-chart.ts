import { type ChartTheme, prepareCanvas } from "./chart-theme";

/** One line of a {@link drawSeries} chart. */
export interface ChartSeries {
  /** Values at the chart's sample times. */
  values: readonly number[];
  colour: string;
  /** Fill below the line (the chart's main series). */
  fill?: boolean;
  /** Which side's scale it uses: series on one side share it. */
  axis?: "left" | "right";
  /** How its scale's maximum is written in the corner. */
  format: (value: number) => string;
}

/** Height of a series chart, in CSS pixels. */
export const SERIES_HEIGHT = 70;

/**
 * Draws values sampled once a second over the window (the same window and right edge as the
 * task rows above it): lines, the first series on each side also labelled with its scale's
 * maximum in that side's top corner.
 */
export function drawSeries(
  canvas: HTMLCanvasElement,
  t: readonly number[],
  now: number,
  windowMs: number,
  series: readonly ChartSeries[],
  theme: ChartTheme,
): void {
  const prepared = prepareCanvas(canvas, SERIES_HEIGHT);
  if (!prepared) return;
  const { ctx, width } = prepared;
  const top = 12;
  const h = SERIES_HEIGHT - top - 2;
  const from = now - windowMs;
  const x = (ts: number) => ((ts - from) / windowMs) * width;
  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, width, SERIES_HEIGHT);
  ctx.strokeStyle = theme.grid;
  ctx.strokeRect(0.5, top + 0.5, width - 1, h - 1);
  const max = { left: 0, right: 0 };
  for (const s of series) max[s.axis ?? "left"] = Math.max(max[s.axis ?? "left"], ...s.values, 1);
  const labelled = new Set<string>();
  ctx.font = theme.font;
  ctx.textBaseline = "top";
  for (const s of series) {
    const side = s.axis ?? "left";
    const y = (v: number) => top + h - (v / (max[side] * 1.1)) * h;
    const points = s.values.map((v, i) => [x(t[i] ?? now), y(v)] as const).filter(([px]) => px >= 0);
    if (points.length > 0) {
      ctx.beginPath();
      ctx.moveTo(points[0]![0], points[0]![1]);
      for (const [px, py] of points.slice(1)) ctx.lineTo(px, py);
      ctx.strokeStyle = s.colour;
      ctx.lineWidth = 1.5;
      ctx.stroke();
      if (s.fill) {
        ctx.lineTo(points.at(-1)![0], top + h);
        ctx.lineTo(points[0]![0], top + h);
        ctx.closePath();
        ctx.globalAlpha = 0.25;
        ctx.fillStyle = s.colour;
        ctx.fill();
        ctx.globalAlpha = 1;
      }
    }
    if (!labelled.has(side)) {
      labelled.add(side);
      ctx.fillStyle = s.colour;
      ctx.textAlign = side;
      ctx.fillText(s.format(max[side]), side === "left" ? 2 : width - 2, 0);
    }
  }
}
