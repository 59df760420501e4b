import assert from "node:assert/strict";
import { test } from "node:test";
import { type FanOutFacts, planFanOut } from "../../../engines/client/fan-out.js";

/** Engines 0–1 share the client's memory; 2–4 are on host A, 5–6 on host B, 7 alone on C; 8 has no store. */
const facts = (load: Record<number, number> = {}): FanOutFacts => ({
  sharesMemory: (id) => id <= 1,
  relayHost: (id) => (id <= 1 || id === 8 ? undefined : id <= 4 ? "A" : id <= 6 ? "B" : "C"),
  load: (id) => load[id] ?? 0,
});

test("a value for many engines: this host's share the store, each other host of two or more gets it once, the rest a copy", () => {
  assert.deepEqual(planFanOut([0, 1, 2, 3, 4, 5, 6, 7, 8], facts(), true), {
    local: [0, 1],
    hosts: [
      { relay: 2, targets: [2, 3, 4] },
      { relay: 5, targets: [5, 6] },
    ],
    copies: [8, 7],
  });
});

test("the least busy engine of a host relays; a small value, or relays off, gives every other engine a copy", () => {
  assert.deepEqual(planFanOut([2, 3, 4], facts({ 2: 3, 3: 1, 4: 1 }), true).hosts, [
    { relay: 3, targets: [2, 3, 4] },
  ]);
  assert.deepEqual(planFanOut([0, 2, 3, 5], facts(), false), { local: [0], hosts: [], copies: [2, 3, 5] });
});
