import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import * as nd from "../../ndarray/index.js";
import {
  bestCoreType,
  kernelFit,
  openblasVersion,
  parseCpuInfo,
  vectorLevel,
} from "../../ndarray/node/blas-kernel.js";
import { nativeBackendMissing } from "../helpers/system-needs.js";

const cpuinfo = (vendor: string, flags: string) =>
  `processor\t: 0\nvendor_id\t: ${vendor}\nmodel name\t: Test CPU\nflags\t\t: ${flags}\n\nprocessor\t: 1\nvendor_id\t: Other\n`;
const XEON = parseCpuInfo(
  cpuinfo("GenuineIntel", "fpu sse2 avx avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl"),
);
const ZEN2 = parseCpuInfo(cpuinfo("AuthenticAMD", "fpu sse2 avx avx2 fma"));
const SANDY = parseCpuInfo(cpuinfo("GenuineIntel", "fpu sse2 avx"));
const OLD = parseCpuInfo(cpuinfo("GenuineIntel", "fpu sse2 sse4_2"));
// AVX-512 F alone (Knights Landing) lacks the BW/DQ/VL that OpenBLAS's SkylakeX kernels use.
const KNL = parseCpuInfo(cpuinfo("GenuineIntel", "avx avx2 fma avx512f avx512cd"));

test("cpuinfo is read from the first processor: vendor, model and flags", () => {
  assert.equal(XEON.vendor, "GenuineIntel");
  assert.equal(XEON.model, "Test CPU");
  assert.ok(XEON.flags.has("avx512vl") && !XEON.flags.has("Other"));
  assert.deepEqual(parseCpuInfo("nothing here"), { vendor: "", model: "", flags: new Set() });
});

test("the core type to force follows the widest vector level the CPU and OS offer", () => {
  assert.deepEqual(
    [XEON, KNL, ZEN2, SANDY, OLD].map((c) => [vectorLevel(c), bestCoreType(c, "x64")]),
    [
      ["avx512", "SkylakeX"],
      ["avx2", "Haswell"],
      ["avx2", "Zen"],
      ["avx", "Sandybridge"],
      ["sse", undefined],
    ],
  );
  assert.equal(bestCoreType(XEON, "arm64"), undefined, "OpenBLAS detects ARM cores itself");
});

test("a generic kernel on an AVX2 or AVX-512 CPU is called generic; the fitting ones are best", () => {
  assert.equal(kernelFit("Prescott", XEON, "x64"), "generic");
  assert.equal(kernelFit("Nehalem", ZEN2, "x64"), "generic");
  assert.equal(kernelFit("Sandybridge", XEON, "x64"), "generic");
  assert.equal(kernelFit("Haswell", XEON, "x64"), "narrower");
  assert.equal(kernelFit("SkylakeX", XEON, "x64"), "best");
  assert.equal(kernelFit("COOPERLAKE", XEON, "x64"), "best");
  assert.equal(kernelFit("Zen", ZEN2, "x64"), "best");
  assert.equal(kernelFit("Nehalem", SANDY, "x64"), "narrower");
  assert.equal(kernelFit("Core2", OLD, "x64"), "best");
  assert.equal(kernelFit(null, XEON, "x64"), "unknown");
  assert.equal(kernelFit("NeoverseN1", XEON, "arm64"), "unknown");
  assert.equal(openblasVersion("OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH SkylakeX"), "0.3.21");
  assert.equal(openblasVersion("OpenBLAS 0.3.34.481.3 DYNAMIC_ARCH"), "0.3.34.481.3");
  assert.equal(openblasVersion(null), undefined);
});

const blas = nd.backendInfo().blas;
const NO_BLAS = nativeBackendMissing();

function withoutCoreType(): NodeJS.ProcessEnv {
  const { OPENBLAS_CORETYPE: _, TSPARALLEL_BLAS_CORETYPE: __, ...rest } = process.env;
  return rest;
}

/** backendInfo() of a fresh Node process with `env` added. */
function infoWith(env: Record<string, string>): nd.BackendInfo {
  const r = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const nd = await import(${JSON.stringify(new URL("../../ndarray/index.js", import.meta.url).href)});
       process.stdout.write(JSON.stringify({ ...nd.backendInfo(), coretypeLeft: process.env.OPENBLAS_CORETYPE ?? null }));`,
    ],
    { encoding: "utf8", env: { ...withoutCoreType(), ...env } },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as nd.BackendInfo;
}

test("the native backend runs the CPU's best OpenBLAS kernel, and says which", (t) => {
  if (!blas) return t.skip(NO_BLAS);
  assert.ok(blas.library.includes("blas"), blas.library);
  assert.match(blas.version ?? "", /^\d+\.\d+/);
  assert.ok(blas.kernel, "the library names its kernel");
  if (blas.cpu.vectors === "avx2" || blas.cpu.vectors === "avx512")
    assert.notEqual(blas.fit, "generic", `${blas.kernel} is a generic kernel on a ${blas.cpu.vectors} CPU`);
  if (!process.env.OPENBLAS_CORETYPE && !process.env.TSPARALLEL_BLAS_CORETYPE && process.arch === "x64") {
    assert.equal(blas.fit, "best", `${blas.kernel} on ${blas.cpu.vectors}: ${blas.warning}`);
    assert.equal(blas.warning, undefined);
  }
});

test("the core type tsparallel sets is gone from the environment once OpenBLAS has started", (t) => {
  if (!blas) return t.skip(NO_BLAS);
  const info = infoWith({}) as nd.BackendInfo & { coretypeLeft: string | null };
  assert.equal(info.coretypeLeft, null);
  if (info.blas?.coreType) assert.equal(info.blas.coreType.chosenBy, "tsparallel");
});

test("a user's OPENBLAS_CORETYPE wins, and a generic kernel it forces is reported with a warning", (t) => {
  if (!blas || process.arch !== "x64") return t.skip(NO_BLAS);
  const info = infoWith({ OPENBLAS_CORETYPE: "Prescott" }).blas!;
  assert.equal(info.kernel, "Prescott");
  assert.deepEqual(info.coreType, { value: "Prescott", chosenBy: "user" });
  if (info.cpu.vectors === "avx2" || info.cpu.vectors === "avx512") {
    assert.equal(info.fit, "generic");
    assert.match(info.warning ?? "", /OPENBLAS_CORETYPE=Prescott/);
  }
});

test("TSPARALLEL_BLAS names the library; a missing or non-BLAS one leaves wasm and says why", (t) => {
  if (!blas) return t.skip(NO_BLAS);
  const off = infoWith({ TSPARALLEL_BLAS: "none" });
  assert.equal(off.backend, "wasm");
  assert.match(off.unavailable.native ?? "", /TSPARALLEL_BLAS=none/);
  const missing = infoWith({ TSPARALLEL_BLAS: "/nonexistent/libopenblas.so" });
  assert.equal(missing.backend, "wasm");
  assert.match(missing.unavailable.native ?? "", /no BLAS library found .*nonexistent.*TSPARALLEL_BLAS/);
  const notBlas = infoWith({ TSPARALLEL_BLAS: "libz.so.1" });
  assert.match(notBlas.unavailable.native ?? "", /libz\.so\.1 has no cblas_dgemm/);
  const named = infoWith({ TSPARALLEL_BLAS: blas.library });
  assert.equal(named.backend, "native");
  assert.equal(named.blas?.library, blas.library);
});
