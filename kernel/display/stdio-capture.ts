import { Console } from "node:console";
import type { OutputRouter } from "./output-sink.js";

type Write = typeof process.stdout.write;

/**
 * Routes process.stdout/stderr writes (and so console.*) to the current cell's output. Writes
 * made when no cell has run yet go to the real streams. Returns a function that undoes it.
 */
export function captureStdio(router: OutputRouter): () => void {
  const originals = { stdout: process.stdout.write, stderr: process.stderr.write };
  const patch = (name: "stdout" | "stderr"): Write => {
    const stream = process[name];
    const original = originals[name];
    return function write(this: unknown, chunk: unknown, ...rest: unknown[]): boolean {
      const sink = router.current;
      if (!sink) return (original as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
      const encoding = typeof rest[0] === "string" ? (rest[0] as BufferEncoding) : "utf8";
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString(encoding);
      sink.stream(name, text);
      const cb = rest.find((r) => typeof r === "function") as ((e?: Error) => void) | undefined;
      if (cb) queueMicrotask(() => cb());
      return true;
    } as Write;
  };
  process.stdout.write = patch("stdout");
  process.stderr.write = patch("stderr");
  return () => {
    process.stdout.write = originals.stdout;
    process.stderr.write = originals.stderr;
  };
}

/**
 * A console for the cell namespace: the same API as the global one, writing through the
 * (captured) process streams, without colour codes.
 */
export function cellConsole(): Console {
  return new Console({ stdout: process.stdout, stderr: process.stderr, colorMode: false });
}
