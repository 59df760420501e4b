import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { REPO_ROOT, type StartedKernel, startKernel } from "../helpers/kernel-process.js";

type C = Record<string, unknown>;

const BIN = join(REPO_ROOT, "bin", "tsparallel.js");

/** Runs a cell that must fail to type-check (the libraries' types are there) and one that runs. */
async function checksAndRuns(k: StartedKernel): Promise<void> {
  const bad = await k.client.execute("const n: string = [1, 2].map((x) => x * 2).length;");
  assert.equal((bad.reply.content as C).status, "error");
  assert.match(String((bad.reply.content as C).evalue), /Type 'number' is not assignable to type 'string'/);
  const good = await k.client.execute("const xs: number[] = [1, 2, 3];\nxs.reduce((a, b) => a + b, 0)");
  assert.equal((good.reply.content as C).status, "ok", JSON.stringify(good.reply.content));
  const result = good.outputs.find((m) => m.header.msg_type === "execute_result");
  assert.ok(result, "the cell shows its value");
  assert.equal(((result.content as C).data as C)["text/plain"], "6");
}

/** What the launcher compares BLOB.stamp with. */
function fingerprint(blob: string): string {
  const launcher = join(REPO_ROOT, "bin", "tsparallel-kernel");
  return spawnSync("/bin/sh", [launcher, "--fingerprint", process.execPath, blob], { encoding: "utf8" })
    .stdout;
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the kernel's startup snapshot", () => {
  let prefix: string;
  let spec: string;
  let blob: string;
  before(() => {
    prefix = mkdtempSync(join(tmpdir(), "tsparallel-snapshot-test-"));
    const r = spawnSync(process.execPath, [BIN, "install", "--prefix", prefix], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const dir = join(prefix, "share", "jupyter", "kernels", "tsparallel");
    spec = join(dir, "kernel.json");
    blob = join(dir, "kernel-snapshot.blob");
  });
  after(() => rmSync(prefix, { recursive: true, force: true }));

  test("a kernel started from kernel.json is restored from the snapshot with every library parsed", async () => {
    const k = await startKernel({ kernelspec: spec });
    try {
      await checksAndRuns(k);
      await waitFor(() => /started from the startup snapshot/.test(k.stderr()), 10_000, "the warm-up");
      const [, taken, held] = /(\d+) of (\d+) library files came parsed/.exec(k.stderr()) ?? [];
      assert.ok(Number(held) > 100, k.stderr());
      assert.equal(taken, held, "the program takes every library file from the snapshot");
      assert.doesNotMatch(k.stderr(), /rebuilding/);
    } finally {
      await k.stop();
    }
  });

  test("a stamp that no longer matches the node binary starts the kernel plainly, which rebuilds the snapshot", async () => {
    const stamp = `${blob}.stamp`;
    writeFileSync(stamp, "0 0\n0 0\n");
    const k = await startKernel({ kernelspec: spec });
    try {
      await checksAndRuns(k);
      assert.doesNotMatch(k.stderr(), /started from the startup snapshot/);
      await waitFor(() => /rebuilding it/.test(k.stderr()), 20_000, "the kernel to notice");
      await waitFor(
        () => readFileSync(stamp, "utf8") === fingerprint(blob) && !existsSync(`${blob}.rebuilding`),
        60_000,
        "the rebuilt snapshot",
      );
    } finally {
      await k.stop();
    }
    const again = await startKernel({ kernelspec: spec });
    try {
      await checksAndRuns(again);
      await waitFor(() => /started from the startup snapshot/.test(again.stderr()), 10_000, "the warm-up");
    } finally {
      await again.stop();
    }
  });

  test("kernels that find the snapshot stale together start one rebuild", async () => {
    const stamp = `${blob}.stamp`;
    writeFileSync(stamp, "0 0\n0 0\n");
    const kernels = await Promise.all([startKernel({ kernelspec: spec }), startKernel({ kernelspec: spec })]);
    try {
      for (const k of kernels) await checksAndRuns(k);
      await waitFor(
        () => kernels.every((k) => /startup snapshot .* does not fit/.test(k.stderr())),
        20_000,
        "both kernels to warm up",
      );
      const rebuilding = kernels.filter((k) => /: rebuilding it/.test(k.stderr())).length;
      assert.equal(rebuilding, 1, kernels.map((k) => k.stderr()).join("\n---\n"));
      await waitFor(
        () => readFileSync(stamp, "utf8") === fingerprint(blob) && !existsSync(`${blob}.rebuilding`),
        60_000,
        "the rebuilt snapshot",
      );
    } finally {
      for (const k of kernels) await k.stop();
    }
  });

  test("a truncated blob is never loaded: the kernel starts plainly", async () => {
    const copy = mkdtempSync(join(tmpdir(), "tsparallel-snapshot-cut-"));
    try {
      const specText = readFileSync(spec, "utf8");
      const cut = join(copy, "kernel-snapshot.blob");
      writeFileSync(cut, readFileSync(blob));
      writeFileSync(`${cut}.stamp`, readFileSync(`${blob}.stamp`));
      truncateSync(cut, 1_000_000);
      const cutSpec = join(copy, "kernel.json");
      writeFileSync(cutSpec, specText.replace(JSON.stringify(blob), JSON.stringify(cut)));
      const k = await startKernel({ kernelspec: cutSpec });
      try {
        await checksAndRuns(k);
        assert.doesNotMatch(k.stderr(), /started from the startup snapshot/);
        // It rebuilds the blob it could not use; the folder goes once that is done.
        await waitFor(
          () => readFileSync(`${cut}.stamp`, "utf8") === fingerprint(cut) && !existsSync(`${cut}.rebuilding`),
          60_000,
          "the rebuilt snapshot",
        );
      } finally {
        await k.stop();
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test("a library file changed since the build leaves the snapshot's libraries unused", async () => {
    const typesNode = dirname(
      createRequire(join(REPO_ROOT, "package.json")).resolve("@types/node/package.json"),
    );
    const file = join(typesNode, "globals.d.ts");
    const before = statSync(file);
    const stampBefore = statSync(`${blob}.stamp`).mtimeMs;
    utimesSync(file, before.atime, new Date(before.mtimeMs + 5000));
    try {
      const k = await startKernel({ kernelspec: spec });
      try {
        await checksAndRuns(k);
        await waitFor(() => /rebuilding it/.test(k.stderr()), 20_000, "the kernel to notice");
        assert.doesNotMatch(k.stderr(), /started from the startup snapshot/);
        // The rebuild it started ends with a new stamp; the folder is removed after it.
        await waitFor(
          () =>
            statSync(`${blob}.stamp`).mtimeMs > stampBefore &&
            readFileSync(`${blob}.stamp`, "utf8") === fingerprint(blob),
          60_000,
          "the rebuild",
        );
      } finally {
        await k.stop();
      }
    } finally {
      utimesSync(file, before.atimeMs / 1000, before.mtimeMs / 1000);
    }
  });
});
