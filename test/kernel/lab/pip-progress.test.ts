/**
 * pip's progress while the first `npm start` installs JupyterLab: real pip from .venv, offline,
 * installing a small wheel made here.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { PipInstallError, pipInstall } from "../../../kernel/lab/pip-progress.js";
import { venvPython } from "../../../kernel/lab/python-env.js";
import { venvMissing } from "../../helpers/system-needs.js";

const dir = mkdtempSync(join(tmpdir(), "tsparallel-pip-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A minimal wheel of package `tiny` (what pip needs: the module, METADATA, WHEEL, RECORD). */
function tinyWheel(): string {
  const wheel = join(dir, "tiny-0.1-py3-none-any.whl");
  const script = `
import zipfile, sys
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("tiny/__init__.py", "VALUE = 1\\n")
    z.writestr("tiny-0.1.dist-info/METADATA", "Metadata-Version: 2.1\\nName: tiny\\nVersion: 0.1\\n")
    z.writestr("tiny-0.1.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
    z.writestr("tiny-0.1.dist-info/RECORD", "")
`;
  const r = spawnSync(venvPython, ["-c", script, wheel]);
  assert.equal(r.status, 0, String(r.stderr));
  return wheel;
}

function collect(isTTY: boolean): { write(t: string): void; isTTY: boolean; text: () => string } {
  let text = "";
  return {
    write: (t) => {
      text += t;
    },
    isTTY,
    text: () => text,
  };
}

test("pip's install shows what it is doing, line by line in a log and in place on a terminal", async (t) => {
  const missing = venvMissing(["pip"]);
  if (missing) return t.skip(missing);
  const wheel = tinyWheel();
  const log = collect(false);
  await pipInstall(venvPython, ["--no-index", "--target", join(dir, "log"), wheel], log);
  const lines = log.text().trimEnd().split("\n");
  assert.match(lines[0]!, /^tsparallel: pip: finding packages/);
  assert.ok(
    lines.some((l) => /installing 1 packages/.test(l)),
    log.text(),
  );
  assert.match(lines.at(-1)!, /^tsparallel: pip: installed 1 packages · \d+ s$/);

  const terminal = collect(true);
  await pipInstall(venvPython, ["--no-index", "--target", join(dir, "tty"), wheel], terminal);
  assert.ok(terminal.text().startsWith("\r\u001b[Ktsparallel: pip: "), JSON.stringify(terminal.text()));
  assert.ok(terminal.text().endsWith("\n") && !terminal.text().slice(0, -1).includes("\n"), "not one line");
});

test("a failed pip install says why, with the end of pip's output", async (t) => {
  const missing = venvMissing(["pip"]);
  if (missing) return t.skip(missing);
  await assert.rejects(
    pipInstall(
      venvPython,
      ["--no-index", "--target", join(dir, "none"), "no-such-package-tsp"],
      collect(false),
    ),
    (e: unknown) =>
      e instanceof PipInstallError &&
      /failed \(exit 1\)/.test(e.message) &&
      /no-such-package-tsp/.test(e.message),
  );
});
