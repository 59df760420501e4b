import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { processAlive } from "../../engines/launchers/process-alive.js";
import { packageRoot } from "../../kernel/lab/python-env.js";
import { freePort } from "../helpers/kernel-process.js";
import { processesMentioning } from "../helpers/processes.js";
import { venvMissing } from "../helpers/system-needs.js";

test("npm start (tsparallel lab) serves JupyterLab with the kernel and a default cluster; SIGINT without a terminal stops them and its kernels", async (t) => {
  const why = venvMissing(["jupyterlab"]);
  if (why) return t.skip(why);
  const dir = mkdtempSync(join(tmpdir(), "tsparallel-lab-"));
  const port = await freePort();
  const token = "tsparallel-test-token";
  const env = {
    ...process.env,
    TSPARALLEL_DIR: dir,
    JUPYTER_RUNTIME_DIR: join(dir, "runtime"),
    JUPYTER_CONFIG_DIR: join(dir, "config"),
  };
  const lab = spawn(
    process.execPath,
    [
      join(packageRoot, "bin", "tsparallel.js"),
      "lab",
      "-n",
      "1",
      "--",
      "--no-browser",
      `--port=${port}`,
      "--ip=127.0.0.1",
      `--IdentityProvider.token=${token}`,
    ],
    // JupyterLab inherits these pipes: it must be gone too for the test to end.
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  lab.stdout!.on("data", (d: Buffer) => (log += d));
  lab.stderr!.on("data", (d: Buffer) => (log += d));
  const exited = new Promise<number | null>((resolve) => lab.on("exit", (c) => resolve(c)));
  t.after(async () => {
    if (lab.exitCode === null) lab.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  let specs: { kernelspecs: Record<string, { spec: { display_name: string } }> } | undefined;
  for (let i = 0; i < 120 && !specs; i++) {
    await new Promise((res) => setTimeout(res, 500));
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/kernelspecs?token=${token}`);
      if (res.ok) specs = (await res.json()) as typeof specs;
    } catch {
      // not up yet
    }
  }
  assert.ok(specs, `JupyterLab did not answer:\n${log}`);
  assert.equal(specs!.kernelspecs.tsparallel?.spec.display_name, "TypeScript (parallel)");
  const clusterFile = join(dir, "clusters", "default.json");
  assert.ok(existsSync(clusterFile), `no default cluster:\n${log}`);
  assert.match(log, /started the "default" cluster with 1 engines/);
  // Two notebooks' kernels, as the lessons leave them.
  for (let i = 0; i < 2; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/api/kernels?token=${token}`, {
      method: "POST",
      body: JSON.stringify({ name: "tsparallel" }),
    });
    assert.equal(res.status, 201, await res.text());
  }
  const runtime = join(dir, "runtime");
  const kernels = processesMentioning(runtime).filter((pid) => pid !== lab.pid);
  assert.ok(kernels.length >= 2, `no kernel processes found:\n${log}`);
  // A background `npm start` (no terminal: stdin is not a TTY) stopped with Ctrl-C's signal.
  lab.kill("SIGINT");
  const code = await exited;
  assert.equal(code, 0, log);
  // JupyterLab shut its kernels down itself (SIGTERM's clean-up), not left them to notice.
  assert.match(log, /Shutting down 2 kernels/);
  for (let i = 0; i < 50 && existsSync(clusterFile); i++) await new Promise((res) => setTimeout(res, 100));
  assert.ok(!existsSync(clusterFile), "the default cluster was not stopped with JupyterLab");
  for (let i = 0; i < 50 && kernels.some(processAlive); i++) await new Promise((res) => setTimeout(res, 100));
  assert.deepEqual(kernels.filter(processAlive), [], `kernels left running:\n${log}`);
});
