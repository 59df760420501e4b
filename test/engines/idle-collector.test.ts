import assert from "node:assert/strict";
import { test } from "node:test";
import { IdleCollector } from "../../engines/idle-collector.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("the idle collector runs once after a burst has gone quiet, and not for a trickle or while busy", async () => {
  let runs = 0;
  const c = new IdleCollector({ minMessages: 100, quietMs: 200, collect: () => runs++ });
  try {
    for (let i = 0; i < 50; i++) c.saw(); // a trickle: not worth a collection
    await sleep(500);
    assert.equal(runs, 0);
    // A burst that keeps going: no collection while messages still come.
    for (let k = 0; k < 6; k++) {
      for (let i = 0; i < 100; i++) c.saw();
      await sleep(60);
    }
    assert.equal(runs, 0, "not while busy");
    await sleep(500);
    assert.equal(runs, 1, "once it went quiet");
    await sleep(500);
    assert.equal(runs, 1, "and only once");
  } finally {
    c.stop();
  }
});

test("with rssGrowth, a quiet process whose memory grew is collected however few messages came, once", async () => {
  let runs = 0;
  let rss = 100;
  const c = new IdleCollector({
    minMessages: 1000,
    quietMs: 200,
    rssGrowth: 1.25,
    rss: () => rss,
    collect: () => {
      runs++;
      rss = 110; // what the collection gave back: the new baseline
    },
  });
  try {
    rss = 120; // grown, but less than 1.25×
    await sleep(500);
    assert.equal(runs, 0);
    rss = 160; // past 1.25× with no messages at all (refused connections)
    await sleep(500);
    assert.equal(runs, 1, "collected once quiet");
    await sleep(500);
    assert.equal(runs, 1, "not again: 110 is the new baseline");
    rss = 130;
    await sleep(500);
    assert.equal(runs, 1, "130 < 1.25 × 110");
  } finally {
    c.stop();
  }
});

test("after a collection, follow-ups run at each quiet check until one says it is done", async () => {
  let runs = 0;
  let followUps = 0;
  const c = new IdleCollector({
    minMessages: 10,
    quietMs: 200,
    collect: () => runs++,
    followUp: () => ++followUps === 3,
    followUps: 10,
  });
  try {
    for (let i = 0; i < 20; i++) c.saw();
    await sleep(1500);
    assert.equal(runs, 1);
    assert.equal(followUps, 3, "stopped at the first follow-up that said done");
    for (let i = 0; i < 20; i++) c.saw();
    await sleep(80);
    c.saw(); // messages again: no follow-up while they come
    assert.equal(followUps, 3);
  } finally {
    c.stop();
  }
});

test("by default, a burst's young generation is given back once the process has been quiet", async () => {
  const { youngGenerationBytes } = await import("../../engines/store/collect-garbage.js");
  const c = new IdleCollector({ minMessages: 1, quietMs: 300 });
  try {
    let keep: object[] = [];
    for (let i = 0; i < 2_000_000; i++) {
      keep.push({ i, s: `x${i}` });
      if (keep.length > 50_000) keep = [];
      if (i % 1000 === 0) c.saw();
    }
    keep = [];
    const grown = youngGenerationBytes();
    assert.ok(grown > 8 * 2 ** 20, `the burst grew the young generation (${grown} bytes)`);
    const deadline = Date.now() + 12_000;
    while (youngGenerationBytes() > 4 * 2 ** 20 && Date.now() < deadline) await sleep(200);
    assert.ok(
      youngGenerationBytes() <= 4 * 2 ** 20,
      `young generation still ${youngGenerationBytes()} bytes`,
    );
  } finally {
    c.stop();
  }
});
