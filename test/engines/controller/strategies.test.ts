import assert from "node:assert/strict";
import { test } from "node:test";
import { EngineRegistry } from "../../../engines/controller/engine-registry.js";
import { STRATEGIES, strategyFor } from "../../../engines/controller/strategies/index.js";
import { TaskScheduler } from "../../../engines/controller/task-scheduler.js";
import { TaskTable } from "../../../engines/controller/task-table.js";

/** A task header as the controller stores it. */
const header = {
  msg_id: "",
  msg_type: "apply_request",
  session: "s",
  username: "u",
  date: "",
  version: "5.3",
};

/** A load-balanced task for the scheduler, as a client would submit it. */
function lbTask(msgId: string) {
  const msg = { header: { ...header, msg_id: msgId }, metadata: {}, content: {}, buffers: [], raw: [] };
  return {
    msg: msg as never,
    route: { kind: "lb" as const },
    client: Buffer.from("c"),
    retriesLeft: 0,
    tried: new Set<number>(),
  };
}

const loads = [
  { id: 0, outstanding: 2, lastAssigned: 5 },
  { id: 1, outstanding: 0, lastAssigned: 9 },
  { id: 2, outstanding: 0, lastAssigned: 3 },
];

test("leastload picks the fewest outstanding tasks, least recently used on ties", () => {
  assert.equal(STRATEGIES.leastload(loads), 2);
  assert.equal(STRATEGIES.leastload([loads[0]!, loads[1]!]), 1);
});

test("lru picks the engine assigned longest ago regardless of load", () => {
  assert.equal(STRATEGIES.lru(loads), 2);
});

test("random and weighted only pick candidates, and weighted favours idle engines", () => {
  const counts = new Map<number, number>();
  for (let i = 0; i < 3000; i++) {
    const id = STRATEGIES.weighted([loads[0]!, loads[1]!]);
    counts.set(id, (counts.get(id) ?? 0) + 1);
    assert.ok([0, 1, 2].includes(STRATEGIES.random(loads)));
  }
  // weights 1/3 vs 1: engine 1 should get about 75%.
  assert.ok((counts.get(1) ?? 0) > 2000, `weighted gave ${JSON.stringify([...counts])}`);
});

test("an unknown scheme is refused with the list of valid ones", () => {
  assert.throws(() => strategyFor("twobin"), /leastload, lru, random, weighted/);
});

test("the task table evicts the oldest finished tasks past its limits and keeps unfinished ones", () => {
  const table = new TaskTable({ maxTasks: 3, maxReplyBytes: 100 });
  for (let i = 0; i < 6; i++)
    table.add({ msgId: `t${i}`, type: "apply_request", header, client: Buffer.from("c") });
  for (let i = 0; i < 5; i++) table.complete(`t${i}`, "ok", [Buffer.alloc(30)]);
  assert.equal(table.get("t0"), undefined);
  assert.equal(table.wasEvicted("t0"), true);
  assert.equal(table.get("t5")?.state, "queued", "unfinished tasks are never evicted");
  assert.ok(table.replyBytes <= 100);
  assert.equal(table.size, 4);
  table.complete("t5", "ok", [Buffer.alloc(500)]);
  assert.equal(table.get("t5")?.reply, undefined, "a reply bigger than the budget is not kept");
});

test("the adaptive high-water mark lets engines with tiny tasks hold more, and keeps it for long ones", () => {
  const registry = new EngineRegistry();
  const quick = registry.register({ uuid: "q", pid: 1, hostname: "h", heart: "hq" });
  const slow = registry.register({ uuid: "s", pid: 2, hostname: "h", heart: "hs" });
  const now = 1000; // the scheduler's clock, in ms, held still
  quick.taskMs = 0.01; // 10 µs tasks, answering right now
  quick.lastReplyAt = now;
  slow.taskMs = 50;
  slow.lastReplyAt = now;
  const sent = new Map<number, number>();
  const table = new TaskTable();
  const scheduler = new TaskScheduler(
    registry,
    table,
    {
      dispatch: (_t, e) => {
        e.outstanding.add(`${e.info.id}-${e.outstanding.size}`);
        sent.set(e.info.id, (sent.get(e.info.id) ?? 0) + 1);
      },
      fail: () => assert.fail("nothing should fail"),
    },
    STRATEGIES.leastload,
    2,
    true,
    () => now,
  );
  for (let i = 0; i < 1000; i++) scheduler.submit(lbTask(`m${i}`));
  assert.equal(sent.get(slow.info.id), 2, "a 50 ms engine keeps the floor of 2");
  assert.equal(sent.get(quick.info.id), 500, "a 10 µs engine holds ~5 ms of work");
  assert.equal(scheduler.queued, 498);

  // After a pause the quick engine is back to the floor until it answers again.
  quick.outstanding.clear();
  quick.lastReplyAt = now - 1000;
  sent.clear();
  scheduler.pump();
  assert.equal(sent.get(quick.info.id), 2, "no deep queue for an engine that has been quiet");

  // With an explicit hwm (no adaptation), the same quick engine holds 2.
  const fixedRegistry = new EngineRegistry();
  fixedRegistry.register({ uuid: "q2", pid: 3, hostname: "h", heart: "hq2" }).taskMs = 0.01;
  const fixed = new TaskScheduler(
    fixedRegistry,
    new TaskTable(),
    { dispatch: (_t, e) => e.outstanding.add(String(e.outstanding.size)), fail: () => {} },
    STRATEGIES.leastload,
    2,
  );
  for (let i = 0; i < 10; i++) fixed.submit(lbTask(`f${i}`));
  assert.equal(fixed.queued, 8);
});

test("one descheduled tiny task does not end an engine's deep queue; two slow replies in a row do", () => {
  const registry = new EngineRegistry();
  const engine = registry.register({ uuid: "e", pid: 1, hostname: "h", heart: "he" });
  const now = 1000;
  engine.lastReplyAt = now;
  let sent = 0;
  const scheduler = new TaskScheduler(
    registry,
    new TaskTable(),
    {
      dispatch: (_t, e) => {
        e.outstanding.add(`t${sent++}`);
      },
      fail: () => assert.fail("nothing should fail"),
    },
    STRATEGIES.leastload,
    2,
    true,
    () => now,
  );
  for (let i = 0; i < 200; i++) scheduler.ranFor(engine, 0.02);
  assert.ok(engine.taskMs < 0.03, `the estimate settles near the run time (${engine.taskMs})`);
  for (let i = 0; i < 5000; i++) scheduler.submit(lbTask(`m${i}`));
  // Sends what the engine may hold once its queue is empty again.
  const refill = () => {
    engine.outstanding.clear();
    sent = 0;
    scheduler.pump();
    return sent;
  };
  const deep = refill();
  assert.ok(deep >= 100, `a 20 µs engine holds a deep queue (${deep})`);

  scheduler.ranFor(engine, 3); // descheduled once: 150x the estimate
  assert.equal(refill(), 2, "until the next reply the engine is held to the strict limit");
  scheduler.ranFor(engine, 0.02); // the next reply is quick again
  assert.ok(engine.taskMs < 0.03, "a one-off does not move the estimate");
  assert.equal(refill(), deep, "and the deep queue is back at once");

  scheduler.ranFor(engine, 0.5);
  scheduler.ranFor(engine, 0.7); // confirmed: the tasks really are longer now
  assert.equal(engine.taskMs, 0.5, "the estimate jumps to the shorter of the two");
  scheduler.ranFor(engine, 40); // one long run ends the deep queue at once …
  assert.equal(refill(), 2, "long tasks keep the floor of 2");
  scheduler.ranFor(engine, 60); // … and the next confirms it
  assert.equal(engine.taskMs, 40);
  assert.equal(refill(), 2);
});

test("a large task table evicts in bulk and stays within its limit plus a bounded slack", () => {
  const table = new TaskTable({ maxTasks: 5000, maxReplyBytes: 1 << 30 });
  let peak = 0;
  for (let i = 0; i < 20_000; i++) {
    table.add({ msgId: `t${i}`, type: "apply_request", header, client: Buffer.from("c") });
    table.complete(`t${i}`, "ok", [Buffer.alloc(8)]);
    peak = Math.max(peak, table.size);
  }
  assert.ok(peak <= 5000 + 1024 + 1, `peak ${peak}`);
  assert.equal(table.wasEvicted("t0"), true);
  assert.equal(table.get("t19999")?.state, "done", "the newest are kept");
});

test("a flood of tiny tasks keeps to as many engines as their host has cores; long tasks spread", () => {
  const registry = new EngineRegistry();
  const engines = Array.from({ length: 8 }, (_, i) =>
    registry.register({ uuid: `e${i}`, pid: i + 1, hostname: "h", heart: `h${i}`, cpus: 2 }),
  );
  let now = 1000;
  for (const e of engines) {
    e.taskMs = 0.01; // 10 µs tasks, answering right now
    e.lastReplyAt = now;
  }
  const scheduler = new TaskScheduler(
    registry,
    new TaskTable(),
    {
      dispatch: (t, e) => {
        e.outstanding.add(t.msg.header.msg_id);
      },
      fail: () => assert.fail("nothing should fail"),
    },
    STRATEGIES.leastload,
    2,
    true,
    () => now,
  );
  const held = () => engines.map((e) => e.outstanding.size);
  scheduler.together(() => {
    for (let i = 0; i < 3000; i++) scheduler.submit(lbTask(`t${i}`));
  });
  assert.deepEqual(held(), [500, 500, 0, 0, 0, 0, 0, 0], "two engines for two cores, each ~5 ms of work");
  assert.equal(scheduler.queued, 2000, "the rest waits for room on them");

  // They answer: the stream goes on where it was.
  for (const e of engines.slice(0, 2)) e.outstanding.clear();
  scheduler.pump();
  assert.deepEqual(held(), [500, 500, 0, 0, 0, 0, 0, 0]);

  // Engine 0 stops answering (a long task among the tiny ones): after 100 ms it no longer counts,
  // and another engine takes its core.
  engines[1]!.outstanding.clear();
  now += 150;
  engines[1]!.lastReplyAt = now;
  scheduler.pump();
  const [stuck, streaming, woken] = held();
  assert.equal(stuck, 500);
  assert.equal(streaming, 500);
  assert.ok(woken! > 0, `an idle engine is woken beside the stuck one (${held()})`);

  // Tasks that take 50 ms go two per engine to every engine with room.
  const slow = new EngineRegistry();
  const many = Array.from({ length: 8 }, (_, i) =>
    slow.register({ uuid: `s${i}`, pid: i + 1, hostname: "h", heart: `s${i}`, cpus: 2 }),
  );
  for (const e of many) {
    e.taskMs = 50;
    e.lastReplyAt = now;
  }
  const spread = new TaskScheduler(
    slow,
    new TaskTable(),
    { dispatch: (t, e) => e.outstanding.add(t.msg.header.msg_id), fail: () => {} },
    STRATEGIES.leastload,
    2,
    true,
    () => now,
  );
  spread.together(() => {
    for (let i = 0; i < 100; i++) spread.submit(lbTask(`l${i}`));
  });
  assert.deepEqual(
    many.map((e) => e.outstanding.size),
    [2, 2, 2, 2, 2, 2, 2, 2],
  );
});
