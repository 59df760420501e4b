/** The ways a controller can start its engines. */
export const LAUNCHER_KINDS = ["local", "ssh", "slurm", "mpi"] as const;

/** Which launcher starts a cluster's engines. */
export type LauncherKind = (typeof LAUNCHER_KINDS)[number];

/** Where an engine process runs, as it reported itself (pid and `os.hostname()` of its host). */
export interface EngineLocation {
  pid: number;
  hostname: string;
}

/** A change to a running cluster that some launchers cannot make (see {@link Launcher.refusal}). */
export type LauncherAction = "add" | "remove" | "restart";

/** What a launcher gets from the controller that owns it. */
export interface LauncherContext {
  /** The connection file the controller wrote; engines read it (or a copy of it). */
  connectionFile: string;
  /** The cluster's name: names batch jobs and remote copies of the connection file. */
  clusterName: string;
  /** Called when the launcher sees one of its engines exit (the controller then drops it at once). */
  onExit(engine: EngineLocation, code: number | null, signal: NodeJS.Signals | null): void;
  /** A line for the controller's log (stderr). */
  log(line: string): void;
}

/**
 * Starts engine processes that join the cluster described by a connection file, and stops them.
 * One small strategy per way of starting processes (local children, ssh, a Slurm job, mpiexec);
 * the controller owns one and decides when to call it.
 */
export interface Launcher {
  readonly kind: LauncherKind;
  /**
   * Starts `n` more engines. Resolves once they are under way (spawned, or submitted to the
   * batch system), not once they have registered; rejects with a {@link LauncherError} that
   * says what to check.
   */
  start(n: number): Promise<void>;
  /**
   * How many engines this launcher started that have neither exited nor been released, as far as
   * it can tell. Some of them may not have registered yet: the controller adds only the rest.
   */
  running(): number;
  /** Why this launcher cannot make `action` on a running cluster, or undefined when it can. */
  refusal(action: LauncherAction): string | undefined;
  /**
   * True when this launcher started the engine process at `engine` on the controller's own host
   * and has not seen it exit. Only such a process is signalled by its pid: the pid an engine
   * reports at registration is its word, and a process the cluster did not start is never the
   * cluster's to signal.
   */
  startedHere(engine: EngineLocation): boolean;
  /**
   * The controller let this engine go (scaled down, restarted, or found dead): stop it if it
   * still runs and stop counting it.
   */
  release(engine: EngineLocation): void;
  /** Stops every engine it started and waits for them, forcefully after `graceMs`. */
  stopAll(graceMs?: number): Promise<void>;
  /** One line for people: what runs where ("Slurm job 42: 4 engines"). */
  describe(): string;
}

/** A launcher could not start engines (or was given options it cannot use); the message says what to do. */
export class LauncherError extends Error {
  override readonly name = "LauncherError";
}
