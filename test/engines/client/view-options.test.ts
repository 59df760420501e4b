import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Client, ClusterError, InvalidOptionError } from "../../../engines/index.js";
import { startTestCluster, stopTestClusters } from "../cluster-fixture.js";

let rc: Client;
before(async () => {
  rc = (await startTestCluster({ n: 1 })).client!;
});
after(stopTestClusters);

const invalidOption = (what: RegExp) => (e: unknown) =>
  e instanceof InvalidOptionError && e.code === "INVALID_OPTION" && what.test(e.message);

test("a chunksize that is not a whole number ≥ 1 or 'auto' is an InvalidOptionError at map, not a loop", async () => {
  const lb = rc.loadBalancedView();
  const square = (x: number) => x * x;
  // 2.5 first: before chunksize was checked at use, 0 and -1 looped until V8 ran out of memory.
  for (const bad of [2.5, 0, -1, Number.NaN, "big"]) {
    lb.chunksize = bad as number;
    assert.throws(() => lb.map(square, [1, 2, 3]), invalidOption(/chunksize/), String(bad));
  }
  assert.throws(() => lb.map(square, [1, 2, 3], { chunksize: 0 }), invalidOption(/chunksize/));
  lb.chunksize = "auto";
  assert.deepEqual(await lb.map(square, [1, 2, 3]), [1, 4, 9]);
});

test("a negative timeout or retries count is an InvalidOptionError at the call", async () => {
  const lb = rc.loadBalancedView();
  lb.timeout = -1;
  assert.throws(() => lb.apply(() => 1), invalidOption(/timeout/));
  lb.timeout = undefined;
  lb.retries = -3;
  assert.throws(() => lb.apply(() => 1), invalidOption(/retries/));
  lb.retries = 1.5;
  assert.throws(() => lb.apply(() => 1), invalidOption(/retries/));
  assert.throws(() => rc.loadBalancedView().setFlags({ retries: -3 }), invalidOption(/retries/));
  assert.throws(
    () => rc.loadBalancedView().setFlags({ timeout: Number.POSITIVE_INFINITY }),
    invalidOption(/timeout/),
  );
  const dv = rc.view();
  dv.timeout = -5;
  assert.throws(() => dv.apply(() => 1), invalidOption(/timeout/));
  dv.timeout = 1000;
  assert.deepEqual(await dv.apply(() => "ok"), ["ok"]);
});

test("targets that are not engine ids are INVALID_TARGET, never every engine", () => {
  const invalidTarget = (e: unknown) => e instanceof ClusterError && e.code === "INVALID_TARGET";
  // Plain JavaScript can pass anything: a string used to read as an empty slice, all engines.
  assert.throws(() => rc.view("0" as never), invalidTarget);
  assert.throws(() => rc.view({ start: "1" } as never), invalidTarget);
  assert.throws(() => rc.view(null as never), invalidTarget);
  assert.throws(() => rc.loadBalancedView(0 as never), invalidTarget);
  assert.throws(() => rc.loadBalancedView([]), invalidTarget, "an empty list is not 'any engine'");
  assert.throws(() => rc.view(["0"] as never).apply(() => 1), invalidTarget);
  assert.throws(() => rc.loadBalancedView(["0"] as never).apply(() => 1), invalidTarget);
});
