import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../helpers/kernel-process.js";
import { venvMissing } from "../helpers/system-needs.js";

const PYTHON = join(REPO_ROOT, ".venv", "bin", "python");

/** Counts from unittest's summary ("Ran 12 tests", "OK (skipped=1)", "FAILED (failures=1, errors=2)"). */
function summary(text: string): {
  ran: number;
  failures: number;
  errors: number;
  skipped: number;
  ok: boolean;
} {
  const ran = Number(/^Ran (\d+) tests?/m.exec(text)?.[1] ?? Number.NaN);
  const count = (name: string) => Number(new RegExp(`${name}=(\\d+)`).exec(text)?.[1] ?? 0);
  return {
    ran,
    failures: count("failures"),
    errors: count("errors"),
    skipped: count("skipped"),
    ok: /^OK\b/m.test(text),
  };
}

test("jupyter_kernel_test passes with no failures, errors or skips", async (t) => {
  const why = venvMissing(["jupyter_kernel_test", "jupyter_client"]);
  if (why) return t.skip(why);
  const prefix = mkdtempSync(join(tmpdir(), "tsparallel-kt-"));
  t.after(() => rmSync(prefix, { recursive: true, force: true }));
  const install = spawnSync(
    process.execPath,
    [join(REPO_ROOT, "bin", "tsparallel.js"), "install", "--prefix", prefix],
    {
      encoding: "utf8",
    },
  );
  assert.equal(install.status, 0, install.stderr);

  const env = {
    ...process.env,
    JUPYTER_PATH: join(prefix, "share", "jupyter"),
    JUPYTER_RUNTIME_DIR: join(prefix, "runtime"),
    JUPYTER_PLATFORM_DIRS: "1",
    PYTHONPATH: join(REPO_ROOT, "test", "kernel_test"),
  };
  const child = spawn(PYTHON, ["-m", "unittest", "-v", "test_tsparallel_kernel"], { cwd: prefix, env });
  t.after(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
  const code = await new Promise<number | null>((res) => child.on("exit", res));
  const s = summary(output);
  assert.ok(s.ran > 0, `unittest did not run:\n${output}`);
  assert.deepEqual(
    { failures: s.failures, errors: s.errors, skipped: s.skipped },
    { failures: 0, errors: 0, skipped: 0 },
    output,
  );
  assert.ok(s.ok, output);
  assert.equal(code, 0, output);
});
