import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** The tsparallel package's own folder, found from this module's location (src or dist). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      const name: unknown = JSON.parse(readFileSync(manifest, "utf8")).name;
      if (name === "tsparallel") return dir;
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`tsparallel: no package.json named "tsparallel" above ${import.meta.url}`);
    dir = parent;
  }
}

/** True for "tsparallel" and its subpaths: resolved to this package when the notebook lacks it. */
export function isOwnSpecifier(specifier: string): boolean {
  return specifier === "tsparallel" || specifier.startsWith("tsparallel/");
}

/** The `@types` folder that holds the kernel's own @types/node (the fallback for notebooks without it). */
function ownTypesRoot(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return dirname(dirname(require.resolve("@types/node/package.json")));
  } catch {
    return undefined;
  }
}

// Options a notebook's tsconfig.json may not change: the cell pipeline depends on them.
const fixedOptions = new Set([
  "module",
  "moduleResolution",
  "noEmit",
  "emitDeclarationOnly",
  "declaration",
  "declarationMap",
  "sourceMap",
  "inlineSourceMap",
  "inlineSources",
  "outDir",
  "outFile",
  "rootDir",
  "rootDirs",
  "composite",
  "incremental",
  "tsBuildInfoFile",
  "importHelpers",
  "noEmitHelpers",
  "noEmitOnError",
  "isolatedDeclarations",
  "configFilePath",
]);

/** The options cells compile with, and warnings about a notebook tsconfig.json that could not be used. */
export interface CellCompilerSettings {
  options: ts.CompilerOptions;
  warnings: string[];
}

/**
 * Strict TypeScript for Node: ES2022 output, ES2023 library (no DOM), Node's own module rules
 * (NodeNext, so ESM and CommonJS packages type-check the way Node loads them), standard
 * decorators. A tsconfig.json in `cwd` may override everything except how cells are emitted.
 */
export function cellCompilerSettings(cwd: string): CellCompilerSettings {
  const typeRoots = [join(cwd, "node_modules", "@types")];
  const own = ownTypesRoot();
  if (own && !typeRoots.includes(own)) typeRoots.push(own);
  const options: ts.CompilerOptions = {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2023.d.ts", "lib.esnext.disposable.d.ts"],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    esModuleInterop: true,
    allowSyntheticDefaultImports: true,
    resolveJsonModule: true,
    skipLibCheck: true,
    types: ["node"],
    typeRoots,
    declaration: true,
    sourceMap: true,
    noEmitOnError: false,
    newLine: ts.NewLineKind.LineFeed,
  };
  const warnings: string[] = [];
  const configPath = join(cwd, "tsconfig.json");
  if (!existsSync(configPath)) return { options, warnings };
  const read = ts.readConfigFile(configPath, ts.sys.readFile);
  if (read.error) {
    warnings.push(
      `${configPath}: ${ts.flattenDiagnosticMessageText(read.error.messageText, "\n")} (ignored)`,
    );
    return { options, warnings };
  }
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, cwd, undefined, configPath);
  for (const d of parsed.errors) {
    // "No inputs were found" is expected: a notebook folder need not contain .ts files.
    if (d.code === 18003) continue;
    warnings.push(`${configPath}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
  }
  for (const [key, value] of Object.entries(parsed.options)) {
    if (fixedOptions.has(key)) {
      if (key !== "configFilePath")
        warnings.push(`${configPath}: "${key}" is fixed for notebook cells (ignored)`);
      continue;
    }
    options[key] = value;
  }
  return { options, warnings };
}
