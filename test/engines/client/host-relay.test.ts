/**
 * A large value for several engines of one host goes there once: one engine (the relay) places it
 * in its store and the others map it. A client without a store of its own sees its own host's
 * engines this way, so the path is tested here on one host; the three-host test
 * (test/engines/launchers/ssh-hosts.test.ts) runs it across network namespaces.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Client, TaskAborted } from "../../../engines/index.js";
import { nativeBackendMissing } from "../../helpers/system-needs.js";
import { startTestCluster, stopTestClusters } from "../cluster-fixture.js";

const MiB = 1 << 20;
/** The store needs the native addon; without it the relay path is never taken. */
const noAddon = (() => {
  const why = nativeBackendMissing();
  return why && /addon is not built/.test(why) ? why : undefined;
})();

let owner: Client;
let rc: Client;
before(async () => {
  if (noAddon) return;
  // Engines' stores hold two 8 MiB values, the last one and the next: a block a holder never let
  // go of makes a later one fail.
  const saved = process.env.TSPARALLEL_STORE_BYTES;
  process.env.TSPARALLEL_STORE_BYTES = "20M";
  try {
    owner = (await startTestCluster({ n: 3 })).client!;
  } finally {
    if (saved === undefined) delete process.env.TSPARALLEL_STORE_BYTES;
    else process.env.TSPARALLEL_STORE_BYTES = saved;
  }
  rc = await Client.connect(owner.info, { store: false });
});
after(async () => {
  await rc?.close();
  await stopTestClusters();
});

const value = (k: number) => Float64Array.from({ length: MiB }, (_, i) => i + k);
const lastOf = (c: Client) =>
  c.view().apply(() => {
    const a = (globalThis as unknown as { pushed: Float64Array }).pushed;
    return a[a.length - 1]!;
  }) as unknown as Promise<number[]>;
const sentPerEngine = (c: Client) =>
  c.ids.map((id) => c.transferStats().lanes.find((l) => l.engine === id)?.sent ?? 0);

test("a client without a store pushes a large value to its host's engines once, and each has it", {
  skip: noAddon,
}, async () => {
  const before = sentPerEngine(rc);
  await rc.view().push({ pushed: value(1) });
  const sent = sentPerEngine(rc).map((b, i) => b - before[i]!);
  assert.equal(sent.filter((b) => b >= 8 * MiB).length, 1, `one copy (bytes per lane: ${sent})`);
  assert.equal(
    sent.filter((b) => b < 64 << 10).length,
    2,
    `and two small messages (bytes per lane: ${sent})`,
  );
  assert.deepEqual(await lastOf(rc), [MiB, MiB, MiB]);
  assert.deepEqual(rc.transferStats().relays, { values: 1, engines: 3, failed: 0 });
  // A small value is not worth it: a copy each.
  await rc.view().push({ pushed: new Float64Array(1000).fill(7) });
  assert.equal(rc.transferStats().relays.values, 1);
});

test("an engine that drops its part unread (an abort) releases the relay's block; the next values fit", {
  skip: noAddon,
}, async () => {
  const [, , busy] = rc.ids as [number, number, number];
  await rc.view().execute("delete globalThis.pushed");
  await new Promise((r) => setTimeout(r, 400));
  // Busy awaiting: it reads its lane meanwhile, so its part waits in its queue.
  const spin = rc.view([busy]).apply(() => new Promise((r) => setTimeout(r, 1500)));
  const ar = rc.view().push({ pushed: value(2) });
  // The other two finish while the busy one still spins: abort its part, which waits in its queue.
  while (ar.progress < 2) await new Promise((r) => setTimeout(r, 20));
  await ar.abort();
  await spin;
  await assert.rejects(ar.get(), (e: Error) => e instanceof TaskAborted || /aborted/i.test(e.message));
  assert.deepEqual(
    ar.metadata.map((m) => m.status),
    ["ok", "ok", "aborted"],
  );
  // Each store holds two values: these fit only if every hold on the one before the last ended
  // (the aborted engine's at once, the others' when their collection lets the old value go).
  for (let k = 3; k < 6; k++) {
    await new Promise((r) => setTimeout(r, 400));
    await rc.view().push({ pushed: value(k) });
    assert.deepEqual(await lastOf(rc), [MiB - 1 + k, MiB - 1 + k, MiB - 1 + k]);
  }
  assert.equal(rc.transferStats().relays.failed, 0, "no placement ran out of room");
});
