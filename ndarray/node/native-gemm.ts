/**
 * The `native` GEMM backend: our N-API addon (native/, built by `npm install` when a C compiler is
 * present) calling a BLAS library it opens at run time.
 *
 * Which library: `TSPARALLEL_BLAS` (a path or a file name the dynamic loader resolves; `none`
 * turns the backend off), else the system's OpenBLAS (`libopenblas.so.0`, Debian's libopenblas0).
 * Which kernel: OpenBLAS chooses one when it starts, and old builds choose the generic one on CPUs
 * newer than they are (see blas-kernel.ts), so the loader sets OPENBLAS_CORETYPE from the CPU's
 * flags for that moment, unless the user set it (or `TSPARALLEL_BLAS_CORETYPE=auto` asks to let
 * OpenBLAS decide), then reports what runs in {@link BlasInfo}.
 *
 * Node only; it reaches Node's modules through a `NodeHost` rather than static imports, so
 * importing this file is harmless elsewhere.
 * @module
 */

import type { BlasInfo, GemmArgs, GemmBackend } from "../linalg/gemm-backend.js";
import { advisedThreads } from "../linalg/thread-advisor.js";
import {
  bestCoreType,
  type CpuInfo,
  kernelFit,
  openblasVersion,
  parseCpuInfo,
  vectorLevel,
} from "./blas-kernel.js";
import { type LoadedLibrary, loadNativeAddon, type NativeAddon } from "./native-addon.js";
import { type NodeHost, nodeHost } from "./node-host.js";

/** Libraries tried in order when TSPARALLEL_BLAS is not set. */
function defaultLibraries(platform: string): string[] {
  if (platform === "darwin")
    return [
      "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
      "/usr/local/opt/openblas/lib/libopenblas.dylib",
      "libopenblas.dylib",
    ];
  return ["libopenblas.so.0", "libopenblas.so"];
}

function readCpu(host: NodeHost): CpuInfo {
  try {
    return parseCpuInfo(String(host.readFileSync("/proc/cpuinfo", "utf8")));
  } catch {
    return { vendor: "", model: "", flags: new Set() };
  }
}

/** Runs `open` with OPENBLAS_CORETYPE set to `value` (when given), restoring the environment after. */
function withCoreType<T>(value: string | undefined, open: () => T): T {
  if (value === undefined) return open();
  const env = process.env;
  const before = env.OPENBLAS_CORETYPE;
  env.OPENBLAS_CORETYPE = value;
  try {
    return open();
  } finally {
    // Child processes (engines) decide for themselves; the user's other programs are not steered.
    if (before === undefined) delete env.OPENBLAS_CORETYPE;
    else env.OPENBLAS_CORETYPE = before;
  }
}

/** Opens the first library of `names` that loads; throws an Error listing why each failed. */
function openLibrary(addon: NativeAddon, names: string[], coreType: string | undefined): LoadedLibrary {
  const failures: string[] = [];
  for (const name of names) {
    try {
      return withCoreType(coreType, () => addon.blasLoad(name));
    } catch (e) {
      const err = e as Error & { code?: string };
      // Found but unusable (not a CBLAS, or another library already loaded): say so at once.
      if (err.code !== "ERR_ND_BLAS_NOT_FOUND") throw err;
      failures.push(err.message);
    }
  }
  throw new Error(
    `no BLAS library found (${failures.join("; ")}); install OpenBLAS (Debian: apt-get install libopenblas0) or set TSPARALLEL_BLAS to a libopenblas path`,
  );
}

function describe(lib: LoadedLibrary, cpu: CpuInfo, coreType: BlasInfo["coreType"]): BlasInfo {
  const fit = kernelFit(lib.corename, cpu, process.arch);
  const level = vectorLevel(cpu);
  const best = bestCoreType(cpu, process.arch);
  let warning: string | undefined;
  if (fit === "generic" || fit === "narrower") {
    warning =
      `OpenBLAS runs its ${lib.corename} kernel on a CPU with ${level.toUpperCase()}` +
      (coreType?.chosenBy === "user"
        ? ` because OPENBLAS_CORETYPE=${coreType.value} was set; unset it (or set ${best ?? "a faster core type"})`
        : `; set OPENBLAS_CORETYPE=${best ?? "<core>"} before starting, or use a newer OpenBLAS (TSPARALLEL_BLAS=/path/to/libopenblas.so)`);
  }
  return {
    library: lib.path ?? lib.requested,
    version: openblasVersion(lib.config),
    config: lib.config ?? undefined,
    kernel: lib.corename ?? undefined,
    fit,
    coreType,
    cpu: { vendor: cpu.vendor, model: cpu.model, vectors: level },
    warning,
  };
}

/**
 * The core type OpenBLAS should start with: the user's (OPENBLAS_CORETYPE, or
 * TSPARALLEL_BLAS_CORETYPE), none when TSPARALLEL_BLAS_CORETYPE=auto, else the best for the CPU.
 */
function chooseCoreType(cpu: CpuInfo): BlasInfo["coreType"] {
  const user = process.env.OPENBLAS_CORETYPE || process.env.TSPARALLEL_BLAS_CORETYPE;
  if (user === "auto") return undefined;
  if (user) return { value: user, chosenBy: "user" };
  const best = bestCoreType(cpu, process.arch);
  return best ? { value: best, chosenBy: "tsparallel" } : undefined;
}

/**
 * Loads the addon and a BLAS library and returns the backend, or throws an Error explaining why
 * it is unavailable. OpenBLAS is limited to one thread unless OPENBLAS_NUM_THREADS is set, so
 * engine processes (one per core) do not oversubscribe the machine.
 */
export function loadNativeBackend(host: NodeHost | null = nodeHost()): GemmBackend {
  if (!host) throw new Error("the native backend needs Node (>= 20.16, or import tsparallel/ndarray first)");
  const wanted = process.env.TSPARALLEL_BLAS;
  if (wanted === "none" || wanted === "0") throw new Error("turned off by TSPARALLEL_BLAS=" + wanted);
  const addon = loadNativeAddon(host);
  const cpu = readCpu(host);
  const coreType = chooseCoreType(cpu);
  const names = wanted ? [wanted] : defaultLibraries(process.platform);
  // An OPENBLAS_CORETYPE already in the environment stays; any other choice is set only while loading.
  const lib = openLibrary(addon, names, process.env.OPENBLAS_CORETYPE ? undefined : coreType?.value);
  if (!process.env.OPENBLAS_NUM_THREADS) addon.setThreads(1);
  const info = describe(lib, cpu, coreType);
  let threads = addon.getThreads();
  return {
    name: "native",
    blas: info,
    gemm(g: GemmArgs): void {
      const advised = advisedThreads(g.m * g.n * g.k);
      if (advised !== undefined && advised !== threads) {
        addon.setThreads(advised);
        threads = advised;
      }
      addon.gemm(
        g.c.BYTES_PER_ELEMENT === 8,
        g.transA,
        g.transB,
        g.m,
        g.n,
        g.k,
        g.alpha,
        g.a,
        g.offA,
        g.lda,
        g.b,
        g.offB,
        g.ldb,
        g.beta,
        g.c,
        g.offC,
        g.ldc,
      );
    },
    setThreads: (n) => {
      addon.setThreads(n);
      threads = addon.getThreads();
    },
    getThreads: () => addon.getThreads(),
  };
}
