import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, test } from "node:test";
import type { Client } from "../../../engines/index.js";
import { processAlive } from "../../../engines/launchers/process-alive.js";
import { needs } from "../../helpers/system-needs.js";
import { startTestCluster, stopTestClusters, until } from "../cluster-fixture.js";
import { engineByHand } from "../engine-by-hand.js";

after(stopTestClusters);

/** Puts every engine of `rc` in a synchronous loop that never ends (it cannot run its own exit). */
async function spinEveryEngine(rc: Client): Promise<void> {
  void rc
    .view()
    .apply(() => {
      for (;;) {}
    })
    .catch(() => {});
  await new Promise((r) => setTimeout(r, 300));
}

test("an engine stuck in synchronous code dies with its controller (the launcher's engines)", async (t) => {
  if (!["/usr/bin/setpriv", "/bin/setpriv"].some((p) => existsSync(p))) {
    t.skip(
      needs(
        "setpriv",
        "setpriv (util-linux) is not installed: local engines are started without a parent-death signal",
      ),
    );
    return;
  }
  const cluster = await startTestCluster({ n: 1 });
  const rc = cluster.client!;
  const [pid] = await rc.view().apply(() => process.pid);
  await spinEveryEngine(rc);
  process.kill(rc.info.controller_pid, "SIGKILL");
  assert.ok(await until(() => !processAlive(pid!), 3000), "the stuck engine is gone within 3 s");
});

test("an engine started by hand, stuck in synchronous code, is ended by its signal thread once the controller is gone", async () => {
  const cluster = await startTestCluster({ n: 0 });
  const rc = cluster.client!;
  const { child: byHand } = await engineByHand(rc, cluster.file);
  try {
    await spinEveryEngine(rc);
    const killed = Date.now();
    process.kill(rc.info.controller_pid, "SIGKILL");
    const exited = await new Promise<NodeJS.Signals | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 25_000);
      byHand.once("exit", (_code, signal) => {
        clearTimeout(timer);
        resolve(signal);
      });
    });
    assert.equal(exited, "SIGKILL", "its signal thread killed it");
    assert.ok(Date.now() - killed >= 9_000, "not before the main thread's own grace had passed");
  } finally {
    byHand.kill("SIGKILL");
  }
});
