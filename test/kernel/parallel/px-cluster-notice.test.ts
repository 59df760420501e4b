/**
 * %px says which cluster it runs on: on its first use in a kernel (after a restart it may be
 * another cluster than before) and whenever that changes, never silently.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Cluster } from "../../../engines/index.js";
import { startTestCluster, stopTestClusters } from "../../engines/cluster-fixture.js";
import { type StartedKernel, startKernel } from "../../helpers/kernel-process.js";

let kernel: StartedKernel | undefined;
let defaultCluster: Cluster;

before(async () => {
  // The kernel inherits TSPARALLEL_DIR from here, so it finds this "default" cluster.
  defaultCluster = await startTestCluster({ n: 1, name: "default" });
});
after(async () => {
  await kernel?.stop();
  await stopTestClusters();
});

/** The cell's stdout, and its status. */
async function run(code: string): Promise<{ status: string; stdout: string }> {
  const r = await kernel!.client.execute(code, {}, 60_000);
  const stdout = r.outputs
    .filter((m) => m.header.msg_type === "stream" && (m.content as { name: string }).name === "stdout")
    .map((m) => (m.content as { text: string }).text)
    .join("");
  return { status: (r.reply.content as { status: string }).status, stdout };
}

test("%px says which cluster it runs on when it starts using one, and when that changes", async () => {
  kernel = await startKernel({ launcher: "cli" });
  const first = await run("%px 1");
  assert.equal(first.status, "ok");
  assert.match(first.stdout, /^%px runs on cluster "default" \(1 engine\)\.\n/);
  assert.doesNotMatch((await run("%px 2")).stdout, /runs on/, "said again without a change");

  const started = await run("%cluster start -n 1");
  assert.equal(started.status, "ok", started.stdout);
  const name = /%px now runs on this cluster \("([\w.-]+)"\), not on "default"\./.exec(started.stdout)?.[1];
  assert.ok(name, `%cluster start did not say that %px moved:\n${started.stdout}`);
  assert.doesNotMatch((await run("%px 3")).stdout, /runs on/);

  await run("%cluster stop");
  assert.match(
    (await run("%px 4")).stdout,
    new RegExp(`^%px now runs on cluster "default" \\(1 engine\\), not on "${name}"\\.\\n`),
  );
});

test("after a kernel restart %px says which cluster it runs on", async () => {
  await kernel?.stop();
  kernel = await startKernel({ launcher: "cli" });
  assert.match((await run("%px 5")).stdout, /^%px runs on cluster "default" \(1 engine\)\.\n/);
  assert.ok(defaultCluster.client?.ids.length === 1);
});

test("%cluster start as a kernel's first parallel step says that %px leaves the running default", async () => {
  await kernel?.stop();
  kernel = await startKernel({ launcher: "cli" });
  const started = await run("%cluster start -n 1");
  assert.match(started.stdout, /%px now runs on this cluster \("[\w.-]+"\), not on "default"\./);
  await run("%cluster stop");
});
