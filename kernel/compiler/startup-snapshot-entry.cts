/**
 * The script `node --build-snapshot` runs to make the kernel's V8 startup snapshot (see
 * snapshot-build.ts, which starts it and says why). It loads TypeScript, parses and binds the
 * libraries a cell's program reads, and leaves them in a document registry in the heap that V8
 * then writes out. A kernel started from the snapshot gets that heap back in ~0.15 s instead of
 * loading TypeScript and parsing 2.9 MB of declarations (~0.7 s of one core).
 *
 * While the snapshot is built, `require` gives only Node's built-in modules, so TypeScript is
 * loaded by hand, the way Node's CommonJS loader would.
 */
import fs = require("node:fs");
import Module = require("node:module");
import path = require("node:path");
import v8 = require("node:v8");
import vm = require("node:vm");
// Types only, written inline: an `import type` would make TypeScript emit `exports` use, and the
// snapshot builder runs this file without an `exports` object.
type TS = typeof import("typescript");
type Handoff = import("./snapshot-handoff.js").SnapshotHandoff;
type Request = import("./snapshot-handoff.js").SnapshotRequest;
type FileStamp = import("./snapshot-handoff.js").FileStamp;

/** Where the restored process finds the handoff (a registered symbol: both sides name it). */
const HANDOFF_KEY = Symbol.for("tsparallel.startupSnapshot");

function stamp(file: string): FileStamp {
  const s = fs.statSync(file);
  return { path: file, size: s.size, mtimeMs: s.mtimeMs };
}

function loadTypeScript(file: string): TS {
  const source = fs.readFileSync(file, "utf8");
  const mod = { exports: {} as TS };
  const wrapper = vm.runInThisContext(
    `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
    { filename: file },
  ) as (...args: unknown[]) => void;
  wrapper.call(mod.exports, mod.exports, require, mod, file, path.dirname(file));
  return mod.exports;
}

/** Parses and binds the libraries of a program holding one empty cell, and keeps them. */
function warmRegistry(ts: TS, request: Request): Handoff {
  const { options, cwd } = request;
  const cell = path.join(cwd, "__tsparallel_snapshot__.mts");
  const host: import("typescript").LanguageServiceHost = {
    getCompilationSettings: () => options,
    getScriptFileNames: () => [cell],
    getScriptVersion: () => "0",
    getScriptSnapshot: (name) => {
      const text = name === cell ? "export {};\n" : ts.sys.readFile(name);
      return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    },
    getCurrentDirectory: () => cwd,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: (name) => name === cell || ts.sys.fileExists(name),
    readFile: (name) => ts.sys.readFile(name),
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
    realpath: ts.sys.realpath,
    useCaseSensitiveFileNames: () => ts.sys.useCaseSensitiveFileNames,
  };
  const registry = ts.createDocumentRegistry(ts.sys.useCaseSensitiveFileNames, cwd);
  const service = ts.createLanguageService(host, registry);
  const program = service.getProgram();
  if (!program) throw new Error("TypeScript made no program");
  // Making the checker binds every file; bound files are reused as they are by later programs.
  program.getTypeChecker();
  const key = registry.getKeyForCompilationSettings(options);
  const sourceFiles = new Set<import("typescript").SourceFile>();
  for (const file of program.getSourceFiles()) {
    if (file.fileName === cell) continue;
    // The language service's key for a file: its absolute path, folded when names ignore case.
    const filePath = (
      ts.sys.useCaseSensitiveFileNames ? file.fileName : file.fileName.toLowerCase()
    ) as import("typescript").Path;
    // A second hold on each library (acquired as the kernel's warm-up acquires it), so they stay
    // in the registry when the service lets go of its program below.
    const held = registry.acquireDocumentWithKey(
      file.fileName,
      filePath,
      host,
      key,
      ts.ScriptSnapshot.fromString(file.text),
      "0",
      ts.ScriptKind.TS,
    );
    sourceFiles.add(held);
  }
  service.dispose();
  return {
    packageVersion: request.packageVersion,
    typescriptFile: request.typescriptFile,
    ts,
    registry,
    compiler: [request.entryFile, request.typescriptFile].map(stamp),
    libraries: [...sourceFiles].map((f) => stamp(f.fileName)),
    sourceFiles,
  };
}

if (v8.startupSnapshot.isBuildingSnapshot()) {
  const raw = process.env.TSPARALLEL_SNAPSHOT_REQUEST;
  if (!raw) throw new Error("TSPARALLEL_SNAPSHOT_REQUEST is not set: run `tsparallel install`");
  const request = JSON.parse(raw) as Request;
  const handoff = warmRegistry(loadTypeScript(request.typescriptFile), request);
  v8.startupSnapshot.setDeserializeMainFunction(() => {
    (globalThis as Record<symbol, unknown>)[HANDOFF_KEY] = handoff;
    if (process.env.TSPARALLEL_SNAPSHOT_CHECK) {
      // The check after a build or before a reuse: the blob loads, says what it holds, and
      // whether the files it was made from are unchanged.
      const fits = [...handoff.compiler, ...handoff.libraries].every((f) => {
        try {
          const now = stamp(f.path);
          return now.size === f.size && now.mtimeMs === f.mtimeMs;
        } catch {
          return false;
        }
      });
      const report = { libraries: handoff.libraries.length, fits, packageVersion: handoff.packageVersion };
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return;
    }
    // The restored process runs the kernel's launcher, as `node bin/tsparallel.js ARGS` would.
    process.argv.splice(1, 0, request.script);
    (Module as unknown as { runMain(): void }).runMain();
  });
}
