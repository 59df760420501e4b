#!/usr/bin/env node
// Runs every compiled test file with node's built-in test runner, one file at a time: the machine
// has two cores and many tests start real processes (kernels, engines, Jupyter).
//
// Before the run it provisions what it can without root, as `npm start` does: the project's .venv
// with the test requirements (JupyterLab, nbclient, papermill, ipyparallel, numpy). After it, it
// prints one summary of what was skipped, grouped by the system packages those tests need, and
// the command that installs them. Under CI (CI set), a test skipped for want of a system package
// fails the run: .ci/run installs them all, so such a skip means an install step went missing.
//
//   node scripts/run-tests.mjs [PATH_SUBSTRING …]
//   TSPARALLEL_TEST_VENV=0 node scripts/run-tests.mjs   # do not make or fill .venv
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Python modules the tests import from .venv (python/requirements-dev.txt provides them). */
const PYTHON_MODULES = [
  "jupyterlab",
  "jupyter_client",
  "jupyter_kernel_test",
  "nbclient",
  "nbformat",
  "papermill",
  "ipyparallel",
  "numpy",
];

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

async function provisionVenv() {
  if (process.env.TSPARALLEL_TEST_VENV === "0") return;
  const { ensurePythonEnv } = await import("../dist/kernel/lab/python-env.js");
  try {
    await ensurePythonEnv(PYTHON_MODULES, { dev: true });
  } catch (e) {
    // The Jupyter tests then skip and say why; the summary names the package to install.
    console.error(`run-tests: no Python environment for the Jupyter tests: ${e.message}`);
  }
}

/** Groups skipped tests by the system need their reason names (`SKIP[system:NEED] …`). */
function summarise(skips) {
  const groups = new Map();
  const other = [];
  for (const s of skips) {
    const m = /SKIP\[system:([\w-]+)\]\s*(.*)/.exec(s.reason);
    if (!m) {
      other.push(s);
      continue;
    }
    const g = groups.get(m[1]) ?? { reasons: new Set(), count: 0 };
    g.count++;
    g.reasons.add(m[2]);
    groups.set(m[1], g);
  }
  return { groups, other };
}

function packagesOf(groups) {
  const list = new Map();
  for (const line of readFileSync("scripts/system-packages.txt", "utf8").split("\n")) {
    if (line.startsWith("#")) continue;
    const [group, packages] = line.split("|").map((s) => s?.trim());
    if (group && packages) list.set(group, packages);
  }
  return [...groups].map((g) => [g, list.get(g)]);
}

function report(skips) {
  if (skips.length === 0) {
    console.log("\nrun-tests: nothing skipped.");
    return { systemSkips: 0 };
  }
  const { groups, other } = summarise(skips);
  const lines = [`\nrun-tests: ${skips.length} test(s) skipped.`];
  for (const [group, packages] of packagesOf(groups.keys())) {
    const g = groups.get(group);
    const what = group === "root" ? "must run as root" : `needs ${packages ?? group}`;
    lines.push(`  ${group} (${g.count}): ${what}; ${[...g.reasons].join("; ")}`);
  }
  for (const s of other) lines.push(`  other: ${s.name}: ${s.reason || "skipped"}`);
  const installable = [...groups.keys()].filter((g) => g !== "root");
  if (installable.length)
    lines.push(
      `  Install what they need with: sudo bash scripts/install-system-packages.sh ${installable.join(" ")}`,
    );
  console.log(lines.join("\n"));
  return { systemSkips: [...groups.values()].reduce((n, g) => n + g.count, 0) };
}

await provisionVenv();
const filter = process.argv.slice(2);
let files = find("dist/test").sort();
if (filter.length) files = files.filter((f) => filter.some((s) => f.includes(s)));
const scratch = mkdtempSync(join(tmpdir(), "tsp-run-tests-"));
const skipFile = join(scratch, "skips.jsonl");
const r = spawnSync(
  process.execPath,
  [
    "--test",
    "--test-concurrency=1",
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=./scripts/skip-reporter.mjs",
    `--test-reporter-destination=${skipFile}`,
    ...files,
  ],
  { stdio: "inherit" },
);
let skips = [];
try {
  skips = readFileSync(skipFile, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
} catch {
  // no skip file: the run itself failed before reporting
}
rmSync(scratch, { recursive: true, force: true });
const { systemSkips } = report(skips);
let status = r.status ?? 1;
if (process.env.CI && systemSkips > 0) {
  console.error(
    "run-tests: under CI every system package is installed (.ci/run), so these skips fail the run.",
  );
  status ||= 1;
}
process.exit(status);
