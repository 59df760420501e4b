/**
 * Who decides how many BLAS threads a large multiply may use. Outside a cluster nobody does: the
 * native backend keeps what `setBlasThreads` or OPENBLAS_NUM_THREADS set. An engine installs an
 * advisor that looks at how many engines of its host are at work (engines/store/core-board.ts),
 * so a lone task uses the idle cores and a busy host keeps one thread per engine. A thread count
 * the user sets explicitly wins over any advisor.
 * @module
 */

/** Given a multiply's work (m·n·k), the threads it may use, or undefined for no advice. */
export type ThreadAdvisor = (work: number) => number | undefined;

let advisor: ThreadAdvisor | undefined;
let userChose = false;

/** Installs (or, with undefined, removes) the advisor. */
export function setThreadAdvisor(fn: ThreadAdvisor | undefined): void {
  advisor = fn;
}

/** The user set a thread count: advice is ignored from now on. */
export function threadsChosenByUser(): void {
  userChose = true;
}

/** The threads a multiply of `work` may use, when someone advises. */
export function advisedThreads(work: number): number | undefined {
  return userChose || !advisor ? undefined : advisor(work);
}
