/** What every benchmark suite gets from the harness. */
export interface BenchContext {
  /** The package root. */
  root: string;
  /** Python with numpy, ipyparallel and jupyter_client (the project's .venv). */
  python: string;
  /** `--full`: the larger sizes and more repeats. */
  full: boolean;
  /** Progress lines go here (stderr), results go to the table. */
  log: (line: string) => void;
}
