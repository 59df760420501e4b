/** A process's place among the processes a process manager (mpiexec, srun) started together. */
export interface ProcessRank {
  rank: number;
  /** How many processes were started together. */
  size: number;
  /** The variable the rank came from, e.g. `OMPI_COMM_WORLD_RANK`. */
  source: string;
}

/**
 * The variables that carry a rank, most specific first. MPI's come before Slurm's: an `mpiexec`
 * inside a batch job inherits the batch step's `SLURM_PROCID` (0 for every rank).
 */
const RANK_VARIABLES: readonly (readonly [rank: string, size: string])[] = [
  ["OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"], // Open MPI
  ["PMI_RANK", "PMI_SIZE"], // MPICH (hydra), Intel MPI
  ["PMIX_RANK", "PMIX_SIZE"], // PMIx launchers (srun --mpi=pmix, prterun)
  ["SLURM_PROCID", "SLURM_NTASKS"], // srun
];

/** The rank this process was started with, or undefined when no process manager gave one. */
export function processRank(env: NodeJS.ProcessEnv = process.env): ProcessRank | undefined {
  for (const [rankVar, sizeVar] of RANK_VARIABLES) {
    const rank = Number(env[rankVar]);
    if (env[rankVar] === undefined || !Number.isInteger(rank) || rank < 0) continue;
    const size = Number(env[sizeVar]);
    return { rank, size: Number.isInteger(size) && size > rank ? size : rank + 1, source: rankVar };
  }
  return undefined;
}

/** The line a ranked engine prints on stderr when it starts (the MPI launcher reads it back). */
export function startedLine(rank: ProcessRank, pid: number, hostname: string): string {
  return `tsparallel engine rank ${rank.rank}/${rank.size} started: pid ${pid} on ${hostname}`;
}

/** Reads a {@link startedLine}; undefined for any other line. */
export function parseStartedLine(
  line: string,
): { rank: number; size: number; pid: number; hostname: string } | undefined {
  const m = /tsparallel engine rank (\d+)\/(\d+) started: pid (\d+) on (\S+)/.exec(line);
  if (!m) return undefined;
  return { rank: Number(m[1]), size: Number(m[2]), pid: Number(m[3]), hostname: m[4]! };
}
