import { Buffer } from "node:buffer";
import process from "node:process";
import { clearTimeout, setTimeout } from "node:timers";

/** Where captured output goes: one call per flushed chunk. */
export type OutputSink = (stream: "stdout" | "stderr", text: string) => void;

const FLUSH_MS = 20;

/**
 * Captures what a task prints: `process.stdout`/`stderr` writes while a task runs, which is also
 * where the global `console` writes (user code runs in the engine's own realm). Text is batched (one message per ~20 ms per stream, and at task end) so a
 * chatty loop does not become one message per line.
 */
export class OutputCapture {
  #sink: OutputSink | undefined;
  readonly #pending = { stdout: "", stderr: "" };
  #timer: NodeJS.Timeout | undefined;
  readonly #realWrite = {
    stdout: process.stdout.write.bind(process.stdout),
    stderr: process.stderr.write.bind(process.stderr),
  };

  #append(name: "stdout" | "stderr", text: string): void {
    if (!this.#sink) {
      this.#realWrite[name](text);
      return;
    }
    this.#pending[name] += text;
    this.#timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Starts sending output to `sink` (one task). */
  begin(sink: OutputSink): void {
    this.#sink = sink;
    const patch = (name: "stdout" | "stderr") =>
      ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        this.#append(name, typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
        const cb = rest.find((r) => typeof r === "function") as (() => void) | undefined;
        cb?.();
        return true;
      }) as typeof process.stdout.write;
    process.stdout.write = patch("stdout");
    process.stderr.write = patch("stderr");
  }

  /** Sends what is buffered. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const name of ["stdout", "stderr"] as const) {
      const text = this.#pending[name];
      if (!text) continue;
      this.#pending[name] = "";
      this.#sink?.(name, text);
    }
  }

  /** Flushes and stops capturing. */
  end(): void {
    this.flush();
    this.#sink = undefined;
    process.stdout.write = this.#realWrite.stdout as typeof process.stdout.write;
    process.stderr.write = this.#realWrite.stderr as typeof process.stderr.write;
  }
}
