import assert from "node:assert/strict";
import { test } from "node:test";
import { DISPLAY_SYMBOL, formatMimeBundle, plainText } from "../../../engines/wire/values/mime-bundle.js";

test("plain values get util.inspect text/plain reprs", () => {
  assert.deepEqual(formatMimeBundle(42), { "text/plain": "42" });
  assert.deepEqual(formatMimeBundle("hi"), { "text/plain": "'hi'" });
  assert.equal(formatMimeBundle(new Map([["a", 1]]))["text/plain"], "Map(1) { 'a' => 1 }");
  assert.equal(formatMimeBundle(new Set([1, 2]))["text/plain"], "Set(2) { 1, 2 }");
  assert.equal(formatMimeBundle(new Float64Array([1, 2]))["text/plain"], "Float64Array(2) [ 1, 2 ]");
  assert.equal(formatMimeBundle(new Date(0))["text/plain"], "1970-01-01T00:00:00.000Z");
  assert.match(String(formatMimeBundle(new TypeError("bad"))["text/plain"]), /^TypeError: bad/);
});

test("long arrays and deep nesting are truncated", () => {
  const text = plainText(Array.from({ length: 1000 }, (_, i) => i));
  assert.match(text, /\.\.\. 900 more items/);
  assert.match(plainText({ a: { b: { c: { d: { e: { f: 1 } } } } } }), /\[Object\]/);
});

test("an array of plain records also gets an HTML table, escaped", () => {
  const b = formatMimeBundle([
    { name: "<a>", n: 1 },
    { name: "b", n: 2 },
  ]);
  assert.match(String(b["text/html"]), /^<table>/);
  assert.match(String(b["text/html"]), /&lt;a&gt;/);
  assert.equal(formatMimeBundle([1, 2])["text/html"], undefined);
});

test("the Jupyter.display symbol lets an object choose its bundle, with text/plain added", () => {
  const v = { [DISPLAY_SYMBOL]: () => ({ "text/html": "<b>x</b>" }) };
  const b = formatMimeBundle(v);
  assert.equal(b["text/html"], "<b>x</b>");
  assert.equal(typeof b["text/plain"], "string");
  assert.equal(DISPLAY_SYMBOL, Symbol.for("Jupyter.display"));
});

test("a throwing rich repr falls back to text/plain that names the failure", () => {
  const v = {
    [DISPLAY_SYMBOL]: () => {
      throw new Error("nope");
    },
  };
  assert.match(String(formatMimeBundle(v)["text/plain"]), /Jupyter\.display failed: Error: nope/);
});
