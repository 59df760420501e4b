#!/usr/bin/env node
// Builds the optional OpenBLAS addon for tsparallel/ndarray (ndarray/native -> tsparallel_gemm.node).
//
// Runs as the package's `install` script. OpenBLAS is optional: when libopenblas is missing, or the
// build fails for any reason, this prints one line and exits 0, and matmul falls back to WebAssembly.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const nativeDir = join(root, "ndarray", "native");
const tag = "tsparallel/ndarray:";

function say(msg) {
  console.log(`${tag} ${msg}`);
}

/** True when the linker can find libopenblas.so (the unversioned name comes from libopenblas-dev). */
function haveOpenBLAS() {
  const ld = spawnSync("ldconfig", ["-p"], { encoding: "utf8" });
  if (ld.status === 0 && /\blibopenblas\.so\s/.test(ld.stdout)) return true;
  const dirs = ["/usr/lib", "/usr/local/lib", "/usr/lib64", "/opt/homebrew/opt/openblas/lib"];
  try {
    for (const d of readdirSync("/usr/lib")) if (d.endsWith("-linux-gnu")) dirs.push(join("/usr/lib", d));
  } catch {}
  return dirs.some((d) => existsSync(join(d, "libopenblas.so")) || existsSync(join(d, "libopenblas.dylib")));
}

/** node-gyp: the one npm passes to scripts, a local install, or the copy bundled with npm. */
function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js"));
  } catch {}
  const prefix = dirname(dirname(process.execPath));
  candidates.push(
    join(prefix, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  );
  return candidates.find((c) => c && existsSync(c));
}

function main() {
  if (process.env.TSPARALLEL_SKIP_NATIVE)
    return say("TSPARALLEL_SKIP_NATIVE is set; skipping the OpenBLAS addon.");
  if (!existsSync(join(nativeDir, "binding.gyp"))) return;
  if (!haveOpenBLAS()) {
    return say(
      "OpenBLAS not found (apt-get install libopenblas-dev); matmul will use the WebAssembly backend.",
    );
  }
  const gyp = findNodeGyp();
  if (!gyp) return say("node-gyp not found; skipping the OpenBLAS addon (matmul will use WebAssembly).");
  const args = [gyp, "rebuild", "--directory", nativeDir];
  // Use the installed Node headers when present, so node-gyp never tries to download them.
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, "include", "node", "node_api.h"))) args.push(`--nodedir=${prefix}`);
  const r = spawnSync(process.execPath, args, { encoding: "utf8" });
  if (r.status === 0) return say("built the OpenBLAS addon (matmul backend: native).");
  const log = join(nativeDir, "build-native.log");
  try {
    writeFileSync(log, `${r.stdout ?? ""}\n${r.stderr ?? ""}\n${r.error ?? ""}`);
  } catch {}
  say(`could not build the OpenBLAS addon (see ${log}); matmul will use the WebAssembly backend.`);
}

main();
