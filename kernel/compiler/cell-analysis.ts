import ts from "typescript";

/** What a cell declares at its top level, read from its syntax alone (no type checker). */
export interface CellAnalysis {
  /** Names with a runtime value that become globals: variables, functions, classes, enums, namespaces, imports. */
  valueNames: Set<string>;
  /** Every top-level name the declaration chain should learn about (values and types). */
  declaredNames: Set<string>;
  /** `using` / `await using` bindings: scoped to the cell, never persisted. */
  usingNames: Set<string>;
  /** Names the cell already exports itself (`export const a = 1`). */
  exportedNames: Set<string>;
  /** True when `await` (or `for await`, `await using`) appears outside any function. */
  hasTopLevelAwait: boolean;
  /** The last statement when it is an expression statement: its value is the cell's result. */
  lastExpression: ts.ExpressionStatement | undefined;
  /** The parsed cell (parents set). */
  sourceFile: ts.SourceFile;
}

/** Collects the identifiers a binding name introduces (`a`, `{ b, c: [d] }`, `...rest`). */
export function bindingIdentifiers(name: ts.BindingName, out: string[] = []): string[] {
  if (ts.isIdentifier(name)) out.push(name.text);
  else {
    for (const element of name.elements) {
      if (ts.isBindingElement(element)) bindingIdentifiers(element.name, out);
    }
  }
  return out;
}

function isUsing(list: ts.VariableDeclarationList): boolean {
  // Flags.Using = 4, AwaitUsing = 6 (Using | Const): test the Using bit.
  return (list.flags & ts.NodeFlags.Using) !== 0;
}

function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
}

function containsTopLevelAwait(node: ts.Node): boolean {
  let found = false;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (ts.isFunctionLike(n) || ts.isClassLike(n)) {
      // Class bodies: computed keys and static blocks cannot await at top level; skip them whole.
      return;
    }
    if (ts.isAwaitExpression(n)) found = true;
    else if (ts.isForOfStatement(n) && n.awaitModifier) found = true;
    else if (
      ts.isVariableDeclarationList(n) &&
      (n.flags & ts.NodeFlags.AwaitUsing) === ts.NodeFlags.AwaitUsing
    )
      found = true;
    else ts.forEachChild(n, visit);
  };
  visit(node);
  return found;
}

/**
 * Reads a cell's top-level declarations. `fileName` only decides the script kind (`.mts`: an ES
 * module, so top-level await parses).
 */
export function analyzeCell(code: string, fileName = "cell.mts"): CellAnalysis {
  const sourceFile = ts.createSourceFile(fileName, code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const valueNames = new Set<string>();
  const declaredNames = new Set<string>();
  const usingNames = new Set<string>();
  const exportedNames = new Set<string>();
  let hasTopLevelAwait = false;

  const addValue = (name: string) => {
    valueNames.add(name);
    declaredNames.add(name);
  };

  for (const statement of sourceFile.statements) {
    if (!hasTopLevelAwait && containsTopLevelAwait(statement)) hasTopLevelAwait = true;
    const ambient = hasModifier(statement, ts.SyntaxKind.DeclareKeyword);
    const before = new Set(declaredNames);
    if (ts.isVariableStatement(statement)) {
      const names = statement.declarationList.declarations.flatMap((d) => bindingIdentifiers(d.name));
      if (isUsing(statement.declarationList)) for (const n of names) usingNames.add(n);
      else for (const n of names) ambient ? declaredNames.add(n) : addValue(n);
    } else if (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) {
      if (statement.name) ambient ? declaredNames.add(statement.name.text) : addValue(statement.name.text);
    } else if (ts.isEnumDeclaration(statement)) {
      const isConst = hasModifier(statement, ts.SyntaxKind.ConstKeyword);
      ambient || isConst ? declaredNames.add(statement.name.text) : addValue(statement.name.text);
    } else if (ts.isModuleDeclaration(statement)) {
      // `declare global { … }` and `declare module "x" { … }` are not names of the cell.
      if (ts.isIdentifier(statement.name) && !(statement.flags & ts.NodeFlags.GlobalAugmentation)) {
        ambient ? declaredNames.add(statement.name.text) : addValue(statement.name.text);
      }
    } else if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
      declaredNames.add(statement.name.text);
    } else if (ts.isImportDeclaration(statement) && statement.importClause) {
      const clause = statement.importClause;
      const typeOnly = clause.isTypeOnly;
      const add = (n: string, elementTypeOnly: boolean) =>
        typeOnly || elementTypeOnly ? declaredNames.add(n) : addValue(n);
      if (clause.name) add(clause.name.text, false);
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) add(bindings.name.text, false);
      else if (bindings) for (const el of bindings.elements) add(el.name.text, el.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(statement)) {
      addValue(statement.name.text);
    }
    if (hasModifier(statement, ts.SyntaxKind.ExportKeyword)) {
      for (const n of declaredNames) if (!before.has(n)) exportedNames.add(n);
    }
  }
  const last = sourceFile.statements.at(-1);
  return {
    valueNames,
    declaredNames,
    usingNames,
    exportedNames,
    hasTopLevelAwait,
    lastExpression: last && ts.isExpressionStatement(last) ? last : undefined,
    sourceFile,
  };
}

/** Each top-level declared name's statement text (the statement that declares it, JSDoc included). */
export function topLevelSources(analysis: CellAnalysis): Record<string, string> {
  const sources: Record<string, string> = {};
  const { sourceFile } = analysis;
  for (const statement of sourceFile.statements) {
    const single = analyzeStatementNames(statement);
    if (!single.length) continue;
    const text = sourceFile.text.slice(statement.getFullStart(), statement.end).trim();
    for (const name of single) {
      if (analysis.declaredNames.has(name))
        sources[name] = sources[name] ? `${sources[name]}\n${text}` : text;
    }
  }
  return sources;
}

function analyzeStatementNames(statement: ts.Statement): string[] {
  if (ts.isVariableStatement(statement)) {
    return statement.declarationList.declarations.flatMap((d) => bindingIdentifiers(d.name));
  }
  if (
    (ts.isFunctionDeclaration(statement) ||
      ts.isClassDeclaration(statement) ||
      ts.isEnumDeclaration(statement) ||
      ts.isInterfaceDeclaration(statement) ||
      ts.isTypeAliasDeclaration(statement) ||
      ts.isModuleDeclaration(statement)) &&
    statement.name &&
    ts.isIdentifier(statement.name)
  ) {
    return [statement.name.text];
  }
  return [];
}
