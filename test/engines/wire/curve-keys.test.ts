import assert from "node:assert/strict";
import { test } from "node:test";
import { curveKeyPair } from "zeromq";
import { Signer } from "../../../engines/wire/protocol/signing.js";
import {
  clusterCurveKeys,
  curvePublicKey,
  z85Decode,
  z85Encode,
} from "../../../engines/wire/transport/curve-keys.js";

test("Z85 encodes and decodes the example of its specification", () => {
  const bytes = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
  assert.equal(z85Encode(bytes), "HelloWorld");
  assert.deepEqual(z85Decode("HelloWorld"), bytes);
  assert.throws(() => z85Encode(Buffer.alloc(3)), RangeError);
  assert.throws(() => z85Decode("Hello~orld"), /not a Z85 character/);
});

test("a public key derived here is the one libzmq derives from the same secret key", () => {
  for (let i = 0; i < 5; i++) {
    const pair = curveKeyPair();
    assert.equal(z85Encode(curvePublicKey(z85Decode(pair.secretKey))), pair.publicKey);
  }
});

test("a cluster's keys follow from its key alone, differ between clusters, and need a key", () => {
  const a = clusterCurveKeys(new Signer("cluster-a"));
  assert.deepEqual(clusterCurveKeys(new Signer("cluster-a")), a);
  const b = clusterCurveKeys(new Signer("cluster-b"));
  assert.notEqual(a.controller.secretKey, b.controller.secretKey);
  assert.notEqual(a.member.publicKey, b.member.publicKey);
  assert.notEqual(a.controller.publicKey, a.member.publicKey);
  assert.deepEqual(z85Decode(a.member.publicKey), a.memberPublic);
  for (const k of [a.controller.publicKey, a.controller.secretKey, a.member.secretKey])
    assert.equal(k.length, 40);
  assert.throws(() => clusterCurveKeys(new Signer("")), /needs a key/);
});
