import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { kernelsDir } from "../../kernel/kernelspec.js";
import { REPO_ROOT } from "../helpers/kernel-process.js";

const BIN = join(REPO_ROOT, "bin", "tsparallel.js");
const run = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env });

test("--help documents every command", () => {
  const r = run(["--help"]);
  assert.equal(r.status, 0);
  for (const usage of [
    "tsparallel install [--user | --sys-prefix | --prefix DIR]",
    "tsparallel kernel CONNECTION_FILE",
  ]) {
    assert.ok(r.stdout.includes(usage), r.stdout);
  }
});

test("a wrong option prints the usage line and exits 2 without a stack trace", () => {
  const r = run(["install", "--nope"]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^usage: tsparallel install/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const unknown = run(["frobnicate"]);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
});

test("kernel with an unreadable connection file says so and exits 1", () => {
  const r = run(["kernel", "/nonexistent/connection.json"]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot read connection file/);
});

test("install --prefix writes kernel.json with message interrupts, absolute paths and a startup snapshot", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsparallel-cli-"));
  try {
    const r = run(["install", "--prefix", dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Startup snapshot built in [\d.]+ s: TypeScript and \d+ library files/);
    const kernelDir = join(dir, "share/jupyter/kernels/tsparallel");
    const spec = JSON.parse(readFileSync(join(kernelDir, "kernel.json"), "utf8"));
    assert.equal(spec.display_name, "TypeScript (parallel)");
    assert.equal(spec.language, "typescript");
    assert.equal(spec.interrupt_mode, "message");
    const blob = join(kernelDir, "kernel-snapshot.blob");
    assert.deepEqual(
      spec.argv,
      [
        "/bin/sh",
        join(REPO_ROOT, "bin", "tsparallel-kernel"),
        process.execPath,
        blob,
        BIN,
        "--max-semi-space-size=64",
        "kernel",
        "{connection_file}",
      ],
      "the launcher, the snapshot, and a young generation that holds a flood of tasks in flight",
    );
    assert.ok(statSync(blob).size > 10_000_000, "the blob holds TypeScript and its libraries");
    assert.ok(existsSync(`${blob}.stamp`));
    // Installing again keeps a snapshot that still fits.
    const again = run(["install", "--prefix", dir]);
    assert.match(again.stdout, /Startup snapshot up to date/);
    if (!process.env.GLIBC_TUNABLES && process.env.TSPARALLEL_HUGEPAGES !== "0")
      assert.deepEqual(
        spec.env,
        { GLIBC_TUNABLES: "glibc.malloc.hugetlb=1" },
        "huge pages for pulled arrays",
      );
    assert.ok(existsSync(join(dir, "share/jupyter/kernels/tsparallel/logo-svg.svg")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("install --user honours JUPYTER_DATA_DIR, and --sys-prefix uses VIRTUAL_ENV", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsparallel-cli-"));
  try {
    const r = run(["install", "--user", "--no-snapshot"], {
      ...process.env,
      JUPYTER_DATA_DIR: join(dir, "data"),
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /No startup snapshot \(--no-snapshot\)/);
    const spec = JSON.parse(readFileSync(join(dir, "data/kernels/tsparallel/kernel.json"), "utf8"));
    assert.deepEqual(
      spec.argv,
      [process.execPath, "--max-semi-space-size=64", BIN, "kernel", "{connection_file}"],
      "without a snapshot, node runs the kernel directly",
    );
    assert.ok(!existsSync(join(dir, "data/kernels/tsparallel/kernel-snapshot.blob")));
    assert.equal(kernelsDir({ kind: "sys-prefix" }, { VIRTUAL_ENV: "/venv" }), "/venv/share/jupyter/kernels");
    assert.equal(kernelsDir({ kind: "user" }, { JUPYTER_DATA_DIR: "/d" }), "/d/kernels");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
