/** An engine process a launcher started. */
export interface LaunchedEngine {
  pid: number;
  /** Resolves with how it ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts engine processes that join the cluster described by a connection file. The role is
 * data (which script to run), not a class per backend × role as in ipyparallel.
 */
export interface Launcher {
  readonly kind: string;
  /** Starts `n` engines. */
  start(n: number): LaunchedEngine[];
  /** Every engine started and not yet exited. */
  running(): LaunchedEngine[];
  /** Signals every running engine and waits until they have exited (SIGKILL after `graceMs`). */
  stopAll(graceMs?: number): Promise<void>;
}
