/**
 * The prebuilt lab extension is committed (so a clone or an npm install needs no JupyterLab
 * toolchain): it must be complete and built from the sources as they are now.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { LAB_EXTENSION_NAME, labExtensionDir } from "../../kernel/lab/lab-extension.js";
import { packageRoot } from "../../kernel/lab/python-env.js";

interface BuiltPackage {
  name: string;
  jupyterlab: { _build?: { load: string; extension?: string; style?: string } };
}

test("the committed prebuilt extension is complete and up to date with its sources", async () => {
  const pkg = JSON.parse(readFileSync(join(labExtensionDir, "package.json"), "utf8")) as BuiltPackage;
  assert.equal(pkg.name, LAB_EXTENSION_NAME);
  const build = pkg.jupyterlab._build;
  assert.ok(
    build,
    "labextension/package.json has no jupyterlab._build: it was not made by build-labextension",
  );
  assert.ok(existsSync(join(labExtensionDir, build.load)), `missing ${build.load}`);
  assert.equal(build.extension, "./extension");
  assert.equal(build.style, "./style");

  const stamp = JSON.parse(readFileSync(join(labExtensionDir, "build-stamp.json"), "utf8")) as {
    sources: string;
    development: boolean;
  };
  const digest = join(packageRoot, "extension", "scripts", "source-digest.mjs");
  const { sourceDigest } = (await import(pathToFileURL(digest).href)) as { sourceDigest(): string };
  assert.equal(
    stamp.sources,
    sourceDigest(),
    "the extension's sources changed since labextension/ was built: run `npm install && npm run build` in extension/ and commit labextension/",
  );
  assert.equal(stamp.development, false, "labextension/ is a development build: commit a production build");
});
