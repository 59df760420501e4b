import { fileURLToPath } from "node:url";

/** This package's compiled code (dist/), as a file URL and as a path: stacks show either. */
const DIST_URL = new URL("../../", import.meta.url).href;
const DIST_PATH = fileURLToPath(DIST_URL);

/** Packages tsparallel runs on, whose frames are its plumbing, not the user's code. */
const OWN_DEPENDENCIES = /[\\/]node_modules[\\/](zeromq|apache-arrow|typescript)[\\/]/;

/**
 * True for a stack frame of tsparallel itself (the kernel, the client, the array library), of
 * the packages it runs on, or of Node's internals and builtins (`Array.map (<anonymous>)`). A
 * notebook user did not write them and cannot act on them: as IPython hides its own frames, the
 * kernel shows the rest (`%tb` shows everything).
 */
export function isOwnFrame(line: string): boolean {
  if (!/^\s+at /.test(line)) return false;
  return (
    line.includes(DIST_URL) ||
    line.includes(DIST_PATH) ||
    OWN_DEPENDENCIES.test(line) ||
    /\(node:|at node:|\(<anonymous>\)$/.test(line)
  );
}

/**
 * Shows the full stack in every error (`TSPARALLEL_TRACEBACK=full`), for debugging tsparallel
 * itself; otherwise errors show the user's frames and `%tb` the full stack of the last one.
 */
export function fullTracebacks(): boolean {
  return process.env.TSPARALLEL_TRACEBACK === "full";
}
