/** The colours and font the task stream's canvases draw with, taken from JupyterLab's theme. */
export interface ChartTheme {
  /** Behind everything; an idle stretch of an engine's row shows it. */
  background: string;
  /** An engine's row where nothing ran. */
  row: string;
  grid: string;
  text: string;
  font: string;
}

/** The current theme's values (light or dark), read from JupyterLab's CSS variables. */
export function chartTheme(element: Element): ChartTheme {
  const style = getComputedStyle(element);
  const v = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    background: v("--jp-layout-color1", "#fff"),
    row: v("--jp-layout-color2", "#eee"),
    grid: v("--jp-border-color2", "#ccc"),
    text: v("--jp-ui-font-color2", "#666"),
    font: `10px ${v("--jp-ui-font-family", "sans-serif")}`,
  };
}

/** A canvas sized for the device's pixels, and its 2D context scaled to CSS pixels. */
export function prepareCanvas(
  canvas: HTMLCanvasElement,
  height: number,
): { ctx: CanvasRenderingContext2D; width: number } | undefined {
  const width = canvas.clientWidth;
  const ctx = canvas.getContext("2d");
  if (!ctx || width <= 0) return undefined;
  const ratio = window.devicePixelRatio || 1;
  canvas.style.height = `${height}px`;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { ctx, width };
}
