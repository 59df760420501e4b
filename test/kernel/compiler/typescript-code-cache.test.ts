import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { startKernel } from "../../helpers/kernel-process.js";

// Kernels started here inherit this environment: their cache goes to a folder of the test's own.
const cacheHome = mkdtempSync(join(tmpdir(), "tsparallel-code-cache-"));
process.env.XDG_CACHE_HOME = cacheHome;
after(() => rmSync(cacheHome, { recursive: true, force: true }));

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not done after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a kernel writes TypeScript's code cache once its compiler is warm, in a file for its V8 flags", async () => {
  const require = createRequire(import.meta.url);
  const version = (
    JSON.parse(readFileSync(require.resolve("typescript/package.json"), "utf8")) as {
      version: string;
    }
  ).version;
  // The kernel runs without flags here: the tag of a plain node process.
  const tag = execFileSync(process.execPath, ["-p", "require('v8').cachedDataVersionTag().toString(16)"], {
    encoding: "utf8",
  }).trim();
  const file = join(
    cacheHome,
    "tsparallel",
    `typescript-${version}-node-${process.version}-${process.arch}-${tag}.v8cache`,
  );

  const first = await startKernel({ launcher: "cli" });
  try {
    await until(() => existsSync(file), 60_000);
  } finally {
    await first.stop();
  }
  const written = statSync(file).mtimeMs;

  // The next kernel loads it and has nothing to write.
  const second = await startKernel({ launcher: "cli" });
  try {
    const r = await second.client.execute("[1, 2].map((x) => x * 2)", {}, 30_000);
    assert.equal((r.reply.content as { status: string }).status, "ok", JSON.stringify(r.reply.content));
    await new Promise((r) => setTimeout(r, 2000)); // time for a warm-up to finish and write
  } finally {
    await second.stop();
  }
  assert.equal(statSync(file).mtimeMs, written);
});
