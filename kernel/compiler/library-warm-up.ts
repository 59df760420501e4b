import { dirname, join, resolve } from "node:path";
import ts from "typescript";
import type { CellLanguageHost } from "./language-host.js";

/** TypeScript's binder, which its type checker runs over each file (at run time, not in its typings). */
type Binder = (file: ts.SourceFile, options: ts.CompilerOptions) => void;

/** A file parsed ahead of the program, held in the registry until the program holds it too. */
export interface WarmFile {
  sourceFile: ts.SourceFile;
  release(): void;
}

/** The module specifiers a declaration file imports, at its top level or in `declare module` blocks. */
function importedSpecifiers(sourceFile: ts.SourceFile): ts.StringLiteral[] {
  const out: ts.StringLiteral[] = [];
  const visit = (statements: readonly ts.Statement[]) => {
    for (const s of statements) {
      if ((ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) && s.moduleSpecifier) {
        if (ts.isStringLiteral(s.moduleSpecifier)) out.push(s.moduleSpecifier);
      } else if (ts.isModuleDeclaration(s) && s.body && ts.isModuleBlock(s.body)) {
        visit(s.body.statements);
      }
    }
  };
  visit(sourceFile.statements);
  return out;
}

/**
 * Parses and binds the library files a cell's program reads (TypeScript's `lib.*.d.ts`, the
 * `types` packages such as @types/node, and the files they reference or import), one file per
 * step of the returned iterator (parsing and binding are separate steps), into the document
 * registry the language service reads from. Building the program afterwards finds them ready:
 * about 0.6 s of parsing and binding (2.9 MB of declarations) becomes steps of a few to a few
 * tens of milliseconds, between which the kernel answers messages.
 *
 * A step yields the file it finished, or undefined after a parse. A file parsed here with other
 * settings than the program's is simply parsed again by it.
 */
export function* warmLibraries(
  host: CellLanguageHost,
  registry: ts.DocumentRegistry,
  containingFile: string,
): Generator<WarmFile | undefined> {
  const options = host.options;
  const key = registry.getKeyForCompilationSettings(options);
  const bind = (ts as unknown as { bindSourceFile?: Binder }).bindSourceFile;
  const libDir = dirname(ts.getDefaultLibFilePath(options));
  const queue: string[] = [];
  const seen = new Set<string>();
  const add = (fileName: string | undefined) => {
    if (fileName === undefined) return;
    const normal = resolve(fileName).replace(/\\/g, "/");
    if (seen.has(normal)) return;
    seen.add(normal);
    queue.push(normal);
  };
  const typeFile = (name: string, from: string) =>
    ts.resolveTypeReferenceDirective(name, from, options, host).resolvedTypeReferenceDirective
      ?.resolvedFileName;

  if (options.lib) for (const lib of options.lib) add(join(libDir, lib));
  else add(ts.getDefaultLibFilePath(options));
  for (const type of options.types ?? []) add(typeFile(type, containingFile));

  for (let fileName = queue.shift(); fileName !== undefined; fileName = queue.shift()) {
    const snapshot = host.getScriptSnapshot(fileName);
    if (!snapshot) continue;
    // The language service's own key for a file: its absolute path, folded when names ignore case.
    const path = (ts.sys.useCaseSensitiveFileNames ? fileName : fileName.toLowerCase()) as ts.Path;
    const sourceFile = registry.acquireDocumentWithKey(
      fileName,
      path,
      host,
      key,
      snapshot,
      host.getScriptVersion(fileName),
      ts.ScriptKind.TS,
    );
    for (const ref of sourceFile.libReferenceDirectives)
      add(join(libDir, `lib.${ref.fileName.toLowerCase()}.d.ts`));
    for (const ref of sourceFile.referencedFiles) add(join(dirname(fileName), ref.fileName));
    for (const ref of sourceFile.typeReferenceDirectives) add(typeFile(ref.fileName, fileName));
    for (const literal of importedSpecifiers(sourceFile)) {
      // Resolved in the file's own module format (an `import` in a CommonJS declaration file is a
      // `require`), through the host's cache, which the program's own resolution then reads.
      const found = ts.resolveModuleName(
        literal.text,
        fileName,
        options,
        host,
        host.getModuleResolutionCache(),
        undefined,
        sourceFile.impliedNodeFormat,
      ).resolvedModule;
      if (found?.extension === ts.Extension.Dts) add(found.resolvedFileName);
    }
    yield undefined;
    // The checker binds every file when it is made; bound now, that is done already.
    bind?.(sourceFile, options);
    yield {
      sourceFile,
      release: () =>
        registry.releaseDocumentWithKey(path, key, ts.ScriptKind.TS, sourceFile.impliedNodeFormat),
    };
  }
}
