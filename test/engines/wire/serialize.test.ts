import assert from "node:assert/strict";
import { test } from "node:test";
import { tableFromArrays } from "apache-arrow";
import {
  DEFAULT_OOB_THRESHOLD,
  decodeValue,
  encodeValue,
  SerializationError,
} from "../../../engines/wire/values/serialize.js";

/** What a receiver sees: each frame in its own fresh memory, like a zeromq receive. */
const received = (frames: Buffer[]) => frames.map((f) => Buffer.from(f));

test("ordinary values round-trip through one structured-clone frame", async () => {
  const value = {
    a: 1,
    s: "x",
    big: 10n,
    d: new Date(5),
    m: new Map([[1, "one"]]),
    nested: [1, [2, { u: undefined }]],
    small: new Float64Array([1, 2]),
  };
  const frames = await encodeValue(value);
  assert.equal(frames.length, 1);
  assert.deepEqual(await decodeValue(received(frames)), value);
});

test("a large typed array nested in an object travels as its own Arrow frame and decodes as a view of it", async () => {
  const big = new Float64Array(DEFAULT_OOB_THRESHOLD / 8 + 10).map((_, i) => i * 0.5);
  const frames = await encodeValue({ meta: { name: "x" }, data: [big, 3] });
  assert.equal(frames.length, 2);
  assert.ok(frames[0]!.length < 200, "the structure frame stays small");
  const got = received(frames);
  const out = (await decodeValue(got)) as { meta: { name: string }; data: [Float64Array, number] };
  assert.deepEqual(out.meta, { name: "x" });
  assert.equal(out.data[1], 3);
  assert.ok(out.data[0] instanceof Float64Array);
  assert.equal(out.data[0].buffer, got[1]!.buffer, "decoded without a copy");
  assert.deepEqual(out.data[0], big);
});

test("encoding copies, so changing the array after encoding does not change what is sent", async () => {
  const big = new Int32Array(100_000).fill(7);
  const frames = await encodeValue(big);
  big.fill(9);
  const out = (await decodeValue(received(frames))) as Int32Array;
  assert.equal(out[0], 7);
  assert.equal(out[99_999], 7);
});

test("Buffers, clamped arrays, BigInt64Arrays and subarray views keep their class and contents", async () => {
  const base = new Float32Array(50_000).map((_, i) => i);
  const values = [
    Buffer.alloc(70_000, 3),
    new Uint8ClampedArray(70_000).fill(200),
    new BigInt64Array(10_000).fill(-5n),
    base.subarray(17, 40_017),
  ];
  const out = (await decodeValue(received(await encodeValue(values)))) as unknown[];
  assert.ok(Buffer.isBuffer(out[0]));
  assert.ok(out[1] instanceof Uint8ClampedArray);
  assert.ok(out[2] instanceof BigInt64Array);
  assert.deepEqual(out[3], base.subarray(17, 40_017));
  assert.deepEqual(out, values);
  // Lengths that are not a whole number of 8-byte words (the Arrow body is padded to one).
  const odd = [
    new Uint8Array(70_001).fill(1),
    new Int16Array(32_769).fill(-2),
    new Float32Array(16_385).fill(0.5),
    Buffer.alloc(100_003, 9),
  ];
  const back = (await decodeValue(received(await encodeValue(odd)))) as unknown[];
  assert.deepEqual(
    back.map((v) => (v as ArrayLike<number>).length),
    [70_001, 32_769, 16_385, 100_003],
  );
  assert.deepEqual(back, odd);
});

test("the value is taken when encodeValue is called, before its promise settles", async () => {
  const big = new Float64Array(50_000).fill(7);
  const pending = encodeValue({ big, small: [1, 2, 3] });
  big.fill(9);
  const out = (await decodeValue(received(await pending))) as { big: Float64Array };
  assert.equal(out.big[0], 7);
  assert.equal(out.big[49_999], 7);
});

test("Arrow tables travel as IPC frames", async () => {
  const t = tableFromArrays({ a: new Float64Array([1, 2, 3]), b: new Int32Array([4, 5, 6]) });
  const out = (await decodeValue(received(await encodeValue({ t })))) as { t: typeof t };
  assert.equal(out.t.numRows, 3);
  assert.deepEqual([...out.t.getChild("b")!], [4, 5, 6]);
});

test("a value that cannot be serialised names the offending field", async () => {
  await assert.rejects(
    encodeValue({ ok: 1, cfg: { handlers: [1, () => 2] } }, { name: "args" }),
    (e: unknown) => {
      assert.ok(e instanceof SerializationError);
      assert.equal(e.code, "UNSERIALIZABLE");
      assert.equal(e.path, "args.cfg.handlers[1]");
      assert.match(e.message, /function/);
      return true;
    },
  );
  await assert.rejects(encodeValue([Symbol("s")], { name: "args" }), /args\[0\]/);
});

test("cyclic structures survive", async () => {
  const a: Record<string, unknown> = { n: 1 };
  a.self = a;
  const out = (await decodeValue(received(await encodeValue(a)))) as Record<string, unknown>;
  assert.equal(out.self, out);
});

test("small plain values travel as JSON and everything JSON would get wrong as structured clone", async () => {
  const json = [0, 42, -1.5, "text", "", null, true, [], [1, "a", null, false], "é😀"];
  for (const v of json) {
    const frames = await encodeValue(v);
    assert.equal(frames.length, 1);
    assert.notEqual(frames[0]![0], 0xff, `${JSON.stringify(v)} went as JSON`);
    assert.deepEqual(await decodeValue(frames), v);
  }
  const sparse = [1, 2, 3];
  delete sparse[1]; // a hole, which JSON would turn into null
  const clone = [
    -0,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    "x".repeat(1000),
    sparse,
    [undefined],
    new Date(0),
    { a: 1 },
    10n,
  ];
  for (const v of clone) {
    const frames = await encodeValue(v);
    assert.equal(frames[0]![0], 0xff, `${String(v)} went as structured clone`);
    const back = await decodeValue(frames);
    if (typeof v === "number" && Number.isNaN(v)) assert.ok(Number.isNaN(back));
    else assert.deepEqual(back, v);
  }
  assert.ok(Object.is(await decodeValue(await encodeValue(-0)), -0));
});

test("strided NDArray views are packed straight into the outgoing frame and arrive in C order", async () => {
  const nd = await import("../../../ndarray/index.js");
  const { SendArena } = await import("../../../engines/wire/transport/send-arena.js");
  const arena = new SendArena();
  for (const dtype of ["float64", "float32", "int32", "uint8", "bool"] as const) {
    const base = nd
      .arange(200 * 300)
      .reshape([200, 300])
      .astype(dtype);
    const before = base.copy();
    const views = {
      columns: base.slice(":", "100:164"), // a column panel: rows of 64 with stride 300
      reversed: base.slice("::-1", "::3"),
      transposed: base.slice("10:50", "20:40").T,
      broadcast: nd.arange(300).astype(dtype).reshape([1, 300]).broadcastTo([200, 300]), // repeats
    };
    for (const [label, view] of Object.entries(views)) {
      for (const into of [{ arena, leases: [] }, {}]) {
        const frames = await encodeValue({ view }, into);
        const out = (await decodeValue(received(frames))) as { view: typeof view };
        assert.deepEqual(out.view.shape, view.shape, `${dtype} ${label}`);
        assert.deepEqual(out.view.toArray(), view.toArray(), `${dtype} ${label}`);
        assert.ok(out.view.flags.c_contiguous, `${dtype} ${label} arrives packed`);
      }
    }
    assert.deepEqual(base.toArray(), before.toArray(), `${dtype}: the source is never written`);
  }
});

test("split streams: each large array's column is a frame of its own, and the value decodes the same", async () => {
  const a = new Float64Array(20_000).map((_, i) => i / 3);
  const odd = new Float32Array(16_385).map((_, i) => i);
  const table = tableFromArrays({ n: Int32Array.from({ length: 20_000 }, (_, i) => i) });
  const value = { a, inner: [odd], table, note: "x" };
  const frames = await encodeValue(value, { split: true });
  assert.equal(frames.length, 1 + 3 + 3 + 1, "typed arrays in three frames, the table in one");
  assert.equal(frames[2]!.byteLength, a.byteLength, "the middle frame is exactly the column");
  assert.deepEqual(new Float64Array(frames[2]!.buffer, frames[2]!.byteOffset, a.length), a);
  const back = (await decodeValue(frames)) as typeof value;
  assert.deepEqual(back.a, a);
  assert.equal(back.inner[0]!.length, odd.length);
  assert.deepEqual(back.inner[0], odd);
  assert.equal(back.table.numRows, 20_000);
  assert.equal(back.note, "x");
  const col = frames[2]!;
  assert.equal(back.a.buffer, col.buffer, "decoded as a view of its column frame");
});
