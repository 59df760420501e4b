import assert from "node:assert/strict";
import { test } from "node:test";
import { codePointsToUtf16, utf16ToCodePoints } from "../../../kernel/protocol/cursor-offsets.js";

test("offsets are equal for text without astral characters", () => {
  assert.equal(codePointsToUtf16("hello", 3), 3);
  assert.equal(utf16ToCodePoints("hello", 3), 3);
});

test("astral characters count as one code point and two UTF-16 units, both ways", () => {
  const text = "a😀b😀c";
  for (let cp = 0; cp <= [...text].length; cp++) {
    assert.equal(utf16ToCodePoints(text, codePointsToUtf16(text, cp)), cp);
  }
  assert.equal(codePointsToUtf16(text, 2), 3);
  assert.equal(codePointsToUtf16(text, 4), 6);
  assert.equal(utf16ToCodePoints(text, 6), 4);
});

test("positions past the end are clamped", () => {
  assert.equal(codePointsToUtf16("ab", 10), 2);
  assert.equal(utf16ToCodePoints("ab", 10), 2);
});
