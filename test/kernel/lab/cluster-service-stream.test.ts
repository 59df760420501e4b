/**
 * What the cluster service adds for the panel's newer parts, on real clusters: the listing's
 * order, paused engines, and the task stream it passes on from a controller.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Client } from "../../../engines/client/client.js";
import { ClusterService, ServiceError } from "../../../kernel/lab/cluster-service/cluster-service.js";
import type { ClusterList } from "../../../kernel/lab/cluster-service/cluster-snapshot.js";
import { stopClusters } from "../../extension/lab-server.js";

test("the service lists clusters newest first, shows paused engines, and serves a task stream", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tsparallel-service-stream-"));
  const previous = process.env.TSPARALLEL_DIR;
  process.env.TSPARALLEL_DIR = dir;
  const service = new ClusterService({ probeTimeoutMs: 2000, retryUnresponsiveMs: 0 });
  let client: Client | undefined;
  t.after(async () => {
    await client?.close();
    await service.close();
    stopClusters(dir);
    process.env.TSPARALLEL_DIR = previous;
    rmSync(dir, { recursive: true, force: true });
  });

  await service.start("older", 1);
  await service.start("newer", 2);
  const list = (await service.handle({ id: 1, op: "list" })) as ClusterList;
  assert.deepEqual(
    list.clusters.map((c) => c.name),
    ["newer", "older"],
  );

  client = await Client.connect("newer");
  const work = client.loadBalancedView();
  await Promise.all(Array.from({ length: 2000 }, (_, i) => work.apply((x: number) => x + 1, i)));
  await new Promise((r) => setTimeout(r, 1200)); // the engines' spans come once a second
  const [paused] = client.ids;
  await service.signal("newer", [paused!], "SIGSTOP");
  const snap = await service.get("newer");
  assert.equal(snap.engines.find((e) => e.id === paused)?.state, "paused");

  const stream = await service.stream("newer", 300);
  assert.equal(stream.window_ms, 60_000);
  assert.deepEqual(
    stream.engines.map((e) => e.id),
    client.ids,
  );
  assert.equal(stream.engines.find((e) => e.id === paused)?.state, "paused");
  const tasks = stream.engines.reduce((n, e) => {
    for (let i = 2; i < e.spans.length; i += 5) n += e.spans[i]!;
    return n;
  }, 0);
  assert.equal(tasks, 2000);
  // Merged to 300 pixels of 60 s: no more spans than pixels, whatever the number of tasks.
  for (const e of stream.engines) assert.ok(e.spans.length / 5 <= 300);
  assert.ok(stream.t.length >= 2 && stream.t.at(-1)! <= stream.now + 1);
  await service.signal("newer", "all", "SIGCONT");

  await assert.rejects(
    service.stream("newer", 3),
    (e: unknown) => e instanceof ServiceError && e.status === 400,
  );
  await assert.rejects(service.stream("nope"), (e: unknown) => e instanceof ServiceError && e.status === 404);
});
