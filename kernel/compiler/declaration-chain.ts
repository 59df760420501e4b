import ts from "typescript";

/** Which namespaces of TypeScript a declaration occupies; a later cell replaces only what it overlaps. */
export const Meaning = { Value: 1, Type: 2, Namespace: 4, All: 7 } as const;

/** Where an imported name comes from: `member` is an export name, "default", or "*" (namespace import). */
interface ImportSource {
  specifier: string;
  member: string;
}

/** One declaration of a name, as it will sit inside the chain's `declare global { … }` block. */
interface ChainStatement {
  meanings: number;
  /** Declaration text without `declare`/`export` modifiers; unused for imports. */
  text: string;
  /** Set for imported names: rendered as `export import X = <module alias>.member`. */
  imported?: ImportSource;
}

/** The files a chain renders to: the global declarations and the module that re-exports defaults. */
export interface RenderedChain {
  declarations: string;
  defaults: string;
}

/** Removes `declare`, `export` and `default` modifiers from a statement's text, keeping its JSDoc. */
function statementText(statement: ts.Statement, sourceFile: ts.SourceFile): string {
  const full = statement.getFullText(sourceFile);
  const base = statement.getFullStart();
  const modifiers = ts.canHaveModifiers(statement) ? (ts.getModifiers(statement) ?? []) : [];
  let text = "";
  let at = 0;
  for (const m of modifiers) {
    if (
      m.kind !== ts.SyntaxKind.DeclareKeyword &&
      m.kind !== ts.SyntaxKind.ExportKeyword &&
      m.kind !== ts.SyntaxKind.DefaultKeyword
    )
      continue;
    const start = m.getStart(sourceFile) - base;
    text += full.slice(at, start);
    at = m.end - base;
    while (at < full.length && /\s/.test(full[at] ?? "")) at++;
  }
  return (text + full.slice(at)).replace(/^\s*\n/, "").trimEnd();
}

function leadingJsDoc(statement: ts.Statement, sourceFile: ts.SourceFile): string {
  const full = sourceFile.text.slice(statement.getFullStart(), statement.getStart(sourceFile));
  const match = full.match(/\/\*\*[\s\S]*?\*\/\s*$/);
  return match ? `${match[0].trim()}\n` : "";
}

/** Splits a `.d.ts` text (a cell's declaration emit) into statements grouped by the name they declare. */
export function parseDeclarations(dtsText: string): Map<string, ChainStatement[]> {
  const sourceFile = ts.createSourceFile(
    "cell.d.mts",
    dtsText,
    ts.ScriptTarget.ES2022,
    true,
    ts.ScriptKind.TS,
  );
  const byName = new Map<string, ChainStatement[]>();
  const add = (name: string, statement: ChainStatement) => {
    const list = byName.get(name) ?? [];
    list.push(statement);
    byName.set(name, list);
  };
  const visit = (statements: readonly ts.Statement[]) => {
    for (const s of statements) {
      if (ts.isImportDeclaration(s) && s.importClause && ts.isStringLiteral(s.moduleSpecifier)) {
        const specifier = s.moduleSpecifier.text;
        const clause = s.importClause;
        if (clause.name)
          add(clause.name.text, {
            meanings: Meaning.All,
            text: "",
            imported: { specifier, member: "default" },
          });
        const bindings = clause.namedBindings;
        if (bindings && ts.isNamespaceImport(bindings)) {
          add(bindings.name.text, { meanings: Meaning.All, text: "", imported: { specifier, member: "*" } });
        } else if (bindings) {
          for (const el of bindings.elements) {
            const member = (el.propertyName ?? el.name).text;
            add(el.name.text, { meanings: Meaning.All, text: "", imported: { specifier, member } });
          }
        }
      } else if (ts.isVariableStatement(s)) {
        const list = s.declarationList;
        const keyword =
          list.flags & ts.NodeFlags.Const ? "const" : list.flags & ts.NodeFlags.Let ? "let" : "var";
        const doc = list.declarations.length === 1 ? leadingJsDoc(s, sourceFile) : "";
        for (const d of list.declarations) {
          if (!ts.isIdentifier(d.name)) continue;
          add(d.name.text, { meanings: Meaning.Value, text: `${doc}${keyword} ${d.getText(sourceFile)};` });
        }
      } else if (ts.isModuleDeclaration(s) && s.flags & ts.NodeFlags.GlobalAugmentation) {
        if (s.body && ts.isModuleBlock(s.body)) visit(s.body.statements);
      } else if (
        (ts.isFunctionDeclaration(s) ||
          ts.isClassDeclaration(s) ||
          ts.isEnumDeclaration(s) ||
          ts.isInterfaceDeclaration(s) ||
          ts.isTypeAliasDeclaration(s) ||
          ts.isModuleDeclaration(s)) &&
        s.name &&
        ts.isIdentifier(s.name)
      ) {
        const meanings = ts.isFunctionDeclaration(s)
          ? Meaning.Value
          : ts.isClassDeclaration(s) || ts.isEnumDeclaration(s)
            ? Meaning.Value | Meaning.Type
            : ts.isModuleDeclaration(s)
              ? Meaning.Value | Meaning.Namespace
              : Meaning.Type;
        add(s.name.text, { meanings, text: statementText(s, sourceFile) });
      }
      // export { … } / export = / anything else: nothing to persist.
    }
  };
  visit(sourceFile.statements);
  return byName;
}

/**
 * The accumulated declarations of one namespace (the kernel's, or the engines' for `%px`), rendered
 * as a module whose `declare global { … }` block holds every name earlier cells left behind. A cell
 * is compiled as a module next to it, so the cell's own names shadow these and may redeclare them.
 */
export class DeclarationChain {
  readonly #names = new Map<string, ChainStatement[]>();
  readonly #sources = new Map<string, string>();
  #version = 0;

  /** Increases whenever the rendered text changes. */
  get version(): number {
    return this.#version;
  }

  /** The names the chain currently declares. */
  names(): string[] {
    return [...this.#names.keys()];
  }

  /**
   * Merges a cell's declaration emit into the chain. Each name's new statements replace the old
   * statements they overlap in meaning (value, type, namespace); `accept` limits which names merge
   * (a failed cell only keeps what it assigned).
   */
  merge(dtsText: string, accept: (name: string) => boolean = () => true): void {
    const incoming = parseDeclarations(dtsText);
    for (const [name, statements] of incoming) {
      if (!accept(name)) continue;
      this.#replace(name, statements);
    }
    this.#version++;
  }

  /** Remembers the source a name was declared with (for inspection). */
  recordSource(name: string, source: string): void {
    this.#sources.set(name, source);
  }

  /** The source a cell declared `name` with, if a cell did. */
  sourceOf(name: string): string | undefined {
    return this.#names.has(name) ? this.#sources.get(name) : undefined;
  }

  /** Declares a value with a TypeScript type, e.g. `declare("a", "Float64Array")` after a push. */
  declareValue(name: string, typeText: string, keyword: "const" | "let" | "var" = "var"): void {
    this.#replace(name, [{ meanings: Meaning.Value, text: `${keyword} ${name}: ${typeText};` }]);
    this.#version++;
  }

  /** Adds declaration statements (`interface P { … }`, `function f(): void;`) as if a cell had declared them. */
  declareStatements(text: string): void {
    this.merge(text);
  }

  #replace(name: string, statements: ChainStatement[]): void {
    const meanings = statements.reduce((m, s) => m | s.meanings, 0);
    const kept: ChainStatement[] = [];
    for (const old of this.#names.get(name) ?? []) {
      if ((old.meanings & meanings) === 0) kept.push(old);
      else if (old.meanings & Meaning.Value && !(meanings & Meaning.Value)) {
        // A class or enum whose type is redeclared keeps its runtime value, now untyped.
        kept.push({ meanings: Meaning.Value, text: `var ${name}: any;` });
      }
    }
    this.#names.set(name, [...kept, ...statements]);
  }

  /** Renders the chain; `defaultsModule` is the import path of the file `defaults` is served as. */
  render(defaultsModule: string): RenderedChain {
    const moduleAliases = new Map<string, string>();
    const defaultAliases = new Map<string, string>();
    const body: string[] = [];
    for (const [name, statements] of this.#names) {
      for (const s of statements) {
        if (!s.imported) {
          body.push(s.text);
          continue;
        }
        const { specifier, member } = s.imported;
        if (member === "default") {
          const alias = defaultAliases.get(specifier) ?? `d${defaultAliases.size}`;
          defaultAliases.set(specifier, alias);
          body.push(`export import ${name} = __tsp_defaults.${alias};`);
          continue;
        }
        const alias = moduleAliases.get(specifier) ?? `__tsp_m${moduleAliases.size}`;
        moduleAliases.set(specifier, alias);
        body.push(`export import ${name} = ${member === "*" ? alias : `${alias}.${member}`};`);
      }
    }
    const imports = [...moduleAliases].map(
      ([spec, alias]) => `import * as ${alias} from ${JSON.stringify(spec)};`,
    );
    if (defaultAliases.size)
      imports.push(`import * as __tsp_defaults from ${JSON.stringify(defaultsModule)};`);
    const defaults = [...defaultAliases]
      .map(([spec, alias]) => `export { default as ${alias} } from ${JSON.stringify(spec)};`)
      .join("\n");
    const declarations = `${imports.join("\n")}\ndeclare global {\n${body.join("\n")}\n}\nexport {};\n`;
    return { declarations, defaults: `${defaults}\nexport {};\n` };
  }
}
