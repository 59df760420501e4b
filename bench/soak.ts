import { readFileSync } from "node:fs";
import { Cluster } from "../engines/index.js";

/** What a soak measured: the controller's resident memory, in MB. */
export interface SoakResult {
  tasks: number;
  seconds: number;
  idleMB: number;
  peakMB: number;
  afterMB: number;
}

/** Resident memory of process `pid`, in MB. */
function rssMB(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) / 1024;
}

/**
 * Runs `tasks` tiny load-balanced tasks (in bursts of 10,000) on a fresh 2-engine cluster and
 * reports the controller's resident memory when idle before, at its peak, and after `idleMs` of
 * quiet after the last task.
 */
export async function soak(tasks: number, idleMs = 10_000): Promise<SoakResult> {
  const cluster = await Cluster.launch({ n: 2 });
  try {
    const rc = cluster.client!;
    const lb = rc.loadBalancedView();
    const pid = rc.info.controller_pid;
    await lb.map(
      (x: number) => x,
      Array.from({ length: 1000 }, (_, i) => i),
    );
    await new Promise((r) => setTimeout(r, 3000));
    const idleMB = rssMB(pid);
    let peakMB = idleMB;
    const burst = 10_000;
    const started = performance.now();
    for (let done = 0; done < tasks; done += burst) {
      const ars = [];
      for (let i = 0; i < burst; i++) ars.push(lb.apply((x: number) => x + 1, i));
      const out = await Promise.all(ars);
      if (out[burst - 1] !== burst) throw new Error("the soak's tasks answered wrong");
      peakMB = Math.max(peakMB, rssMB(pid));
    }
    const seconds = (performance.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, idleMs));
    return { tasks, seconds, idleMB, peakMB, afterMB: rssMB(pid) };
  } finally {
    await cluster.stop();
  }
}
