/**
 * What a kernel restored from its startup snapshot (see snapshot-build.ts) takes over from it:
 * the TypeScript instance, and the registry of parsed and bound library files. Each is used only
 * while the files it was made from are unchanged on disk (size and modification time); otherwise
 * the kernel loads and parses them itself, as it does without a snapshot.
 */
import { statSync } from "node:fs";

import type TS = require("typescript");

/** What the kernel side asks for, as JSON in TSPARALLEL_SNAPSHOT_REQUEST. */
export interface SnapshotRequest {
  /** TypeScript's main file, resolved as the kernel's `require("typescript")` resolves it. */
  typescriptFile: string;
  /** The cells' compiler options (compiler-options.ts), so the registry's key is the kernel's. */
  options: TS.CompilerOptions;
  /** An empty folder to stand for the notebook folder while the libraries are read. */
  cwd: string;
  /** The compiled startup-snapshot-entry.cjs (its edits change what the handoff holds). */
  entryFile: string;
  /** The kernel's launcher (bin/tsparallel.js), which the restored process runs. */
  script: string;
  /** Written into the handoff, so a kernel of another version leaves the snapshot unused. */
  packageVersion: string;
}

/** A file the snapshot holds, as it was on disk: the kernel checks it still is. */
export interface FileStamp {
  path: string;
  size: number;
  mtimeMs: number;
}

/** What the restored process finds under {@link HANDOFF_KEY} (put there by startup-snapshot-entry.cts). */
export interface SnapshotHandoff {
  packageVersion: string;
  typescriptFile: string;
  ts: typeof TS;
  registry: TS.DocumentRegistry;
  /** The snapshot script and typescript.js: TypeScript is taken over while they are unchanged. */
  compiler: FileStamp[];
  /** Every library file in the registry: the registry is taken over while they are unchanged. */
  libraries: FileStamp[];
  /** Library files held, to count how many a kernel's program took from the snapshot. */
  sourceFiles: Set<TS.SourceFile>;
}

const HANDOFF_KEY = Symbol.for("tsparallel.startupSnapshot");

/** The libraries the snapshot holds, in the registry the kernel's language service should use. */
export interface RestoredLibraries {
  registry: TS.DocumentRegistry;
  /** The parsed files, to count how many a program took from the snapshot. */
  sourceFiles: ReadonlySet<TS.SourceFile>;
  count: number;
}

function handoff(): SnapshotHandoff | undefined {
  return (globalThis as Record<symbol, SnapshotHandoff | undefined>)[HANDOFF_KEY];
}

function unchanged(file: FileStamp): boolean {
  try {
    const s = statSync(file.path);
    return s.size === file.size && s.mtimeMs === file.mtimeMs;
  } catch {
    return false;
  }
}

let typescriptTaken = false;
let librariesTaken = false;

/** Whether this process was restored from a startup snapshot (whether or not it still fits). */
export function restoredFromSnapshot(): boolean {
  return handoff() !== undefined;
}

/** Whether this process was restored from a snapshot and took both its TypeScript and libraries. */
export function snapshotFitted(): boolean {
  return typescriptTaken && librariesTaken;
}

/**
 * The snapshot's TypeScript, when `file` (the kernel's `require.resolve("typescript")`) is the
 * file it was loaded from, unchanged, and this snapshot script and package version made it.
 */
export function restoredTypeScript(file: string, packageVersion: string): typeof TS | undefined {
  const h = handoff();
  if (!h || h.typescriptFile !== file || h.packageVersion !== packageVersion) return undefined;
  if (!h.compiler.every(unchanged)) return undefined;
  typescriptTaken = true;
  return h.ts;
}

/** The snapshot's parsed libraries, when its TypeScript is the one in use and none of them changed. */
export function restoredLibraries(): RestoredLibraries | undefined {
  const h = handoff();
  if (!h || !typescriptTaken) return undefined;
  if (!h.libraries.every(unchanged)) return undefined;
  librariesTaken = true;
  return { registry: h.registry, sourceFiles: h.sourceFiles, count: h.sourceFiles.size };
}
