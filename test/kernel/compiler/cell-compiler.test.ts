import assert from "node:assert/strict";
import { SourceMap, type SourceMapPayload } from "node:module";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { CellCompiler, type CompiledCell } from "../../../kernel/compiler/cell-compiler.js";
import { isCompleteCode } from "../../../kernel/compiler/completeness.js";
import { DeclarationError } from "../../../kernel/compiler/errors.js";

const notebookDir = fileURLToPath(new URL("../../../../test/fixtures/notebook-packages", import.meta.url));
// Two chains in one folder, as the kernel will have for its own namespace and the engines' (%px).
const kernel = new CellCompiler({ cwd: notebookDir, chain: "kernel-test" });
const engines = new CellCompiler({ cwd: notebookDir, chain: "engines-test" });

function compiled(compiler: CellCompiler, code: string): CompiledCell {
  const r = compiler.compile(code);
  assert.ok(r.ok, `expected ${JSON.stringify(code)} to compile: ${JSON.stringify(!r.ok && r.diagnostics)}`);
  return r.cell;
}

/** Runs a compiled cell the way an engine does: a plain vm context whose global is the namespace. */
function runInEngine(
  cell: CompiledCell,
  namespace: Record<string, unknown>,
  modules: Record<string, unknown> = {},
) {
  namespace.__tsparallel_modules__ = {
    loaded: (specifier: string) => modules[specifier],
    load: async (specifier: string) => modules[specifier],
  };
  const context = vm.isContext(namespace) ? namespace : vm.createContext(namespace);
  return vm.runInContext(cell.js, context);
}

test("two declaration chains are independent", () => {
  kernel.commit(compiled(kernel, "const onlyInKernel = 1;"));
  const r = engines.compile("onlyInKernel + 1");
  assert.equal(r.ok, false);
  assert.match(JSON.stringify(!r.ok && r.diagnostics), /Cannot find name 'onlyInKernel'/);
  assert.ok(kernel.declaredNames().includes("onlyInKernel"));
  assert.ok(!engines.declaredNames().includes("onlyInKernel"));
});

test("declare adds a typed value to a chain without code", () => {
  engines.declare("pushedA", "Float64Array");
  assert.ok(compiled(engines, "pushedA.length"));
  const bad = engines.compile("const s: string = pushedA;");
  assert.equal(bad.ok, false);
  assert.throws(() => engines.declare("not valid", "number"), DeclarationError);
  assert.throws(() => engines.declare("okName", "number; let x = 1"), DeclarationError);
});

test("emitted JS runs in a plain vm context whose global object is the namespace", () => {
  engines.declare("rank", "number");
  const cell = compiled(
    engines,
    "const scaled = [1, 2, 3].map((v) => v * (rank + 1));\nfunction sumAll() { return scaled.reduce((a, b) => a + b, 0); }\nsumAll()",
  );
  engines.commit(cell);
  const ns0: Record<string, unknown> = { rank: 0 };
  const ns1: Record<string, unknown> = { rank: 1 };
  assert.equal(runInEngine(cell, ns0), 6);
  assert.equal(runInEngine(cell, ns1), 12);
  assert.deepEqual(Array.from(ns1.scaled as number[]), [2, 4, 6]);
  // A function's source runs unchanged against another namespace's globals.
  const source = String(ns1.sumAll);
  const other = vm.createContext({ scaled: [10, 20] });
  assert.equal(vm.runInContext(`(${source})()`, other), 30);
});

test("imports in emitted JS go through the modules global, in order, and type-only imports are erased", () => {
  const cell = compiled(
    engines,
    `import type { ParsedPath } from "node:path";\nimport { join } from "node:path";\nconst p: ParsedPath | null = null;\njoin("a", "b")`,
  );
  assert.deepEqual(cell.imports, ["node:path"]);
  assert.doesNotMatch(cell.js, /\bimport\b/);
  assert.equal(
    runInEngine(cell, {}, { "node:path": { join: (a: string, b: string) => `${a}+${b}` } }),
    "a+b",
  );
});

test("a cell with top-level await compiles to a script whose value is a promise", async () => {
  const cell = compiled(engines, "const w = await Promise.resolve(3);\nw * 2");
  assert.equal(cell.isAsync, true);
  const ns: Record<string, unknown> = {};
  assert.equal(await runInEngine(cell, ns), 6);
  assert.equal(ns.w, 3);
});

test("declareStatements adds interfaces and functions to a chain", () => {
  engines.declareStatements(
    "interface EngineInfo { id: number }\ndeclare function engineInfo(): EngineInfo;",
  );
  assert.ok(compiled(engines, "const info: EngineInfo = engineInfo();\ninfo.id"));
});

test("a cell that is an object literal is that object; a block that is a real block stays one", () => {
  const literal = compiled(kernel, "{ a: 1, b: 2 }");
  assert.equal(literal.hasValue, true);
  // Compared as JSON: the objects come from another realm (the vm context).
  assert.equal(JSON.stringify(runInEngine(literal, {})), '{"a":1,"b":2}');
  const multiLine = compiled(kernel, '{\n  name: "x",\n  values: [1, 2],\n} // shown as an object');
  assert.equal(JSON.stringify(runInEngine(multiLine, {})), '{"name":"x","values":[1,2]}');
  const logged: unknown[] = [];
  kernel.declare("log", "(value: unknown) => void");
  const block = compiled(kernel, "{ const a = 1; log(a) }");
  assert.equal(block.hasValue, false);
  assert.equal(runInEngine(block, { log: (v: unknown) => logged.push(v) }), undefined);
  assert.deepEqual(logged, [1]);
  // A block whose only statement is an assignment also parses as an object with a shorthand
  // initializer, which no object literal may have: it stays a block (as %px { x = x + 1 } does).
  kernel.declare("counter", "number");
  const assignment = compiled(kernel, "{ counter = counter + 1 }");
  const scope = { counter: 41 };
  runInEngine(assignment, scope);
  assert.equal(scope.counter, 42);
  const destructuring = compiled(kernel, "{ counter = 7 } = {} as { counter?: number }");
  runInEngine(destructuring, scope);
  assert.equal(scope.counter, 7);
});

test("an object literal cell's type errors and source map point at the cell as written", () => {
  const r = kernel.compile('{ a: 1 as string,\n  b: "two" as number }');
  assert.equal(r.ok, false);
  const at = !r.ok ? r.diagnostics.map((d) => [d.line, d.column, d.code]) : [];
  assert.deepEqual(at, [
    [1, 6, 2352],
    [2, 6, 2352],
  ]);
  const cell = compiled(kernel, '{ a: JSON.parse("1"),\n  b: 2 }');
  const map = new SourceMap(JSON.parse(cell.sourceMap) as SourceMapPayload);
  const lines = cell.js.split("\n");
  const generated = lines.findIndex((l) => l.includes("JSON.parse"));
  const original = (line: number, column: number) => {
    const entry = map.findEntry(line, column);
    return "originalLine" in entry ? [entry.originalLine, entry.originalColumn] : [];
  };
  assert.deepEqual(original(generated, lines[generated]!.indexOf("JSON")), [0, 5]);
  const b = lines.findIndex((l) => /\bb: 2/.test(l));
  assert.deepEqual(original(b, lines[b]!.indexOf("b: 2")), [1, 2]);
});

test("warming up lets the event loop run between its steps, and a cell compiles meanwhile", async () => {
  const fresh = new CellCompiler({ cwd: notebookDir, chain: "warm-test" });
  let turns = 0;
  let warm = false;
  let compiledMeanwhile = false;
  const turn = () => {
    turns++;
    // Halfway through, a cell needs the compiler: it does what is left itself.
    if (turns === 50) compiledMeanwhile = fresh.compile("const during: number = 1;\nduring").ok;
    if (!warm) setImmediate(turn);
  };
  setImmediate(turn);
  await fresh.warmUp();
  warm = true;
  // One turn or more per library file (lib.*.d.ts and @types/node: over a hundred files).
  assert.ok(turns > 100, `the event loop ran ${turns} times during the warm-up`);
  assert.equal(compiledMeanwhile, true);
  assert.ok(compiled(fresh, "[1, 2].map((x) => x * 2)"));
  fresh.dispose();
});

test("a compiler disposed while it warms up stops warming, without an error", async () => {
  const fresh = new CellCompiler({ cwd: notebookDir, chain: "disposed-test" });
  const warming = fresh.warmUp();
  await new Promise((resolve) => setImmediate(resolve));
  fresh.dispose();
  await warming;
});

test("compile rejects a cell longer than the limit with a clear error", () => {
  const small = new CellCompiler({ cwd: notebookDir, chain: "small-test", maxCellLength: 100 });
  assert.throws(() => small.compile("x".repeat(101)), /cells are limited to/);
  small.dispose();
});

test("isCompleteCode handles open strings, comments and brackets", () => {
  assert.equal(isCompleteCode("/* open comment").status, "incomplete");
  assert.equal(isCompleteCode("const x = [1,\n  2,").status, "incomplete");
  assert.equal(isCompleteCode("const f = () =>").status, "incomplete");
  assert.deepEqual(isCompleteCode("let a = 1)"), { status: "invalid" });
  assert.deepEqual(isCompleteCode("  if (a) {\n    b();\n  }"), { status: "complete" });
});

test.after(() => {
  kernel.dispose();
  engines.dispose();
});
