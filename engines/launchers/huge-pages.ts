/**
 * glibc's switch for transparent huge pages on the blocks malloc maps for large allocations: it
 * `madvise`s them, which the kernel's default THP mode ("madvise") honours. numpy asks for huge
 * pages on its large arrays the same way. A received 512 MiB array then takes 256 page faults
 * instead of 131,072; on this VM a warm 512 MiB receive went from ~0.26 s to ~0.06 s of faulting.
 * glibc reads it when a process starts, so it goes into the environment of the processes that
 * receive large arrays: engines (launchers) and the kernel (kernel.json).
 */
export const HUGEPAGE_TUNABLE = "glibc.malloc.hugetlb=1";

/**
 * `GLIBC_TUNABLES` with {@link HUGEPAGE_TUNABLE} added; unchanged when the user already chose a
 * `glibc.malloc.hugetlb` value or set `TSPARALLEL_HUGEPAGES=0`.
 */
export function withHugePages(env: NodeJS.ProcessEnv): string | undefined {
  const current = env.GLIBC_TUNABLES;
  if (env.TSPARALLEL_HUGEPAGES === "0" || current?.includes("glibc.malloc.hugetlb")) return current;
  return current ? `${current}:${HUGEPAGE_TUNABLE}` : HUGEPAGE_TUNABLE;
}
