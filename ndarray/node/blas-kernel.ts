/**
 * Which OpenBLAS kernel fits this CPU, decided from the CPU's feature flags.
 *
 * OpenBLAS picks its kernel ("core type") once, when the library starts, from CPUID tables. Builds
 * up to 0.3.24 (Debian 12 ships 0.3.21) fall through to the generic "Prescott" kernel on Intel
 * models they do not list, which is 4-5x slower than the AVX-512 one on the same CPU. OpenBLAS
 * honours OPENBLAS_CORETYPE if it is set before the library starts, so the loader sets it from
 * {@link bestCoreType} and afterwards checks what the library reports with {@link kernelFit}.
 *
 * Pure functions over plain data: tested on strings, not on the machine they run on.
 * @module
 */

/** What the loader knows about the CPU (from /proc/cpuinfo on Linux). */
export interface CpuInfo {
  /** `GenuineIntel`, `AuthenticAMD`, … (empty when unknown). */
  vendor: string;
  /** The model name line. */
  model: string;
  /** Feature flags as the OS reports them (only features the OS has enabled appear). */
  flags: ReadonlySet<string>;
}

/** Reads the first processor's vendor, model and flags out of /proc/cpuinfo's text. */
export function parseCpuInfo(text: string): CpuInfo {
  const field = (name: string) => {
    const m = new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(text);
    return m ? m[1]!.trim() : "";
  };
  return {
    vendor: field("vendor_id"),
    model: field("model name"),
    flags: new Set(field("flags").split(/\s+/).filter(Boolean)),
  };
}

/** The vector extensions that decide a BLAS kernel, widest first. */
export type VectorLevel = "avx512" | "avx2" | "avx" | "sse";

/** The widest vector level the CPU (and its OS) supports, as OpenBLAS's kernels group them. */
export function vectorLevel(cpu: CpuInfo): VectorLevel {
  const has = (...names: string[]) => names.every((n) => cpu.flags.has(n));
  // OpenBLAS's SkylakeX kernels use AVX-512 F, CD, BW, DQ and VL.
  if (has("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl")) return "avx512";
  if (has("avx2", "fma")) return "avx2";
  if (has("avx")) return "avx";
  return "sse";
}

/**
 * The OPENBLAS_CORETYPE to set before OpenBLAS starts on this CPU, or undefined to let OpenBLAS
 * decide (not x86, or no AVX). Only names every OpenBLAS since 0.3.10 accepts: `Cooperlake` and
 * `SapphireRapids` (newer, and refused by older builds, which then fall back to autodetection)
 * run the same double and single precision GEMM kernels as `SkylakeX`.
 */
export function bestCoreType(cpu: CpuInfo, arch: string): string | undefined {
  if (arch !== "x64") return undefined;
  switch (vectorLevel(cpu)) {
    case "avx512":
      return "SkylakeX";
    case "avx2":
      return cpu.vendor === "AuthenticAMD" || cpu.vendor === "HygonGenuine" ? "Zen" : "Haswell";
    case "avx":
      return "Sandybridge";
    default:
      return undefined;
  }
}

/** OpenBLAS core names whose GEMM kernels use each level (lower case, as compared). */
const CORES_BY_LEVEL: Record<Exclude<VectorLevel, "sse">, readonly string[]> = {
  avx512: ["skylakex", "cooperlake", "sapphirerapids"],
  avx2: ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"],
  avx: [
    "sandybridge",
    "haswell",
    "zen",
    "skylakex",
    "cooperlake",
    "sapphirerapids",
    "bulldozer",
    "piledriver",
    "steamroller",
    "excavator",
  ],
};

/**
 * How well a running kernel (`openblas_get_corename()`) fits the CPU:
 * - `best`: a kernel of the CPU's widest vector level;
 * - `narrower`: a vector kernel, but a narrower one than the CPU offers (AVX2 on an AVX-512 CPU);
 * - `generic`: no AVX2 kernel on a CPU with AVX2 or better (Prescott, Nehalem, Core2…), the slow
 *   fallback this module exists to avoid;
 * - `unknown`: not x86, or a library that does not report its kernel.
 */
export type KernelFit = "best" | "narrower" | "generic" | "unknown";

/** Judges the kernel a BLAS library runs against the CPU it runs on. */
export function kernelFit(corename: string | null, cpu: CpuInfo, arch: string): KernelFit {
  if (arch !== "x64" || !corename) return "unknown";
  const core = corename.toLowerCase();
  const level = vectorLevel(cpu);
  if (level === "sse") return "best";
  if (CORES_BY_LEVEL[level].includes(core)) return "best";
  if (level !== "avx" && CORES_BY_LEVEL.avx2.includes(core)) return "narrower";
  return level === "avx" ? "narrower" : "generic";
}

/** The OpenBLAS version in an `openblas_get_config()` string ("OpenBLAS 0.3.21 …" → "0.3.21"). */
export function openblasVersion(config: string | null): string | undefined {
  return config ? /OpenBLAS\s+(\d+(?:\.\d+)+)/.exec(config)?.[1] : undefined;
}
