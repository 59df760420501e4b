import type { CancelOptions } from "../cancellation.js";

/** What a progress display needs to know about the work it follows. */
export interface ProgressSource {
  readonly progress: number;
  readonly length: number;
  ready(): boolean;
}

/** The part of the tsparallel kernel's `display` global that a progress line uses. */
interface DisplayHandleLike {
  /** Shows, then replaces, one text/plain output. */
  text(text: string): void;
}
interface DisplayLike {
  newHandle(): DisplayHandleLike;
}

function kernelDisplay(): DisplayLike | undefined {
  const d = (globalThis as { display?: unknown }).display;
  return typeof d === "function" && typeof (d as Partial<DisplayLike>).newHandle === "function"
    ? (d as unknown as DisplayLike)
    : undefined;
}

/** `[########----------------] 3/8 tasks done, 1.2 s` */
export function progressText(done: number, total: number, seconds: number, what = "tasks"): string {
  const width = 24;
  const filled = total ? Math.round((width * done) / total) : width;
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${what} done, ${seconds.toFixed(1)} s`;
}

/**
 * Shows a throttled progress line until `source` is ready: in the tsparallel kernel one output
 * updated in place (a display handle), elsewhere a line on stderr rewritten with `\r`.
 * Resolves when ready, or with false when `timeout` (ms) passed first; `interval` is how often
 * the line is redrawn (ms, default 250).
 */
export async function showProgressUntilReady(
  source: ProgressSource,
  waitReady: (opts: CancelOptions) => Promise<boolean>,
  opts: CancelOptions & { interval?: number } = {},
): Promise<boolean> {
  const started = performance.now();
  const display = kernelDisplay();
  const handle = display?.newHandle();
  const show = () => {
    const text = progressText(source.progress, source.length, (performance.now() - started) / 1000);
    if (handle) handle.text(text);
    else process.stderr.write(`\r${text}`);
  };
  show();
  const timer = setInterval(show, opts.interval ?? 250);
  try {
    return await waitReady({ timeout: opts.timeout, signal: opts.signal });
  } finally {
    clearInterval(timer);
    show();
    if (!handle) process.stderr.write("\n");
  }
}
