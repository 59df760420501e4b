#!/usr/bin/env node
// Builds the prebuilt (federated) lab extension into labextension/: tsc, then
// @jupyterlab/builder against JupyterLab's core metadata from @jupyterlab/core-meta, so no
// Python or JupyterLab install is needed. `--development` builds unminified with source maps.
// Last, it records a digest of the sources in labextension/build-stamp.json: a test compares it
// with the sources, so a change to them without a rebuild fails CI instead of shipping stale code.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sourceDigest } from "./source-digest.mjs";

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(join(here, "package.json"));
const development = process.argv.includes("--development");

function run(what, args) {
  const r = spawnSync(process.execPath, args, { cwd: here, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`extension build: ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

run("tsc", [require.resolve("typescript/bin/tsc"), "-p", "."]);

// build-labextension wants a folder whose package.json is JupyterLab's core package.json.
const core = mkdtempSync(join(tmpdir(), "tsparallel-core-meta-"));
try {
  copyFileSync(require.resolve("@jupyterlab/core-meta/core.package.json"), join(core, "package.json"));
  run("build-labextension", [
    require.resolve("@jupyterlab/builder/lib/build-labextension.js"),
    "--core-path",
    core,
    ...(development ? ["--development", "--source-map"] : []),
    ".",
  ]);
} finally {
  rmSync(core, { recursive: true, force: true });
}

// What JupyterLab's extension manager says about where the extension comes from.
writeFileSync(
  join(here, "labextension", "install.json"),
  `${JSON.stringify(
    {
      packageManager: "npm",
      packageName: "tsparallel",
      uninstallInstructions:
        "`tsparallel lab` links this extension into its .venv; delete share/jupyter/labextensions/tsparallel-jupyterlab there to remove it",
    },
    null,
    2,
  )}\n`,
);

writeFileSync(
  join(here, "labextension", "build-stamp.json"),
  `${JSON.stringify({ sources: sourceDigest(), development }, null, 2)}\n`,
);
console.log(`extension build: labextension/ is ${development ? "a development" : "a production"} build`);
