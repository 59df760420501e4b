import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "./python-env.js";

/** The npm name of the lab extension (its folder under share/jupyter/labextensions). */
export const LAB_EXTENSION_NAME = "tsparallel-jupyterlab";

/** The Python module of the Jupyter server extension. */
export const SERVER_EXTENSION = "tsparallel_lab";

/** The prebuilt lab extension shipped in this package (built by `npm run build` in extension/). */
export const labExtensionDir = join(packageRoot, "extension", "labextension");

/** The folder that holds the server extension's Python package. */
export const serverExtensionDir = join(packageRoot, "extension", "server");

/** The extension could not be installed; the message says what to do. */
export class LabExtensionError extends Error {
  override readonly name = "LabExtensionError";
  readonly code = "LAB_EXTENSION" as const;
}

/**
 * Makes the cluster panel part of the Jupyter of the Python environment at `prefix` (whose
 * interpreter is `python`), the way `pip install` of a Jupyter extension would, but pointing at
 * this package's files instead of copying them, so an update of the package updates the panel:
 *
 * - `PREFIX/share/jupyter/labextensions/tsparallel-jupyterlab` → a symlink to extension/labextension;
 * - `SITE-PACKAGES/tsparallel_lab.pth` → puts extension/server on Python's path;
 * - `PREFIX/etc/jupyter/jupyter_server_config.d/tsparallel_lab.json` → enables the server extension.
 *
 * Idempotent and safe to run while another process does the same (each step is an atomic rename).
 */
export function installLabExtension(python: string, prefix: string): void {
  if (!existsSync(join(labExtensionDir, "package.json"))) {
    throw new LabExtensionError(
      `the prebuilt JupyterLab extension is missing (${labExtensionDir}): run \`npm install && npm run build\` in ${join(packageRoot, "extension")}`,
    );
  }
  const labextensions = join(prefix, "share", "jupyter", "labextensions");
  mkdirSync(labextensions, { recursive: true });
  replaceWithSymlink(join(labextensions, LAB_EXTENSION_NAME), labExtensionDir);

  const r = spawnSync(python, ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], {
    encoding: "utf8",
  });
  const sitePackages = r.stdout?.trim();
  if (r.status !== 0 || !sitePackages) {
    throw new LabExtensionError(
      `cannot find the site-packages of ${python}: ${r.stderr || r.error?.message}`,
    );
  }
  mkdirSync(sitePackages, { recursive: true });
  writeAtomically(join(sitePackages, `${SERVER_EXTENSION}.pth`), `${serverExtensionDir}\n`);

  const configDir = join(prefix, "etc", "jupyter", "jupyter_server_config.d");
  mkdirSync(configDir, { recursive: true });
  writeAtomically(
    join(configDir, `${SERVER_EXTENSION}.json`),
    `${JSON.stringify({ ServerApp: { jpserver_extensions: { [SERVER_EXTENSION]: true } } }, null, 2)}\n`,
  );
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function replaceWithSymlink(path: string, target: string): void {
  // A real folder there (an older copy) cannot be renamed over: remove it first.
  const existing = lstatSync(path, { throwIfNoEntry: false });
  if (existing && !existing.isSymbolicLink()) rmSync(path, { recursive: true, force: true });
  const tmp = `${path}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp, "dir");
  renameSync(tmp, path);
}
