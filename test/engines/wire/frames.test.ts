import assert from "node:assert/strict";
import { test } from "node:test";
import type { WireError } from "../../../engines/wire/protocol/errors.js";
import { decodeMessage, encodeMessage, makeHeader } from "../../../engines/wire/protocol/frames.js";
import { Signer } from "../../../engines/wire/protocol/signing.js";

const signer = new Signer("secret-key");
const jupyter = { signBuffersBelow: 0 };
const cluster = { signBuffersBelow: Number.POSITIVE_INFINITY };

function sample(buffers: Buffer[] = []) {
  return {
    identities: [Buffer.from("peer-1")],
    header: makeHeader("execute_request", "s1"),
    content: { code: "1 + 1" },
    buffers,
  };
}

test("a message survives encode and decode with its identities and buffers", () => {
  const frames = encodeMessage(sample([Buffer.from([1, 2, 3])]), signer, cluster);
  const msg = decodeMessage(
    frames.map((f) => Buffer.from(f)),
    signer,
    cluster,
  );
  assert.deepEqual(msg.identities, [Buffer.from("peer-1")]);
  assert.equal(msg.header.msg_type, "execute_request");
  assert.deepEqual(msg.content, { code: "1 + 1" });
  assert.deepEqual(msg.parent_header, {});
  assert.deepEqual(msg.buffers, [Buffer.from([1, 2, 3])]);
});

test("Jupyter framing leaves buffers out of the signature; cluster framing covers them", () => {
  const frames = encodeMessage(sample([Buffer.from("payload")]), signer, jupyter).map((f) => Buffer.from(f));
  frames[frames.length - 1] = Buffer.from("swapped");
  assert.equal(decodeMessage(frames, signer, jupyter).buffers[0]!.toString(), "swapped");

  const signed = encodeMessage(sample([Buffer.from("payload")]), signer, cluster).map((f) => Buffer.from(f));
  signed[signed.length - 1] = Buffer.from("swapped");
  assert.throws(
    () => decodeMessage(signed, signer, cluster),
    (e: WireError) => e.code === "BAD_SIGNATURE",
  );
});

test("a wrong key, a missing delimiter and broken JSON are refused with a code", () => {
  const frames = encodeMessage(sample(), signer, jupyter).map((f) => Buffer.from(f));
  assert.throws(() => decodeMessage(frames, new Signer("other"), jupyter), { code: "BAD_SIGNATURE" });
  assert.throws(() => decodeMessage(frames.slice(2), signer, jupyter), { code: "MISSING_DELIMITER" });
  assert.throws(() => decodeMessage(frames.slice(0, 5), signer, jupyter), { code: "TOO_FEW_FRAMES" });
  const bad = [...frames];
  bad[5] = Buffer.from("{not json");
  bad[2] = Buffer.from(signer.sign(bad.slice(3, 7)));
  assert.throws(() => decodeMessage(bad, signer, jupyter), { code: "MALFORMED_JSON" });
  bad[5] = Buffer.from([0x7b, 0xff, 0x7d]);
  bad[2] = Buffer.from(signer.sign(bad.slice(3, 7)));
  assert.throws(() => decodeMessage(bad, signer, jupyter), { code: "INVALID_UTF8" });
});

test("an empty key turns signing off, as Jupyter allows", () => {
  const open = new Signer("");
  const frames = encodeMessage(sample(), open, jupyter).map((f) => Buffer.from(f));
  assert.equal(frames[2]!.length, 0);
  assert.equal(decodeMessage(frames, open, jupyter).header.msg_type, "execute_request");
});
