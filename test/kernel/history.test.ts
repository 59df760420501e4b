import assert from "node:assert/strict";
import { test } from "node:test";
import { globToRegExp, History } from "../../kernel/history.js";

function filled(): History {
  const h = new History(3);
  h.add(1, "const a = 1");
  h.add(2, "a + 1", "2");
  h.add(3, "const b = 2");
  h.add(4, "a + 1", "2");
  return h;
}

test("tail returns the last n inputs as [session, line, input]", () => {
  assert.deepEqual(filled().query({ hist_access_type: "tail", n: 2 }), [
    [3, 3, "const b = 2"],
    [3, 4, "a + 1"],
  ]);
});

test("range selects [start, stop) of this session, with output when asked", () => {
  assert.deepEqual(
    filled().query({ hist_access_type: "range", session: 3, start: 2, stop: 3, output: true }),
    [[3, 2, ["a + 1", "2"]]],
  );
  assert.deepEqual(filled().query({ hist_access_type: "range", session: 0, start: 4 }), [[3, 4, "a + 1"]]);
  assert.deepEqual(filled().query({ hist_access_type: "range", session: 9, start: 1 }), []);
});

test("search matches whole inputs by glob, with unique and n", () => {
  const h = filled();
  assert.equal(h.query({ hist_access_type: "search", pattern: "a + ?" }).length, 2);
  assert.deepEqual(h.query({ hist_access_type: "search", pattern: "a*", unique: true }), [[3, 4, "a + 1"]]);
  assert.deepEqual(h.query({ hist_access_type: "search", pattern: "const*", n: 1 }), [[3, 3, "const b = 2"]]);
});

test("glob special characters other than * and ? match literally", () => {
  assert.ok(globToRegExp("f(x) + [1]").test("f(x) + [1]"));
  assert.ok(!globToRegExp("a.b").test("axb"));
});
