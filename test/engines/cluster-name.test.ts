import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultClusterName } from "../../engines/cluster-name.js";

const none = () => false;

test("a cluster started from a notebook is named after the notebook, numbered from 1 past names taken", () => {
  const env = { JPY_SESSION_NAME: "notebooks/01-direct-views.ipynb" };
  assert.equal(defaultClusterName(none, env), "nb-01-direct-views-1");
  const taken = new Set(["nb-01-direct-views-1", "nb-01-direct-views-2"]);
  assert.equal(
    defaultClusterName((n) => taken.has(n), env),
    "nb-01-direct-views-3",
  );
});

test("a notebook's name becomes a valid, short cluster name", () => {
  const name = (path: string) => defaultClusterName(none, { JPY_SESSION_NAME: path });
  assert.equal(name("My Analysis (final).ipynb"), "nb-My-Analysis-final-1");
  assert.equal(name("a/very/deep/notebook-with-a-rather-long-descriptive-title.ipynb").length <= 29, true);
  assert.match(name("élan.ipynb"), /^nb-[\w.-]+-1$/);
  // Nothing usable left: a readable random name instead.
  assert.match(name("???.ipynb"), /^[a-z]+-[a-z]+$/);
});

test("outside a notebook a cluster gets an adjective and an animal, with a number when that is taken", () => {
  const first = () => 0;
  assert.equal(defaultClusterName(none, {}, first), "amber-badger");
  assert.equal(
    defaultClusterName((n) => n === "amber-badger", {}, first),
    "amber-badger-2",
  );
  for (let i = 0; i < 50; i++) assert.match(defaultClusterName(none, {}), /^[a-z]+-[a-z]+$/);
});
