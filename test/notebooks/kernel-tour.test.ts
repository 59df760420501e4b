import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { executeNotebooks } from "../../kernel/lab/notebook-runner.js";
import { packageRoot } from "../../kernel/lab/python-env.js";
import { venvMissing } from "../helpers/system-needs.js";

interface Output {
  output_type: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
}
interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
}
const joined = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join("") : (v ?? ""));

const skipReason = () => venvMissing(["nbclient", "nbformat"]);

test("the kernel tour notebook runs headless through nbclient and shows what it promises", async (t) => {
  const why = skipReason();
  if (why) {
    t.skip(why);
    return;
  }
  const out = mkdtempSync(join(tmpdir(), "tsparallel-tour-"));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const [run] = await executeNotebooks([join(packageRoot, "notebooks", "00-kernel-tour.ipynb")], out);
  assert.ok(run?.ok, run?.error ?? "no result");
  const nb = JSON.parse(readFileSync(run.output, "utf8")) as { cells: Cell[] };
  const code = nb.cells.filter((c) => c.cell_type === "code");
  const find = (needle: string) => code.find((c) => joined(c.source).includes(needle))!;
  const plain = (c: Cell) =>
    (c.outputs ?? []).map((o) => joined(o.data?.["text/plain"]) + joined(o.text)).join("\n");

  assert.equal(plain(find("interface Point")), "5");
  assert.equal(plain(find('const origin = "the centre"')), "'THE CENTRE'");
  const typeError = find("const half: string")
    .outputs!.filter((o) => o.output_type === "error")
    .map((o) => o.ename);
  assert.deepEqual(typeError, ["CompileError"]);
  const rich = find("class Temperature").outputs!;
  assert.deepEqual(
    rich.map((o) => Object.keys(o.data ?? {}).sort()),
    [
      ["text/markdown", "text/plain"],
      ["text/html", "text/plain"],
      ["text/html", "text/plain"],
    ],
  );
  // The handle's updates replaced its one output in place.
  assert.equal(plain(find("display.newHandle")), "'step 4 of 4'");
  assert.match(
    plain(find("%timeit -n 1000")),
    /^[\d.]+ [nµm]?s ± [\d.]+ [nµm]?s per loop \(mean ± std\. dev\. of 3 runs, 1000 loops each\)/,
  );
  assert.match(plain(find("%%time")), /CPU times: user .*\nWall time: /);
  assert.match(plain(find("nd.allclose")), /array\(\[\[ 9, 12, 15\]/);
});
