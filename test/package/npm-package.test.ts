/**
 * The npm package as a user gets it: `npm pack`, installed with its install script into a fresh
 * project and into a fresh global prefix, the kernelspec installed into a fresh Jupyter prefix,
 * and a notebook kept in another folder run through papermill and through nbclient, starting a
 * cluster and running `%px` on it. Nothing here uses the repository's own files at run time.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { venvPython } from "../../kernel/lab/python-env.js";
import { REPO_ROOT } from "../helpers/kernel-process.js";
import { venvMissing } from "../helpers/system-needs.js";

const scratch = mkdtempSync(join(tmpdir(), "tsp-package-"));
const dirs = {
  pack: join(scratch, "pack"),
  project: join(scratch, "project"),
  global: join(scratch, "global"),
  jupyter: join(scratch, "jupyter"),
  notebooks: join(scratch, "notebooks"),
  clusters: join(scratch, "clusters"),
};
let tarball = "";
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/** An environment with nothing of the repository on its paths. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const { TSPARALLEL_DIR: _d, npm_config_prefix: _p, INIT_CWD: _i, ...rest } = process.env;
  return {
    ...rest,
    TSPARALLEL_DIR: dirs.clusters,
    JUPYTER_PATH: join(dirs.jupyter, "share", "jupyter"),
    npm_config_audit: "false",
    npm_config_fund: "false",
    npm_config_update_notifier: "false",
    ...extra,
  };
}

function run(cmd: string, args: string[], cwd: string, env = userEnv(), timeout = 240_000) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout });
  const out = `${r.stdout ?? ""}\n${r.stderr ?? ""}`;
  assert.equal(
    r.status,
    0,
    `${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}):\n${out.slice(-4000)}`,
  );
  return out;
}

before(() => {
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  // The build is the one `npm test` just made; packing must not rebuild it (prepare is tsc).
  const out = run(npm, ["pack", "--ignore-scripts", "--json", "--pack-destination", dirs.pack], REPO_ROOT);
  const [{ filename }] = JSON.parse(out.slice(out.indexOf("["), out.lastIndexOf("]") + 1)) as {
    filename: string;
  }[];
  tarball = join(dirs.pack, filename);
});

after(() => {
  // Clusters a failed notebook left running stop with their connection files' processes.
  spawnSync(process.execPath, [join(REPO_ROOT, "bin", "tsparallel.js"), "cluster", "stop", "--all"], {
    env: userEnv(),
    stdio: "ignore",
    timeout: 20_000,
  });
  rmSync(scratch, { recursive: true, force: true });
});

test("the tarball holds what a user runs and none of the tests or benchmarks", () => {
  const files = run("tar", ["tzf", tarball], dirs.pack).split("\n").filter(Boolean);
  const has = (p: string) => files.includes(`package/${p}`);
  for (const p of [
    "bin/tsparallel.js",
    "dist/kernel/cli.js",
    "dist/engines/index.js",
    "dist/engines/index.d.ts",
    "dist/ndarray/index.js",
    "native/binding.gyp",
    "native/blas.c",
    "scripts/build-native.mjs",
    "python/requirements.txt",
    "extension/labextension/package.json",
    "extension/server/tsparallel_lab/__init__.py",
    "notebooks/01-direct-views.ipynb",
  ])
    assert.ok(has(p), `${p} is missing from the tarball`);
  const stray = files.filter((f) =>
    /^package\/(dist\/(test|bench)|test|bench|\.venv|node_modules)\//.test(f),
  );
  assert.deepEqual(stray, []);
});

test("npm install of the tarball runs its install script, builds the addon or says why not, and never fails", () => {
  writeFileSync(
    join(dirs.project, "package.json"),
    JSON.stringify({ name: "user-project", private: true, allowScripts: { tsparallel: true, zeromq: true } }),
  );
  const out = run(npm, ["install", "--prefer-offline", "--foreground-scripts", tarball], dirs.project);
  assert.match(
    out,
    /tsparallel: (built the native addon|no C and C\+\+ compiler found|node-gyp not found|could not build)/,
  );
  const addon = join(
    dirs.project,
    "node_modules",
    "tsparallel",
    "native",
    "build",
    "Release",
    "tsparallel_native.node",
  );
  if (["cc", "c++"].every((c) => spawnSync(c, ["--version"]).status === 0)) assert.ok(existsSync(addon), out);
  // Without a compiler the script says what to install, and the install still succeeds.
  const script = join(dirs.project, "node_modules", "tsparallel", "scripts", "build-native.mjs");
  const noCompiler = run(process.execPath, [script], dirs.project, userEnv({ CC: "/nonexistent/cc" }));
  assert.match(
    noCompiler,
    /no C and C\+\+ compiler found, so the native addon was not built and matmul will use WebAssembly/,
  );
});

test("a global install puts tsparallel on the prefix's PATH", () => {
  run(npm, ["install", "--global", "--prefer-offline", "--prefix", dirs.global, tarball], scratch);
  const help = run(join(dirs.global, "bin", "tsparallel"), ["--help"], scratch);
  assert.match(help, /install/);
  assert.match(help, /cluster/);
});

/** A notebook that uses the kernel, the package's imports, a cluster and %px. */
function writeNotebook(path: string): void {
  const code = (source: string) => ({
    cell_type: "code",
    metadata: {},
    execution_count: null,
    outputs: [],
    source,
  });
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "tsparallel", display_name: "TypeScript (parallel)", language: "typescript" },
    },
    cells: [
      code("const xs: number[] = [1, 2, 3];\nxs.map((x) => x * 2)"),
      code('import * as nd from "tsparallel/ndarray";\nnd.arange(4).sum()'),
      code("%cluster start -n 2"),
      code("%px 6 * 7"),
      code(
        'import { Client } from "tsparallel";\n(await Client.current!.view().apply(() => 40 + 2)).join(",")',
      ),
      code("%cluster stop"),
    ],
  };
  writeFileSync(path, JSON.stringify(nb));
}

function outputsText(path: string): string[] {
  const nb = JSON.parse(readFileSync(path, "utf8")) as {
    cells: {
      outputs: {
        text?: string | string[];
        data?: Record<string, string | string[]>;
        ename?: string;
        evalue?: string;
      }[];
    }[];
  };
  const join = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join("") : (v ?? ""));
  return nb.cells.map((c) =>
    c.outputs
      .map((o) => join(o.text) + join(o.data?.["text/plain"]) + (o.ename ? `${o.ename}: ${o.evalue}` : ""))
      .join("\n"),
  );
}

function checkOutputs(path: string): void {
  const out = outputsText(path);
  assert.match(out[0]!, /\[ 2, 4, 6 \]/);
  assert.match(out[1]!, /^6$/m);
  assert.match(out[3]!, /42/);
  assert.match(out[4]!, /'42,42'|42,42/);
  for (const [i, o] of out.entries()) assert.doesNotMatch(o, /Error/, `cell ${i}: ${o}`);
}

test("the kernelspec installs into a Jupyter prefix and runs a notebook from another folder through papermill and nbclient", (t) => {
  const why = venvMissing(["papermill", "nbclient", "nbformat"]);
  if (why) return t.skip(why);
  const bin = join(dirs.project, "node_modules", ".bin", "tsparallel");
  const installed = run(bin, ["install", "--prefix", dirs.jupyter], dirs.project);
  assert.match(installed, /Startup snapshot built/, "the installed package builds its startup snapshot");
  const spec = JSON.parse(
    readFileSync(join(dirs.jupyter, "share", "jupyter", "kernels", "tsparallel", "kernel.json"), "utf8"),
  ) as { argv: string[] };
  assert.ok(
    spec.argv.some((a) => a.startsWith(join(dirs.project, "node_modules", "tsparallel"))),
    `the kernelspec runs the installed package: ${spec.argv.join(" ")}`,
  );

  const input = join(dirs.notebooks, "check.ipynb");
  writeNotebook(input);
  const papermilled = join(dirs.notebooks, "papermill-out.ipynb");
  const papermill = join(venvPython, "..", "papermill");
  const log = run(
    papermill,
    [input, papermilled, "-k", "tsparallel", "--cwd", dirs.notebooks],
    dirs.notebooks,
  );
  checkOutputs(papermilled);
  // The kernel's own log (its stderr reaches papermill's): restored from the snapshot, not rebuilding it.
  assert.match(log, /started from the startup snapshot: (\d+) of \1 library files came parsed/);

  const viaNbclient = join(dirs.notebooks, "nbclient-out.ipynb");
  run(
    venvPython,
    [
      "-c",
      `import nbformat, sys
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, kernel_name="tsparallel", timeout=120, resources={"metadata": {"path": sys.argv[3]}}).execute()
nbformat.write(nb, sys.argv[2])`,
      input,
      viaNbclient,
      dirs.notebooks,
    ],
    dirs.notebooks,
  );
  checkOutputs(viaNbclient);
});
