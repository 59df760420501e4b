import { processAlive } from "../engines/launchers/process-alive.js";

/** How often the kernel looks for the process that started it. */
const PARENT_POLL_MS = 1000;

/**
 * Calls `onGone` once the Jupyter server that started this kernel is gone, as ipykernel's
 * ParentPollerUnix does: Jupyter names itself in `JPY_PARENT_PID`. A server that dies without
 * shutting its kernels down (killed, or interrupted where it cannot clean up) would otherwise
 * leave them running, and with them the clusters their notebooks started (which follow their
 * kernel). The parent is gone when its pid no longer exists or, when it was this process's
 * parent, when this process has been handed to another one. Does nothing without the variable
 * (a kernel started by hand), or when it names pid 1, which never goes away.
 */
export function watchParent(onGone: () => void, env: NodeJS.ProcessEnv = process.env): void {
  const parent = Number(env.JPY_PARENT_PID);
  if (!Number.isInteger(parent) || parent <= 1) return;
  const wasOurParent = process.ppid === parent;
  const timer = setInterval(() => {
    if (processAlive(parent) && (!wasOurParent || process.ppid === parent)) return;
    clearInterval(timer);
    onGone();
  }, PARENT_POLL_MS);
  timer.unref();
}
