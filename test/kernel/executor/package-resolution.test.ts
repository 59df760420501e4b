import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ModuleNotFoundError } from "../../../kernel/executor/errors.js";
import {
  isCommonJsFile,
  resolveExports,
  resolveImport,
} from "../../../kernel/executor/package-resolution.js";

const notebookDir = fileURLToPath(new URL("../../../../test/fixtures/notebook-packages", import.meta.url));

test("exports maps resolve with Node's import conditions, subpaths and patterns", () => {
  const exports = {
    ".": { types: "./i.d.ts", require: "./i.cjs", import: "./i.mjs" },
    "./feature/*": { node: "./lib/*.js" },
    "./internal/*": null,
  };
  assert.equal(resolveExports(exports, "."), "./i.mjs");
  assert.equal(resolveExports(exports, "./feature/a/b"), "./lib/a/b.js");
  assert.equal(resolveExports(exports, "./internal/x"), undefined);
  assert.equal(resolveExports("./main.js", "."), "./main.js");
  assert.equal(resolveExports({ import: "./m.js", default: "./d.js" }, "."), "./m.js");
});

test("an ESM-only package, a CommonJS package and builtins resolve from the notebook folder", () => {
  assert.match(resolveImport("esm-only", notebookDir), /node_modules\/esm-only\/index\.js$/);
  assert.match(resolveImport("esm-only/extra", notebookDir), /esm-only\/extra\.js$/);
  assert.match(resolveImport("cjs-lib", notebookDir), /cjs-lib\/index\.js$/);
  assert.equal(resolveImport("node:fs", notebookDir), "node:fs");
  assert.equal(resolveImport("path", notebookDir), "path");
  assert.ok(isCommonJsFile(fileURLToPath(resolveImport("cjs-lib", notebookDir))));
  assert.ok(!isCommonJsFile(fileURLToPath(resolveImport("esm-only", notebookDir))));
});

test("a missing package or unexported subpath says what to do", () => {
  assert.throws(
    () => resolveImport("nope-pkg/sub", notebookDir),
    (e: unknown) => {
      assert.ok(e instanceof ModuleNotFoundError);
      assert.equal(e.code, "ERR_CELL_MODULE_NOT_FOUND");
      assert.match(e.message, /npm install nope-pkg\)/);
      return true;
    },
  );
  assert.throws(() => resolveImport("esm-only/hidden", notebookDir), /does not export "\.\/hidden"/);
});
