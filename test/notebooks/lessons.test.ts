import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { executeNotebooks } from "../../kernel/lab/notebook-runner.js";
import { packageRoot } from "../../kernel/lab/python-env.js";
import { venvMissing } from "../helpers/system-needs.js";

const skipReason = () => venvMissing(["nbclient", "nbformat"]);

const lessons = readdirSync(join(packageRoot, "notebooks"))
  .filter((f) => /^0[1-9].*\.ipynb$/.test(f))
  .sort();

test("there are four lesson notebooks, committed without outputs", () => {
  assert.equal(lessons.length, 4, lessons.join(", "));
  for (const f of lessons) {
    const nb = JSON.parse(readFileSync(join(packageRoot, "notebooks", f), "utf8")) as {
      cells: { cell_type: string; outputs?: unknown[] }[];
    };
    const stale = nb.cells.filter((c) => c.cell_type === "code" && (c.outputs?.length ?? 0) > 0);
    assert.equal(stale.length, 0, `${f} carries outputs`);
  }
});

for (const f of lessons) {
  test(`lesson ${f} runs without error at small scale, checking its own results`, async (t) => {
    const why = skipReason();
    if (why) {
      t.skip(why);
      return;
    }
    const out = mkdtempSync(join(tmpdir(), "tsparallel-lesson-"));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const [run] = await executeNotebooks([join(packageRoot, "notebooks", f)], out, {
      env: { TSPARALLEL_LESSON_SCALE: "small" },
    });
    assert.ok(run?.ok, run?.error ?? "no result");
  });
}
