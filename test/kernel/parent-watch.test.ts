/**
 * A kernel follows the Jupyter server that started it (JPY_PARENT_PID), as ipykernel does: a
 * server that dies without shutting its kernels down leaves none behind.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { startKernel } from "../helpers/kernel-process.js";

test("a kernel exits when the process named in JPY_PARENT_PID is gone", async (t) => {
  // A stand-in for the Jupyter server: a process that lives until killed.
  const server = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  const previous = process.env.JPY_PARENT_PID;
  process.env.JPY_PARENT_PID = String(server.pid);
  const kernel = await startKernel({ launcher: "cli" }).finally(() => {
    if (previous === undefined) delete process.env.JPY_PARENT_PID;
    else process.env.JPY_PARENT_PID = previous;
  });
  t.after(async () => {
    server.kill("SIGKILL");
    await kernel.stop();
  });
  const first = await kernel.client.execute("1 + 1");
  assert.equal((first.reply.content as { status: string }).status, "ok");
  // Still there while its parent is.
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(kernel.process.exitCode, null);
  server.kill("SIGKILL");
  const code = await Promise.race([
    kernel.exited,
    new Promise<string>((r) => setTimeout(() => r("still running"), 8000)),
  ]);
  assert.equal(code, 0);
  assert.match(kernel.stderr(), /Jupyter server that started this kernel is gone/);
});
