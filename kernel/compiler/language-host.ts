import { join } from "node:path";
import ts from "typescript";
import { isOwnSpecifier } from "./compiler-options.js";

/** A file the host serves from memory. */
interface VirtualFile {
  text: string;
  version: number;
  snapshot: ts.IScriptSnapshot;
}

/**
 * A LanguageServiceHost over real files (libraries, node_modules) plus in-memory files (the cell,
 * the declaration chain, registered modules). Module resolution follows Node's rules from the
 * notebook folder; registered specifiers and "tsparallel" (when the notebook lacks it) resolve to
 * files the kernel provides.
 */
export class CellLanguageHost implements ts.LanguageServiceHost {
  readonly #files = new Map<string, VirtualFile>();
  readonly #roots: string[];
  readonly #registered = new Map<string, string>();
  // Library and package files are read once: re-reading them for every cell costs ~10 ms.
  readonly #diskSnapshots = new Map<string, ts.IScriptSnapshot | undefined>();
  #cache: ts.ModuleResolutionCache;
  #projectVersion = 0;

  constructor(
    readonly cwd: string,
    readonly options: ts.CompilerOptions,
    roots: string[],
    readonly ownPackageRoot: string,
  ) {
    this.#roots = roots;
    this.#cache = ts.createModuleResolutionCache(cwd, (s) => s, options);
  }

  /** Sets an in-memory file's text (creating it); unchanged text keeps its version. */
  setFile(path: string, text: string): void {
    const old = this.#files.get(path);
    if (old && old.text === text) return;
    this.#files.set(path, {
      text,
      version: (old?.version ?? 0) + 1,
      snapshot: ts.ScriptSnapshot.fromString(text),
    });
    this.#projectVersion++;
  }

  fileText(path: string): string | undefined {
    return this.#files.get(path)?.text;
  }

  /** Makes `specifier` resolve to the in-memory declaration file at `path`. */
  registerModule(specifier: string, path: string): void {
    this.#registered.set(specifier, path);
    this.#projectVersion++;
  }

  /** Forgets cached resolutions and files, so packages installed since the last cell are found. */
  refreshResolution(): void {
    this.#cache = ts.createModuleResolutionCache(this.cwd, (s) => s, this.options);
    this.#diskSnapshots.clear();
  }

  /** Shared with the program, so package.json lookups are cached between cells too. */
  getModuleResolutionCache = (): ts.ModuleResolutionCache => this.#cache;

  getProjectVersion = (): string => String(this.#projectVersion);
  getCompilationSettings = (): ts.CompilerOptions => this.options;
  getScriptFileNames = (): string[] => this.#roots;
  getScriptVersion = (path: string): string => String(this.#files.get(path)?.version ?? 0);
  getScriptSnapshot = (path: string): ts.IScriptSnapshot | undefined => {
    const file = this.#files.get(path);
    if (file) return file.snapshot;
    if (this.#diskSnapshots.has(path)) return this.#diskSnapshots.get(path);
    const text = ts.sys.readFile(path);
    const snapshot = text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    this.#diskSnapshots.set(path, snapshot);
    return snapshot;
  };
  getCurrentDirectory = (): string => this.cwd;
  getDefaultLibFileName = (options: ts.CompilerOptions): string => ts.getDefaultLibFilePath(options);
  fileExists = (path: string): boolean => this.#files.has(path) || ts.sys.fileExists(path);
  readFile = (path: string, encoding?: string): string | undefined =>
    this.#files.get(path)?.text ?? ts.sys.readFile(path, encoding);
  directoryExists = (path: string): boolean => ts.sys.directoryExists(path);
  getDirectories = (path: string): string[] => ts.sys.getDirectories(path);
  realpath = (path: string): string => (this.#files.has(path) ? path : (ts.sys.realpath?.(path) ?? path));
  useCaseSensitiveFileNames = (): boolean => ts.sys.useCaseSensitiveFileNames;

  resolveModuleNameLiterals = (
    literals: readonly ts.StringLiteralLike[],
    containingFile: string,
    redirectedReference: ts.ResolvedProjectReference | undefined,
    options: ts.CompilerOptions,
    containingSourceFile: ts.SourceFile,
  ): readonly ts.ResolvedModuleWithFailedLookupLocations[] =>
    literals.map((literal) => {
      const name = literal.text;
      const registered = this.#registered.get(name);
      if (registered) {
        return { resolvedModule: { resolvedFileName: registered, extension: ts.Extension.Dmts } };
      }
      const mode = ts.getModeForUsageLocation(containingSourceFile, literal, options);
      const found = ts.resolveModuleName(
        name,
        containingFile,
        options,
        this,
        this.#cache,
        redirectedReference,
        mode,
      );
      if (found.resolvedModule || !isOwnSpecifier(name)) return found;
      // The notebook folder has no tsparallel: resolve it as this package's self-reference.
      const self = join(this.ownPackageRoot, "__notebook__.mts");
      return ts.resolveModuleName(name, self, options, this, undefined, undefined, ts.ModuleKind.ESNext);
    });
}
