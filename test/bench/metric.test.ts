import assert from "node:assert/strict";
import { test } from "node:test";
import { type MetricSpec, measure } from "../../bench/metric.js";

/** A spec whose sides log their calls and return their call number. */
function loggingSpec(extra: Partial<MetricSpec> = {}) {
  const calls: string[] = [];
  let o = 0;
  let t = 0;
  const spec: MetricSpec = {
    name: "m",
    unit: "x",
    better: "higher",
    peer: "peer",
    ours: async () => {
      calls.push("ours");
      return ++o;
    },
    theirs: async () => {
      calls.push("theirs");
      return ++t;
    },
    ...extra,
  };
  return { spec, calls };
}

test("measure interleaves the sides after one uncounted run of each", async () => {
  const { spec, calls } = loggingSpec();
  const r = await measure(spec, 3, () => {});
  assert.deepEqual(calls, ["ours", "theirs", "ours", "theirs", "ours", "theirs", "ours", "theirs"]);
  // Warm-ups return 1; the counted repetitions are 2, 3, 4.
  assert.equal(r.ours, 3);
  assert.equal(r.theirs, 3);
  assert.equal(r.repeats, 3);
});

test("blocks run all of ours, then all of theirs; warmUp replaces our uncounted run", async () => {
  const { spec, calls } = loggingSpec({ order: "blocks" });
  spec.warmUp = async () => {
    calls.push("warm");
    return "warmed";
  };
  const r = await measure(spec, 2, () => {});
  assert.deepEqual(calls, ["warm", "ours", "ours", "theirs", "theirs", "theirs"]);
  assert.equal(r.ours, 1.5);
  assert.equal(r.theirs, 2.5);
  assert.equal(r.note, "warmed");
});

test("a side that fails stops there and says why; the other side goes on", async () => {
  const { spec, calls } = loggingSpec();
  let n = 0;
  spec.theirs = async () => {
    calls.push("theirs");
    if (++n === 2) throw new Error("engine gone");
    return n;
  };
  const r = await measure(spec, 3, () => {});
  assert.deepEqual(calls, ["ours", "theirs", "ours", "theirs", "ours", "ours"]);
  assert.equal(r.theirs, null);
  assert.equal(r.ours, 3);
  assert.match(r.note ?? "", /peer failed: engine gone/);
});

test("a warm-up that fails counts as our side failing, and the peer is still measured", async () => {
  const { spec, calls } = loggingSpec({
    warmUp: async () => {
      throw new Error("no engines");
    },
  });
  const r = await measure(spec, 2, () => {});
  assert.deepEqual(calls, ["theirs", "theirs", "theirs"]);
  assert.equal(r.ours, null);
  assert.equal(r.theirs, 2.5);
  assert.match(r.note ?? "", /ours failed: no engines/);
});
