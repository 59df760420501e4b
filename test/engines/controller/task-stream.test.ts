/**
 * The task stream: engines report what they ran, the controller keeps it and answers a window of
 * it merged to a view's resolution, with throughput, queue lengths and memory per second.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { EngineRegistry } from "../../../engines/controller/engine-registry.js";
import { TaskStream } from "../../../engines/controller/task-stream.js";
import type { Client, TaskStreamContent } from "../../../engines/index.js";
import { startTestCluster, stopTestClusters, until } from "../cluster-fixture.js";

let rc: Client;
before(async () => {
  rc = (await startTestCluster({ n: 2 })).client!;
});
after(stopTestClusters);

/** Each engine's spans as objects, names resolved. */
function spansOf(s: TaskStreamContent, engine: number) {
  const flat = s.engines.find((e) => e.id === engine)?.spans ?? [];
  const out = [];
  for (let i = 0; i < flat.length; i += 5)
    out.push({
      start: flat[i]!,
      end: flat[i + 1]!,
      tasks: flat[i + 2]!,
      name: s.names[flat[i + 3]!],
      failed: flat[i + 4] === 1,
    });
  return out;
}

test("a flood of tiny tasks reaches the controller as a few named spans per engine, with the tasks counted", async () => {
  const square = (x: number) => x * x;
  const n = 20_000;
  const t0 = Date.now();
  const results = await rc.loadBalancedView().map(
    square,
    Array.from({ length: n }, (_, i) => i),
    {
      chunksize: 1,
    },
  );
  assert.equal(results.length, n);
  // Direct tasks over lanes count too: the engine reports them itself.
  await rc.view().apply(function direct() {
    return 1;
  });
  let s: TaskStreamContent | undefined;
  const tasks = (name: string) => s!.name_tasks[s!.names.indexOf(name)];
  assert.ok(
    await until(async () => {
      s = await rc.taskStream();
      return tasks("square") === n && tasks("direct") === rc.ids.length;
    }, 5000),
    `the stream does not count ${n} square tasks and ${rc.ids.length} direct ones: ${JSON.stringify([s?.names, s?.name_tasks])}`,
  );
  // Merged to pixels a span takes one name, but the spans still hold every task.
  let held = 0;
  for (const id of rc.ids) {
    const spans = spansOf(s!, id);
    assert.ok(spans.length > 0 && spans.length < 200, `engine ${id}: ${spans.length} spans`);
    for (const x of spans)
      assert.ok(
        x.start >= t0 - 1 && x.end <= s!.now + 1 && x.start <= x.end,
        `${t0} ${s!.now} ${JSON.stringify(x)}`,
      );
    held += spans.reduce((sum, x) => sum + x.tasks, 0);
  }
  assert.equal(held, n + rc.ids.length);
  assert.ok(Math.max(...s!.rate) > 0, `no throughput in ${JSON.stringify(s!.rate)}`);
  assert.ok(s!.engines.every((e) => e.rss > 0 && e.rss_series.length === s!.t.length));
  assert.equal(s!.t.length, s!.rate.length);
  assert.equal(s!.t.length, s!.queued.length);
});

test("a failed task's span is marked failed, and a long task shows as running while it runs", async () => {
  await assert.rejects(
    rc.at(0).apply(function boom() {
      throw new Error("boom");
    }),
  );
  const long = rc.at(1).apply(function sleepy() {
    const end = Date.now() + 1500;
    while (Date.now() < end) {
      // busy: the engine's event loop is blocked while it runs
    }
    return "done";
  });
  let s: TaskStreamContent | undefined;
  assert.ok(
    await until(async () => {
      s = await rc.taskStream();
      const e = s.engines.find((x) => x.id === rc.ids[1]);
      return e?.running !== undefined && s.names[e.running[1]] === "sleepy";
    }, 1400),
    "the long task does not show as running",
  );
  assert.equal(await long, "done");
  s = await rc.taskStream();
  assert.ok(spansOf(s, rc.ids[0]!).some((x) => x.name === "boom" && x.failed));
});

test("spans closer than the resolution asked for are merged, failures kept visible", () => {
  const registry = new EngineRegistry();
  const rec = registry.register({ uuid: "u", pid: 1, hostname: "h", heart: "hb" });
  const stream = new TaskStream(registry, () => 0);
  // Ten 1 ms tasks of "f" 2 ms apart, one failed "g" among them, then "f" again 500 ms later.
  const spans: number[] = [];
  for (let i = 0; i < 10; i++) spans.push(-1000 + i * 3, -999 + i * 3, 1, i === 5 ? 1 : 0, i === 5 ? 1 : 0);
  spans.push(-400, -300, 1, 0, 0);
  stream.record(rec.info.id, { now: Date.now(), names: ["f", "g"], spans });
  // As they arrive, spans of one name and outcome within 10 ms join: f×5, g, f×4, f.
  const fine = stream.summary({ resolution_ms: 0.5 });
  assert.deepEqual(
    Array.from({ length: fine.engines[0]!.spans.length / 5 }, (_, i) => fine.engines[0]!.spans[i * 5 + 2]),
    [5, 1, 4, 1],
  );
  const coarse = stream.summary({ resolution_ms: 100 });
  const got = coarse.engines[0]!.spans;
  assert.equal(got.length / 5, 2, JSON.stringify(got));
  assert.equal(got[2], 10);
  assert.equal(coarse.names[got[3]!], "f", "the name with most tasks");
  assert.equal(got[4], 1, "the failure was merged away");
  assert.equal(got[7], 1);
});
