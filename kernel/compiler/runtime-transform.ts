import ts from "typescript";
import { bindingIdentifiers, type CellAnalysis } from "./cell-analysis.js";

/**
 * The global through which emitted cell code reaches modules. It must provide:
 * - `loaded(specifier)`: the namespace of a module already loaded (synchronously);
 * - `load(specifier)`: a promise of a module namespace (for `import()` expressions).
 */
export const MODULES_GLOBAL = "__tsparallel_modules__";

/** What the transform found while rewriting: filled in as a side effect. */
export interface RuntimeShape {
  /** Module specifiers the cell imports at runtime (type-only imports are already erased). */
  imports: string[];
  /** Names the cell assigns as globals. */
  globals: string[];
}

const droppedModifiers = new Set([
  ts.SyntaxKind.ExportKeyword,
  ts.SyntaxKind.DefaultKeyword,
  ts.SyntaxKind.DeclareKeyword,
]);

function keptModifiers(node: ts.Node): ts.ModifierLike[] | undefined {
  if (!ts.canHaveModifiers(node)) return undefined;
  const kept = (ts.getModifiers(node) ?? []).filter((m) => !droppedModifiers.has(m.kind));
  const decorators = ts.canHaveDecorators(node) ? (ts.getDecorators(node) ?? []) : [];
  const all: ts.ModifierLike[] = [...decorators, ...kept];
  return all.length ? all : undefined;
}

function sameSpan(a: ts.Node, b: ts.Node | undefined): boolean {
  return b !== undefined && a.pos === b.pos && a.end === b.end && a.kind === b.kind;
}

/**
 * Turns an emitted ES module (the cell after TypeScript's own transforms) into a classic script
 * whose top-level names are globals of whatever global object runs it:
 *
 * ```js
 * var x, f, Box;                       // script-level vars: properties of the global object
 * (async function () {                 // `async` only when the cell awaits at top level
 *   "use strict";
 *   f = function f() { return x; };    // function declarations: hoisted assignments
 *   Box = __tsparallel_modules__.loaded("m").Box;   // imports: preloaded namespaces
 *   x = 1;                             // let/const/var/class: assignments in place
 *   return f();                        // the last expression statement is the cell's value
 * })()
 * ```
 *
 * References to names are never rewritten: a function's source (`fn.toString()`) runs unchanged
 * wherever its free names are globals (an engine's namespace). `import()` becomes
 * `__tsparallel_modules__.load()`. Names not declared by the cell itself (helpers, `using`
 * bindings) stay local to the wrapper.
 */
export function runtimeTransformer(
  analysis: CellAnalysis,
  shape: RuntimeShape,
): ts.TransformerFactory<ts.SourceFile> {
  const persistent = analysis.valueNames;
  return (context) => (sourceFile) => {
    const f = context.factory;
    const globals = new Set<string>();
    const imports = new Set<string>();
    const hoisted: ts.Statement[] = [];
    const reset = new Set<string>();

    const modulesCall = (method: "loaded" | "load", argument: ts.Expression) =>
      f.createCallExpression(
        f.createPropertyAccessExpression(f.createIdentifier(MODULES_GLOBAL), method),
        undefined,
        [argument],
      );

    const deep = <T extends ts.Node>(node: T): T => {
      const visitor = (n: ts.Node): ts.Node => {
        if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword) {
          const [specifier] = n.arguments;
          const call = modulesCall("load", specifier ? deep(specifier) : f.createIdentifier("undefined"));
          return ts.setTextRange(call, n);
        }
        return ts.visitEachChild(n, visitor, context);
      };
      return ts.visitEachChild(node, visitor, context);
    };
    const deepExpr = (e: ts.Expression): ts.Expression => {
      if (ts.isCallExpression(e) && e.expression.kind === ts.SyntaxKind.ImportKeyword) {
        return deep(f.createParenthesizedExpression(e)).expression;
      }
      return deep(e);
    };

    const assign = (name: string | ts.Expression, value: ts.Expression, range: ts.Node) => {
      const target = typeof name === "string" ? f.createIdentifier(name) : name;
      const statement = f.createExpressionStatement(f.createAssignment(target, value));
      return ts.setOriginalNode(ts.setTextRange(statement, range), range);
    };

    const toAssignmentTarget = (name: ts.BindingName): ts.Expression => {
      if (ts.isIdentifier(name)) return f.createIdentifier(name.text);
      if (ts.isObjectBindingPattern(name)) {
        return f.createObjectLiteralExpression(
          name.elements.map((el): ts.ObjectLiteralElementLike => {
            if (el.dotDotDotToken) return f.createSpreadAssignment(toAssignmentTarget(el.name));
            const init = el.initializer ? deepExpr(el.initializer) : undefined;
            if (!el.propertyName && ts.isIdentifier(el.name))
              return f.createShorthandPropertyAssignment(el.name.text, init);
            const target = toAssignmentTarget(el.name);
            const key = el.propertyName ?? (el.name as ts.Identifier);
            return f.createPropertyAssignment(
              ts.isComputedPropertyName(key) ? deep(key) : key,
              init ? f.createAssignment(target, init) : target,
            );
          }),
        );
      }
      return f.createArrayLiteralExpression(
        name.elements.map((el): ts.Expression => {
          if (ts.isOmittedExpression(el)) return f.createOmittedExpression();
          const target = toAssignmentTarget(el.name);
          if (el.dotDotDotToken) return f.createSpreadElement(target);
          return el.initializer ? f.createAssignment(target, deepExpr(el.initializer)) : target;
        }),
      );
    };

    const variableStatement = (statement: ts.VariableStatement): ts.Statement[] => {
      const list = statement.declarationList;
      const out: ts.Statement[] = [];
      let locals: ts.VariableDeclaration[] = [];
      const flush = () => {
        if (!locals.length) return;
        const decls = f.createVariableDeclarationList(locals.map(deep), list.flags);
        out.push(ts.setTextRange(f.createVariableStatement(keptModifiers(statement), decls), statement));
        locals = [];
      };
      const original = ts.getOriginalNode(statement);
      const resettable = ts.isEnumDeclaration(original) || ts.isModuleDeclaration(original);
      for (const d of list.declarations) {
        const names = bindingIdentifiers(d.name);
        if (!names.length || !names.every((n) => persistent.has(n))) {
          locals.push(d);
          continue;
        }
        flush();
        for (const n of names) globals.add(n);
        if (d.initializer) {
          out.push(assign(toAssignmentTarget(d.name), deepExpr(d.initializer), d));
        } else if (list.flags & (ts.NodeFlags.Let | ts.NodeFlags.Const)) {
          for (const n of names) out.push(assign(n, f.createVoidZero(), d));
        } else if (resettable) {
          // A cell's enum or namespace starts fresh instead of merging into an earlier cell's object.
          for (const n of names) {
            if (reset.has(n)) continue;
            reset.add(n);
            out.push(assign(n, f.createVoidZero(), d));
          }
        }
      }
      flush();
      return out;
    };

    const importStatement = (statement: ts.ImportDeclaration): ts.Statement[] => {
      if (!ts.isStringLiteral(statement.moduleSpecifier)) return [];
      const specifier = statement.moduleSpecifier.text;
      imports.add(specifier);
      const clause = statement.importClause;
      if (!clause) return []; // side effects ran when the module was preloaded
      const namespace = () => modulesCall("loaded", f.createStringLiteral(specifier));
      const out: ts.Statement[] = [];
      if (clause.name) {
        globals.add(clause.name.text);
        out.push(
          assign(clause.name.text, f.createPropertyAccessExpression(namespace(), "default"), statement),
        );
      }
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) {
        globals.add(bindings.name.text);
        out.push(assign(bindings.name.text, namespace(), statement));
      } else if (bindings) {
        for (const el of bindings.elements) {
          const member = el.propertyName ?? el.name;
          const access = ts.isIdentifier(member)
            ? f.createPropertyAccessExpression(namespace(), member.text)
            : f.createElementAccessExpression(namespace(), f.createStringLiteral(member.text));
          globals.add(el.name.text);
          out.push(assign(el.name.text, access, statement));
        }
      }
      return out;
    };

    const topLevel = (statement: ts.Statement): ts.Statement[] => {
      if (ts.isImportDeclaration(statement)) return importStatement(statement);
      if (ts.isExportDeclaration(statement)) return [];
      if (ts.isExportAssignment(statement)) {
        return statement.isExportEquals ? [] : [f.createExpressionStatement(deepExpr(statement.expression))];
      }
      if (ts.isVariableStatement(statement)) return variableStatement(statement);
      if (
        ts.isFunctionDeclaration(statement) &&
        statement.name &&
        statement.body &&
        persistent.has(statement.name.text)
      ) {
        const name = statement.name.text;
        globals.add(name);
        const asyncOnly = keptModifiers(statement)?.filter((m) => m.kind === ts.SyntaxKind.AsyncKeyword) as
          | ts.Modifier[]
          | undefined;
        const fn = f.createFunctionExpression(
          asyncOnly?.length ? asyncOnly : undefined,
          statement.asteriskToken,
          name,
          undefined,
          statement.parameters.map(deep),
          undefined,
          deep(statement.body),
        );
        hoisted.push(assign(name, ts.setTextRange(fn, statement), statement));
        return [];
      }
      if (ts.isClassDeclaration(statement) && statement.name && persistent.has(statement.name.text)) {
        const name = statement.name.text;
        globals.add(name);
        const cls = f.createClassExpression(
          keptModifiers(statement),
          name,
          undefined,
          statement.heritageClauses?.map(deep),
          statement.members.map(deep),
        );
        return [assign(name, ts.setTextRange(cls, statement), statement)];
      }
      return [deep(statement)];
    };

    // The cell's value: its last expression statement, wherever TypeScript's transforms put it
    // (a top-level `using` moves the rest of the cell into a try block).
    const returnLast = (all: ts.Statement[]): ts.Statement[] => {
      let end = all.length;
      while (end > 0 && all[end - 1]?.kind === ts.SyntaxKind.EmptyStatement) end--;
      const statements = all.slice(0, end);
      const last = statements.at(-1);
      if (!last || !analysis.lastExpression) return statements;
      if (ts.isExpressionStatement(last) && sameSpan(analysis.lastExpression, ts.getOriginalNode(last))) {
        const ret = ts.setTextRange(f.createReturnStatement(last.expression), last);
        return [...statements.slice(0, -1), ret];
      }
      if (ts.isTryStatement(last)) {
        const block = f.updateBlock(last.tryBlock, returnLast([...last.tryBlock.statements]));
        return [
          ...statements.slice(0, -1),
          f.updateTryStatement(last, block, last.catchClause, last.finallyBlock),
        ];
      }
      return statements;
    };

    const body = sourceFile.statements.flatMap(topLevel);
    const inner = [
      f.createExpressionStatement(f.createStringLiteral("use strict")),
      ...hoisted,
      ...returnLast(body),
    ];
    const wrapper = f.createFunctionExpression(
      analysis.hasTopLevelAwait ? [f.createModifier(ts.SyntaxKind.AsyncKeyword)] : undefined,
      undefined,
      undefined,
      undefined,
      [],
      undefined,
      f.createBlock(inner, true),
    );
    const script: ts.Statement[] = [];
    if (globals.size) {
      const decls = [...globals].map((n) => f.createVariableDeclaration(n));
      script.push(
        f.createVariableStatement(undefined, f.createVariableDeclarationList(decls, ts.NodeFlags.None)),
      );
    }
    script.push(
      f.createExpressionStatement(
        f.createCallExpression(f.createParenthesizedExpression(wrapper), undefined, []),
      ),
    );
    shape.imports = [...imports];
    shape.globals = [...globals];
    return f.updateSourceFile(sourceFile, script);
  };
}
