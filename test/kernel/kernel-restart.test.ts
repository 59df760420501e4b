import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { REPO_ROOT } from "../helpers/kernel-process.js";
import { venvMissing } from "../helpers/system-needs.js";

const PYTHON = join(REPO_ROOT, ".venv", "bin", "python");

test("under jupyter_client the real kernel is interrupted by message, restarts, and runs a cell afterwards", async (t) => {
  const why = venvMissing(["jupyter_client"]);
  if (why) return t.skip(why);
  const prefix = mkdtempSync(join(tmpdir(), "tsparallel-restart-"));
  t.after(() => rmSync(prefix, { recursive: true, force: true }));
  const install = spawnSync(process.execPath, [
    join(REPO_ROOT, "bin", "tsparallel.js"),
    "install",
    "--prefix",
    prefix,
  ]);
  assert.equal(install.status, 0, String(install.stderr));
  const env = {
    ...process.env,
    JUPYTER_PATH: join(prefix, "share", "jupyter"),
    JUPYTER_RUNTIME_DIR: join(prefix, "rt"),
  };
  // Sources live next to the compiled test: dist/test/kernel → test/kernel.
  const script = join(REPO_ROOT, "test", "kernel", "jupyter-client-restart.py");
  const child = spawn(PYTHON, [script], { cwd: prefix, env });
  t.after(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const code = await new Promise<number | null>((res) => child.on("exit", res));
  assert.equal(code, 0, stderr);
  const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
  assert.ok(line, `no RESULT line in:\n${stdout}\n${stderr}`);
  const seen = JSON.parse(line.slice("RESULT ".length));
  assert.deepEqual(seen, {
    before: "ok",
    interrupted: "error",
    after_interrupt: "ok",
    new_process: true,
    after_restart: "ok",
    state_cleared: true,
    exit_code: 0,
  });
});
