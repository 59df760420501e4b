import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster, type ClusterOptions } from "../../engines/index.js";

/** A private TSPARALLEL_DIR for one test file; `cleanup()` removes it. */
export function useTempClusterDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "tsp-test-"));
  process.env.TSPARALLEL_DIR = dir;
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts a real local cluster (controller + engine processes). Call `stopTestClusters()` from the
 * file's `after` hook: it stops them pass or fail.
 */
export async function startTestCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  if (!process.env.TSPARALLEL_DIR?.includes("tsp-test-")) started.dirs.push(useTempClusterDir());
  // No replacements unless a test asks: tests count the engines left after killing some.
  const cluster = await Cluster.launch({ n: 2, timeout: 20_000, respawn: 0, ...opts });
  started.clusters.push(cluster);
  return cluster;
}

const started = { clusters: [] as Cluster[], dirs: [] as { cleanup: () => void }[] };

/** Stops every cluster this file started and removes its temp folder. */
export async function stopTestClusters(): Promise<void> {
  await Promise.all(started.clusters.splice(0).map((c) => c.stop().catch(() => {})));
  for (const d of started.dirs.splice(0)) d.cleanup();
}

/** Polls `cond` every 20 ms until it holds or `ms` pass. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
