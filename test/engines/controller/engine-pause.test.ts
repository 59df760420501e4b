/**
 * Pausing an engine through the controller (SIGSTOP as a signal request, what the panel's
 * "pause" sends): the controller knows the silence is on purpose, so the engine stays, keeps its
 * state, and resumes with SIGCONT.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Client, ClusterError } from "../../../engines/index.js";
import { startTestCluster, stopTestClusters, until } from "../cluster-fixture.js";

let rc: Client;
before(async () => {
  rc = (await startTestCluster({ n: 2 })).client!;
});
after(stopTestClusters);

/** Longer than the controller's heartbeat limit (6 × 500 ms), so a silent engine would be dead by then. */
const PAUSE_MS = 4500;

test("an engine paused with SIGSTOP stays registered and paused past the heartbeat limit, then SIGCONT resumes it with its state", async () => {
  const [paused, other] = rc.ids as [number, number];
  await rc.view([paused]).set("kept", 42);
  const removed: number[] = [];
  rc.on("engineRemoved", (e) => removed.push(e.id));

  await rc.signal(paused, "SIGSTOP");
  const direct = rc.view([paused]).apply(() => (globalThis as { kept?: number }).kept);
  let directDone = false;
  void Promise.resolve(direct).then(() => (directDone = true));
  // Load-balanced work goes to the engine that runs, not to the paused one.
  const lb = await rc.loadBalancedView().map((x: number) => x * 2, [1, 2, 3, 4]);
  assert.deepEqual(lb, [2, 4, 6, 8]);

  await new Promise((r) => setTimeout(r, PAUSE_MS));
  const status = await rc.queueStatus();
  assert.equal(status.engines[paused]?.state, "paused");
  assert.notEqual(status.engines[other]?.state, "paused");
  assert.deepEqual(rc.ids, [paused, other], "an engine left while paused");
  assert.deepEqual(removed, []);
  assert.equal(directDone, false, "a task of the paused engine ran while it was stopped");

  await rc.signal(paused, "SIGCONT");
  assert.deepEqual(await direct, [42], "the paused engine lost its variables");
  assert.ok(await until(async () => (await rc.queueStatus()).engines[paused]?.state !== "paused", 2000));
  // Still alive a heartbeat limit later: the resume was not taken for a death.
  await new Promise((r) => setTimeout(r, 3500));
  assert.deepEqual(rc.ids, [paused, other]);
  assert.equal(await rc.at(0).apply(() => "runs again"), "runs again");
});

test("sending SIGSTOP to all engines and then SIGCONT to all pauses and resumes the whole cluster", async () => {
  const ids = rc.ids;
  await rc.signal(ids, "SIGSTOP");
  const status = await rc.queueStatus();
  for (const id of ids) assert.equal(status.engines[id]?.state, "paused");
  const waiting = rc.loadBalancedView().apply(() => "ran after the resume");
  await new Promise((r) => setTimeout(r, 3500));
  assert.deepEqual(rc.ids, ids);
  await rc.signal(ids, "SIGCONT");
  assert.equal(await waiting, "ran after the resume");
});

test("SIGTERM to a paused engine ends it instead of waiting for a SIGCONT that may never come", async () => {
  const id = rc.ids.at(-1)!;
  await rc.signal(id, "SIGSTOP");
  await rc.signal(id, "SIGTERM");
  assert.ok(await until(() => !rc.ids.includes(id), 5000), "the paused engine did not stop on SIGTERM");
});

test("a signal the controller refuses says why and what to do", async () => {
  await assert.rejects(
    () => rc.signal(999, "SIGSTOP"),
    (e: unknown) =>
      e instanceof ClusterError && e.code === "INVALID_TARGET" && /does not exist/.test(e.message),
  );
});
