import ts from "typescript";

/** A cell read as one parenthesized expression: the text to compile and how far it moved the code. */
export interface ObjectLiteralCell {
  /** `(` + the cell + `\n)`: the newline keeps a trailing line comment from hiding the `)`. */
  text: string;
  /** Characters added before the cell's first character (columns of its first line move by this). */
  shift: number;
}

/**
 * Reads a cell that starts with `{` as an object literal when it can be one. `{ a: 1, b: 2 }`
 * parses as a block (with a label `a`), which is a syntax error or a value nobody meant; Node's
 * REPL and browser consoles show the object, and so do we: when the cell, wrapped in parentheses,
 * is a single expression without syntax errors, that expression is the cell. A real block
 * (`{ const a = 1; console.log(a) }`) is not an expression, and stays a block (undefined here).
 */
export function objectLiteralCell(code: string): ObjectLiteralCell | undefined {
  if (!/^\s*\{/.test(code)) return undefined;
  const text = `(${code}\n)`;
  const file = ts.createSourceFile("cell.mts", text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const [only] = file.statements;
  if (
    file.statements.length !== 1 ||
    !only ||
    !ts.isExpressionStatement(only) ||
    !ts.isParenthesizedExpression(only.expression) ||
    only.expression.getStart(file) !== 0 ||
    only.expression.end !== text.length
  ) {
    return undefined;
  }
  // The parser recovers from errors (a block's `const` read as a property name, …): only a cell
  // that parses cleanly, wrapped, is an expression.
  const checked = ts.transpileModule(text, {
    fileName: "cell.mts",
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  });
  if (checked.diagnostics?.length) return undefined;
  // `{ x = x + 1 }` parses as an object with a shorthand initializer, which only a destructuring
  // target may have; the checker, not the parser, says so. As a block it is an assignment.
  const assigns =
    ts.isBinaryExpression(only.expression.expression) &&
    only.expression.expression.operatorToken.kind === ts.SyntaxKind.EqualsToken;
  if (!assigns && hasShorthandInitializer(only.expression)) return undefined;
  return { text, shift: 1 };
}

/** True when `node` holds a shorthand property with an initializer (`{ a = 1 }`). */
function hasShorthandInitializer(node: ts.Node): boolean {
  if (ts.isShorthandPropertyAssignment(node) && node.objectAssignmentInitializer) return true;
  return ts.forEachChild(node, hasShorthandInitializer) ?? false;
}
