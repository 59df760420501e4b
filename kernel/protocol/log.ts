import { writeSync } from "node:fs";

/**
 * The kernel's own diagnostics. They go straight to file descriptor 2 with a synchronous write:
 * process.stderr is redirected into the running cell's output while user code runs, and a
 * worker thread's stderr would be delayed while the main thread is stuck in a loop.
 */
export function kernelLog(message: string): void {
  try {
    writeSync(2, `[tsparallel] ${message}\n`);
  } catch {
    // stderr closed (the frontend went away): nothing useful left to do with a log line.
  }
}
