/**
 * Engines on the controller's host share its cores for large multiplies: a lone task uses one BLAS
 * thread per core, engines busy at once keep one each, an engine that dies mid-task gives its core
 * back, and a thread count the user sets wins.
 */
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { after, test } from "node:test";
import type { Client } from "../../../engines/index.js";
import { nativeBackendMissing } from "../../helpers/system-needs.js";
import { startTestCluster, stopTestClusters } from "../cluster-fixture.js";

after(() => stopTestClusters());

const noBackend = nativeBackendMissing();
const cpus = availableParallelism();

/**
 * A 512² multiply on the engine `waitMs` into its task, which then stays busy as long again (so
 * that tasks started together overlap at their multiplies); returns the BLAS threads it ran with.
 */
const multiply = async (waitMs: number) => {
  const nd = require("tsparallel/ndarray");
  await new Promise((r) => setTimeout(r, waitMs));
  const a = nd.ones([512, 512]);
  a.dot(a);
  const threads = nd.blasThreads();
  await new Promise((r) => setTimeout(r, waitMs));
  return threads;
};

let rc: Client;
const cluster = async () => {
  rc ??= (await startTestCluster({ n: 2 })).client!;
  return rc;
};

test("a lone task's large multiply takes every core; tasks running at once keep one thread each", {
  skip: noBackend,
}, async () => {
  const c = await cluster();
  assert.equal(await c.at(0).apply(multiply, 0), cpus, "alone on the host: one thread per core");
  const both = (await c.view().apply(multiply, 300)) as number[];
  assert.deepEqual(both, [Math.max(1, cpus - 1), Math.max(1, cpus - 1)], "both busy: the idle cores only");
  assert.equal(await c.at(1).apply(multiply, 0), cpus, "and alone again: every core");
});

test("an engine killed mid-task gives its core back", { skip: noBackend }, async () => {
  const c = await cluster();
  const pid = (await c.at(0).apply(() => process.pid)) as number;
  const stuck = c.at(0).apply(() => new Promise(() => {}));
  stuck.catch(() => {});
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(await c.at(1).apply(multiply, 0), Math.max(1, cpus - 1), "the stuck engine holds a core");
  process.kill(pid, "SIGKILL");
  await assert.rejects(stuck, (e: Error) => e.name === "EngineError");
  assert.equal(c.ids.length, 1);
  assert.equal(await c.at(0).apply(multiply, 0), cpus, "its core is free again");
});

test("a thread count the user sets wins over the shared cores", { skip: noBackend }, async () => {
  const c = await cluster();
  const threads = await c.at(0).apply(() => {
    const nd = require("tsparallel/ndarray");
    nd.setBlasThreads(1);
    const a = nd.ones([512, 512]);
    a.dot(a);
    return nd.blasThreads();
  });
  assert.equal(threads, 1);
});
