#!/usr/bin/env node
// Builds tsparallel's optional N-API addon (native/ -> native/build/Release/tsparallel_native.node):
// BLAS calls for tsparallel/ndarray's matrix multiply.
//
// Runs as the package's `install` script and must never fail an install: without a C compiler or
// node-gyp it prints one line saying what to install and exits 0; matmul then uses WebAssembly.
// The addon opens a BLAS library at run time (the system's OpenBLAS, or TSPARALLEL_BLAS), so the
// build itself needs no BLAS headers; this script only says whether one is there to be found.
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const nativeDir = join(root, "native");
const tag = "tsparallel:";

function say(msg) {
  console.log(`${tag} ${msg}`);
}

/** True when the dynamic loader can find the OpenBLAS runtime (libopenblas.so.0, Debian's libopenblas0). */
function haveOpenBLAS() {
  if (process.env.TSPARALLEL_BLAS) return true;
  const ld = spawnSync("ldconfig", ["-p"], { encoding: "utf8" });
  if (ld.status === 0) return /\blibopenblas\.so(\.0)?\s/.test(ld.stdout);
  return ["/opt/homebrew/opt/openblas/lib", "/usr/local/opt/openblas/lib"].some((d) =>
    existsSync(join(d, "libopenblas.dylib")),
  );
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

/** C for most of the addon, C++ for the one call N-API lacks (native/uncounted-buffer.cc). */
function haveCompiler() {
  return [process.env.CC || "cc", process.env.CXX || "c++"].every(
    (c) => spawnSync(c, ["--version"], { stdio: "ignore" }).status === 0,
  );
}

function main() {
  const fallback = "matmul will use WebAssembly";
  if (process.env.TSPARALLEL_SKIP_NATIVE)
    return say(`TSPARALLEL_SKIP_NATIVE is set; skipping the native addon (${fallback}).`);
  if (!existsSync(join(nativeDir, "binding.gyp"))) return;
  if (!haveCompiler())
    return say(
      `no C and C++ compiler found, so the native addon was not built and ${fallback}; for OpenBLAS speed install one (Debian: apt-get install build-essential libopenblas0) and run npm rebuild tsparallel.`,
    );
  const gyp = findNodeGyp();
  if (!gyp) return say(`node-gyp not found, so the native addon was not built (${fallback}).`);
  const args = [gyp, "rebuild", "--directory", nativeDir];
  // Use the installed Node headers when present, so node-gyp never tries to download them.
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, "include", "node", "node_api.h"))) args.push(`--nodedir=${prefix}`);
  const r = spawnSync(process.execPath, args, { encoding: "utf8" });
  if (r.status !== 0) {
    const log = join(nativeDir, "build-native.log");
    try {
      writeFileSync(log, `${r.stdout ?? ""}\n${r.stderr ?? ""}\n${r.error ?? ""}`);
    } catch {}
    return say(`could not build the native addon (see ${log}); ${fallback}.`);
  }
  if (haveOpenBLAS()) return say("built the native addon; matmul runs on OpenBLAS.");
  say(
    `built the native addon, but no OpenBLAS was found, so ${fallback}; for OpenBLAS speed install it (Debian: apt-get install libopenblas0) or set TSPARALLEL_BLAS to a libopenblas path.`,
  );
}

main();
