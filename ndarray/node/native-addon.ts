/**
 * tsparallel's N-API addon (native/, built by `npm install` when a C compiler is present): BLAS
 * calls for the native GEMM backend and shared memory for the cluster's same-host object store.
 * Loaded once per process, through a `NodeHost` so that importing this file is harmless outside
 * Node.
 * @module
 */
import { type NodeHost, nodeHost } from "./node-host.js";

/** What the addon's `blasLoad` reports about the library it opened. */
export interface LoadedLibrary {
  requested: string;
  path: string | null;
  prefix: string;
  corename: string | null;
  config: string | null;
}

/** The addon's functions (native/blas.c, native/shm.c). */
export interface NativeAddon {
  blasLoad(name: string): LoadedLibrary;
  gemm(
    is64: boolean,
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float64Array | Float32Array,
    offA: number,
    lda: number,
    b: Float64Array | Float32Array,
    offB: number,
    ldb: number,
    beta: number,
    c: Float64Array | Float32Array,
    offC: number,
    ldc: number,
  ): void;
  setThreads(n: number): void;
  getThreads(): number;
  /** A new shared-memory segment (a memfd) of `size` bytes, its pages reserved; returns the fd. */
  shmCreate(name: string, size: number): number;
  /** Opens another process's segment through /proc/<pid>/fd/<fd>; returns a descriptor of this process. */
  shmOpenPeer(pid: number, fd: number): number;
  /** `dev:ino:size` of the file behind a descriptor. */
  shmIdentity(fd: number): string;
  /**
   * An ArrayBuffer over bytes [offset, offset + length) of a segment, shared or copy-on-write;
   * `populate` fills its page tables at once (for memory about to be written). `counted` (default
   * true): V8 counts its bytes as this process's memory, and collects garbage as they grow; false
   * for another process's block, which is not.
   */
  shmMap(
    fd: number,
    offset: number,
    length: number,
    shared: boolean,
    populate?: boolean,
    counted?: boolean,
  ): ArrayBuffer;
  /** Detaches a buffer made by shmMap and unmaps it now. */
  shmUnmap(buffer: ArrayBuffer): void;
  shmClose(fd: number): void;
  /** Copies `src` into `dst` (one byte length) with up to `threads` threads (large copies only). */
  shmCopy(dst: Uint8Array, src: Uint8Array, threads: number): void;
  /** glibc's malloc_trim(0): gives freed C-heap memory back to the system; false elsewhere. */
  mallocTrim(): boolean;
}

const ADDON = "native/build/Release/tsparallel_native.node";

let loaded: NativeAddon | Error | undefined;

/** The addon, or throws an Error saying why it is not there (it needs a C compiler to build). */
export function loadNativeAddon(host: NodeHost | null = nodeHost()): NativeAddon {
  if (loaded === undefined) {
    if (!host)
      return fail(new Error("the native addon needs Node (>= 20.16, or import tsparallel/ndarray first)"));
    // The package root, from dist/ndarray/node (compiled) or ndarray/node (sources).
    const path = [`../../../${ADDON}`, `../../${ADDON}`]
      .map((rel) => host.fileURLToPath(new URL(rel, import.meta.url)))
      .find((p) => host.existsSync(p));
    if (!path)
      return fail(
        new Error(
          "the native addon is not built (it needs a C compiler: apt-get install build-essential, then npm run build:native)",
        ),
      );
    try {
      loaded = host.createRequire(import.meta.url)(path) as NativeAddon;
    } catch (e) {
      return fail(new Error(`the native addon did not load: ${(e as Error).message}`));
    }
  }
  if (loaded instanceof Error) throw loaded;
  return loaded;
}

function fail(e: Error): never {
  loaded = e;
  throw e;
}
