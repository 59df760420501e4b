import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultStoreLimit, ObjectStore } from "../../../engines/store/object-store.js";
import { StoreMapper } from "../../../engines/store/store-mapper.js";
import { isStoreRef } from "../../../engines/store/store-ref.js";
import { loadNativeAddon } from "../../../ndarray/node/native-addon.js";
import { nativeBackendMissing } from "../../helpers/system-needs.js";

const MiB = 1 << 20;
let addon: ReturnType<typeof loadNativeAddon> | undefined;
try {
  addon = loadNativeAddon();
} catch {
  addon = undefined;
}
const noAddon = addon ? undefined : (nativeBackendMissing() ?? "the native addon is not built");

test("TSPARALLEL_STORE_BYTES sets the limit; a value that is not a size says so", () => {
  assert.equal(defaultStoreLimit({ TSPARALLEL_STORE_BYTES: "512M" }), 512 * MiB);
  assert.equal(defaultStoreLimit({ TSPARALLEL_STORE_BYTES: "2GiB" }), 2 * 1024 * MiB);
  assert.equal(defaultStoreLimit({ TSPARALLEL_STORE_BYTES: "4096" }), 4096);
  assert.throws(() => defaultStoreLimit({ TSPARALLEL_STORE_BYTES: "lots" }), { code: "STORE_UNAVAILABLE" });
  assert.ok(defaultStoreLimit({}) > 0);
});

test("blocks are freed when their last holder lets go, and freed memory is reused", { skip: noAddon }, () => {
  const store = new ObjectStore(addon!, "owner-session", { limit: 64 * MiB, segmentBytes: 16 * MiB });
  try {
    const a = store.allocate(3 * MiB)!;
    const b = store.allocate(3 * MiB)!;
    assert.notEqual(a.offset, b.offset);
    store.retain(a, 0);
    store.retain(a, 1);
    store.retain(b, "lb");
    store.release(a.id, 0);
    assert.equal(store.blocks, 2, "engine 1 still holds a");
    store.release(a.id, 0);
    assert.equal(store.blocks, 2, "a hold engine 0 no longer has is not another's");
    store.holderGone(1);
    assert.equal(store.blocks, 1, "a is freed with its last holder");
    // An engine with no hold of its own ends a load-balanced one (its task ran there).
    store.releaseFromEngine(b.id, 7);
    assert.equal(store.blocks, 0);
    const c = store.allocate(5 * MiB)!;
    assert.equal(c.offset, a.offset, "the first free range is used again");
    assert.equal(store.bytes, 16 * MiB, "no new segment for memory the store has");
  } finally {
    store.close();
  }
});

test("the store stays within its limit, and says how full it is", { skip: noAddon }, () => {
  const store = new ObjectStore(addon!, "owner-session", { limit: 20 * MiB, segmentBytes: 8 * MiB });
  try {
    const big = store.allocate(15 * MiB);
    assert.ok(big, "a block larger than a segment gets a segment of its own size");
    assert.equal(store.allocate(10 * MiB), undefined, "no room left under the limit");
    assert.match(store.fullMessage(10 * MiB), /cannot hold 0\.01 GiB more.*TSPARALLEL_STORE_BYTES/);
  } finally {
    store.close();
  }
});

test("a receiver maps a block copy-on-write, or shared, after checking the segment's token", {
  skip: noAddon,
}, () => {
  const released: [string, number[]][] = [];
  const store = new ObjectStore(addon!, "owner-session", { limit: 64 * MiB });
  const mapper = new StoreMapper(addon!, (owner, blocks) => released.push([owner, blocks]));
  try {
    const block = store.allocate(2 * MiB)!;
    const bytes = store.bytesOf(block);
    bytes[0] = 42;
    const ref = store.ref(block);
    assert.ok(isStoreRef(ref));
    const own = new Uint8Array(mapper.map(ref));
    assert.equal(own[0], 42);
    own[0] = 7;
    assert.equal(bytes[0], 42, "a copy-on-write mapping's writes stay its own");
    const shared = new Uint8Array(mapper.map(store.ref(block, true)));
    shared[1] = 9;
    assert.equal(bytes[1], 9, "a shared mapping's writes reach the block");
    assert.throws(() => mapper.map({ ...ref, token: "0".repeat(32) }), { code: "STORE_UNREACHABLE" });
    assert.throws(() => mapper.map({ ...ref, pid: 2 ** 30 }), { code: "STORE_UNREACHABLE" });
    const memory = mapper.map(ref);
    mapper.unmapNow(memory);
    assert.equal(memory.byteLength, 0, "unmapped now: views see nothing, not freed memory");
    mapper.flush();
    assert.deepEqual(released, [["owner-session", [block.id]]]);
    assert.equal(isStoreRef({ ...ref, offset: 0 }), false, "a ref into the segment's header is refused");
  } finally {
    mapper.close();
    store.close();
  }
});
