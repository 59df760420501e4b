import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { CellError, CellOutcome } from "../../kernel/code-session.js";
import { TypeScriptSession } from "../../kernel/typescript-session.js";

// One session for the file: cells build on each other like a notebook. Names are unique per test.
const notebookDir = fileURLToPath(new URL("../../../test/fixtures/notebook-packages", import.meta.url));
const session = new TypeScriptSession({ cwd: notebookDir });
const signal = new AbortController().signal;
const g = globalThis as Record<string, unknown>;

before(async () => {
  await session.warmUp();
});
after(() => session.dispose());

async function run(code: string, opts = { signal }): Promise<CellOutcome> {
  return session.execute(code, opts);
}

async function value(code: string): Promise<unknown> {
  const outcome = await run(code);
  assert.equal(
    outcome.status,
    "ok",
    `expected ok for ${JSON.stringify(code)}, got ${JSON.stringify(outcome)}`,
  );
  return outcome.status === "ok" ? outcome.result?.value : undefined;
}

async function failure(code: string): Promise<CellError> {
  const outcome = await run(code);
  assert.equal(outcome.status, "error", `expected an error for ${JSON.stringify(code)}`);
  if (outcome.status !== "error") throw new Error("unreachable");
  return outcome.error;
}

async function compileError(code: string, pattern: RegExp): Promise<CellError> {
  const error = await failure(code);
  assert.equal(error.ename, "CompileError", JSON.stringify(error));
  assert.match(error.evalue, pattern);
  return error;
}

// ---- declarations persist and may be redeclared -------------------------------------------------

test("a const can be redeclared in a later cell with a different type", async () => {
  assert.equal(await value("const redeclA = 1;\nredeclA + 1"), 2);
  assert.equal(await value(`const redeclA = "one";\nredeclA.toUpperCase()`), "ONE");
  await compileError("const redeclAn: number = redeclA;", /not assignable to type 'number'/);
});

test("a let keeps its value across cells, can be reassigned, and can be redeclared", async () => {
  await value("let counterB = 1;");
  assert.equal(await value("counterB += 1;\ncounterB"), 2);
  assert.equal(await value("let counterB = [1, 2, 3];\ncounterB.length"), 3);
  await compileError("counterB = 5;", /not assignable to type 'number\[\]'/);
});

test("a var persists and can be redeclared with another type", async () => {
  await value("var legacyC = 10;");
  assert.equal(await value("legacyC * 2"), 20);
  assert.equal(await value(`var legacyC = { v: "x" };\nlegacyC.v`), "x");
});

test("a function can be redeclared with a different signature", async () => {
  assert.equal(await value("function twiceD(x: number) { return x * 2; }\ntwiceD(4)"), 8);
  assert.equal(await value(`function twiceD(s: string) { return s + s; }\ntwiceD("ab")`), "abab");
  await compileError("twiceD(3)", /not assignable to parameter of type 'string'/);
});

test("a class is usable in later cells (instanceof included) and can be redeclared", async () => {
  await value(
    "class PointE { constructor(public x: number, public y: number) {} norm() { return Math.hypot(this.x, this.y); } }",
  );
  assert.equal(await value("const pe = new PointE(3, 4);\npe.norm()"), 5);
  assert.equal(await value("pe instanceof PointE"), true);
  await value("class PointE { z = 7 }");
  assert.equal(await value("new PointE().z"), 7);
  await compileError("new PointE(1, 2)", /Expected 0 arguments/);
});

test("an interface can be redeclared with different members", async () => {
  await value("interface ShapeF { area: number }\nconst sf1: ShapeF = { area: 2 };");
  await value('interface ShapeF { name: string }\nconst sf2: ShapeF = { name: "sq" };');
  await compileError("const sf3: ShapeF = { area: 1 };", /'area' does not exist in type 'ShapeF'/);
});

test("a type alias can be redeclared", async () => {
  await value("type IdG = number;\nconst idg1: IdG = 1;");
  // biome-ignore lint/suspicious/noTemplateCurlyInString: TypeScript source with a template literal type
  await value('type IdG = `id-${string}`;\nconst idg2: IdG = "id-7";');
  await compileError("const idg3: IdG = 7;", /not assignable to type '`id-\$\{string\}`'/);
});

test("an enum works across cells and a redeclared enum starts fresh", async () => {
  await value("enum ColorH { Red, Green }");
  assert.equal(await value("ColorH.Green"), 1);
  assert.equal(await value("ColorH[0]"), "Red");
  await value(`enum ColorH { Blue = "b" }`);
  assert.equal(await value("ColorH.Blue"), "b");
  assert.equal(await value("Object.keys(ColorH).join()"), "Blue");
  await compileError("ColorH.Red", /Property 'Red' does not exist/);
});

test("a namespace works across cells and can be redeclared", async () => {
  await value(
    "namespace GeoI { export const unit = 2; export function scale(x: number) { return x * unit; } }",
  );
  assert.equal(await value("GeoI.scale(5)"), 10);
  await value('namespace GeoI { export const label = "geo"; }');
  assert.equal(await value("GeoI.label"), "geo");
  await compileError("GeoI.scale(1)", /Property 'scale' does not exist/);
});

test("an imported name persists and can be redeclared by another import", async () => {
  await value(`import { basename as pickJ } from "node:path";`);
  assert.equal(await value(`pickJ("/a/b.txt")`), "b.txt");
  await value(`import { extname as pickJ } from "node:path";`);
  assert.equal(await value(`pickJ("/a/b.txt")`), ".txt");
});

test("generic functions and classes keep their type parameters across cells", async () => {
  await value(
    "function firstK<T>(xs: T[]): T { return xs[0]!; }\nclass StackK<T> { items: T[] = []; push(x: T) { this.items.push(x); return this; } }",
  );
  assert.deepEqual(await value("const sk = new StackK<number>().push(1).push(2);\nsk.items"), [1, 2]);
  assert.equal(await value('const fk: string = firstK(["a", "b"]);\nfk'), "a");
  await compileError('sk.push("x")', /not assignable to parameter of type 'number'/);
});

test("a type-only import gives a type in later cells and no runtime value", async () => {
  await value(`import type { ParsedPath } from "node:path";`);
  assert.equal(
    await value(`const ppL: ParsedPath = { root: "/", dir: "/", base: "a", ext: "", name: "a" };\nppL.base`),
    "a",
  );
  assert.equal(g.ParsedPath, undefined);
  await compileError(`const ppL2: ParsedPath = { root: "/" };`, /missing the following properties/);
});

test("top-level object and array destructuring declare globals with their types", async () => {
  await value("const { daM, dbM: [dcM, ...restM] } = { daM: 1, dbM: [2, 3, 4] };");
  assert.equal(await value("daM + dcM + restM.length"), 5);
  assert.deepEqual(await value("const restCopyM: number[] = restM;\nrestCopyM"), [3, 4]);
  await compileError("const badM: string = daM;", /not assignable to type 'string'/);
});

test("a function can be called before its declaration in the same cell", async () => {
  assert.equal(
    await value("const hoistN = laterN(2);\nfunction laterN(x: number) { return x + 1; }\nhoistN"),
    3,
  );
});

test("top-level await works and the awaited value persists", async () => {
  assert.equal(await value("const awaitedO = await Promise.resolve(21);\nawaitedO * 2"), 42);
  assert.equal(await value("awaitedO"), 21);
});

test("cell-level names are real globals of the main realm", async () => {
  await value(
    "const realmP = [1, 2];\nconst typedP = new Float64Array(2);\nfunction freeP() { return realmP.length; }",
  );
  // biome-ignore lint/suspicious/useIsArray: instanceof is the point: the array must be of this realm
  assert.ok(Array.isArray(g.realmP) && g.realmP instanceof Array);
  assert.ok(g.typedP instanceof Float64Array);
  // The function's source refers to the global by name, so it runs unchanged elsewhere.
  const source = String(g.freeP);
  assert.match(source, /return realmP\.length/);
  assert.doesNotMatch(source, /exports/);
  g.realmP = [1, 2, 3];
  assert.equal(await value("freeP()"), 3);
});

// ---- errors --------------------------------------------------------------------------------------

test("a type error reports the cell line and column and the cell does not run", async () => {
  const error = await compileError(`const okQ1 = 1;\nconst okQ2 = 2;\nconst errQ: number = "x";`, /^3:7 /);
  assert.match(error.traceback.join("\n"), /cell \d+:3:7 - error TS2322/);
  assert.equal(g.okQ1, undefined);
});

test("a runtime error inside a function from an earlier cell maps to that cell's line", async () => {
  await value(`function throwerR(x: number) {\n  const y = x + 1;\n  throw new RangeError("deep " + y);\n}`);
  const error = await failure("const r0 = 1;\nthrowerR(r0);");
  assert.equal(error.ename, "RangeError");
  assert.equal(error.evalue, "deep 2");
  const tb = error.traceback.join("\n");
  const defined = tb.match(/at throwerR \(cell (\d+):3:9\)/);
  const called = tb.match(/at cell (\d+):2:1/);
  assert.ok(defined && called, tb);
  assert.ok(Number(defined[1]) < Number(called[1]));
  assert.doesNotMatch(tb, /__tsparallel_cell_/);
});

test("a thrown non-Error value gives ename and evalue from the value", async () => {
  const error = await failure(`throw "plain string";`);
  assert.equal(error.ename, "Uncaught");
  assert.equal(error.evalue, "plain string");
  const error2 = await failure("throw { code: 42 };");
  assert.match(error2.evalue, /code: 42/);
});

test("a cell that fails at runtime keeps the names it assigned, with their types", async () => {
  const error = await failure(
    `let keptS = { n: 1 };\nconst keptS2 = "ab";\nthrow new Error("stop");\nlet lostS = 1;`,
  );
  assert.equal(error.evalue, "stop");
  assert.equal(await value("keptS.n + keptS2.length"), 3);
  await compileError("lostS", /Cannot find name 'lostS'/);
});

test("types declared by a cell that fails at runtime are kept", async () => {
  await failure(`interface KeptT { k: number }\nthrow new Error("after the type");`);
  assert.equal(await value("const kt: KeptT = { k: 5 };\nkt.k"), 5);
});

// ---- imports -------------------------------------------------------------------------------------

test("an ESM-only package imports from the notebook folder with default and named imports", async () => {
  assert.equal(
    await value(`import esmDefault, { esmHello, EsmThing } from "esm-only";\nesmHello("w")`),
    "hello w from esm",
  );
  assert.equal(
    await value("new EsmThing(2).double().size + esmDefault.kind.length"),
    4 + "esm-default".length,
  );
  assert.equal(await value(`import { extra } from "esm-only/extra";\nextra`), 7);
  await compileError("const thingU: string = new EsmThing(1).size;", /not assignable to type 'string'/);
});

test("a CommonJS package imports as default and named exports", async () => {
  assert.equal(
    await value(
      `import tripleV from "cjs-lib";\nimport { version as versionV } from "cjs-lib";\ntripleV(3) + versionV`,
    ),
    "92.0.0",
  );
  await compileError(`tripleV("x")`, /not assignable to parameter of type 'number'/);
});

test("node: builtins import as namespaces and defaults", async () => {
  assert.equal(
    await value(
      `import * as pathW from "node:path";\nimport osW from "node:os";\npathW.join("a", "b") + typeof osW.cpus`,
    ),
    "a/bfunction",
  );
});

test("an untyped JavaScript package imports as any", async () => {
  assert.equal(await value(`import { answer } from "untyped-lib";\nanswer`), 42);
});

test("a JSON file imports with the json attribute", async () => {
  assert.deepEqual(
    await value(`import dataX from "./data.json" with { type: "json" };\ndataX.rows`),
    [1, 2, 3],
  );
});

test("a missing package gives an error that says how to install it", async () => {
  const error = await failure(`import { nothing } from "no-such-package-y";`);
  assert.match(error.evalue, /no-such-package-y/);
});

test("a dynamic import inside a cell resolves from the notebook folder", async () => {
  assert.equal(await value(`const dynZ = await import("esm-only");\ndynZ.esmHello("d")`), "hello d from esm");
});

test("tsparallel resolves to this package when the notebook folder lacks it", async (t) => {
  const outcome = await run(`import * as selfPkg from "tsparallel/ndarray";\ntypeof selfPkg`);
  if (
    outcome.status === "error" &&
    /Cannot find module|does not export|ENOENT|ERR_MODULE_NOT_FOUND/.test(outcome.error.evalue)
  ) {
    t.skip(`SKIP: dist/ndarray/index.js is not built yet (${outcome.error.evalue.slice(0, 120)})`);
    return;
  }
  assert.deepEqual(outcome, { status: "ok", result: { value: "object" } });
});

// ---- modern syntax ------------------------------------------------------------------------------

test("a top-level using declaration disposes at the end of the cell and does not persist", async () => {
  assert.equal(
    await value(
      "let disposedA1 = false;\nusing resA1 = { [Symbol.dispose]() { disposedA1 = true; } };\ndisposedA1",
    ),
    false,
  );
  assert.equal(await value("disposedA1"), true);
  await compileError("resA1", /Cannot find name 'resA1'/);
});

test("satisfies checks a value without widening it", async () => {
  assert.equal(
    await value(
      `const confB1 = { port: 80, host: "h" } satisfies Record<string, string | number>;\nconfB1.port.toFixed(1)`,
    ),
    "80.0",
  );
  await compileError(
    `const confB2 = { port: "x" } satisfies { port: number };`,
    /not assignable to type 'number'/,
  );
});

test("standard (TS 5) decorators run", async () => {
  const code = [
    "const calledC1: string[] = [];",
    "function loggedC1<T extends (...a: any[]) => any>(fn: T, ctx: ClassMethodDecoratorContext) {",
    "  return function (this: unknown, ...args: any[]) { calledC1.push(String(ctx.name)); return fn.apply(this, args); } as T;",
    "}",
    "class SvcC1 { @loggedC1 hi() { return 1; } }",
    "new SvcC1().hi();",
    "calledC1",
  ].join("\n");
  assert.deepEqual(await value(code), ["hi"]);
});

// ---- results ------------------------------------------------------------------------------------

test("the last expression is the result even with a trailing semicolon, and undefined gives none", async () => {
  assert.deepEqual(await run("1 + 1;"), { status: "ok", result: { value: 2 } });
  assert.deepEqual(await run("undefined"), { status: "ok" });
  assert.deepEqual(await run("const noResultD1 = 5;"), { status: "ok" });
  assert.deepEqual(await run("null"), { status: "ok", result: { value: null } });
});

test("with typeCheck off a cell with a type error still runs", async () => {
  session.typeCheck = false;
  try {
    assert.equal(
      await value(
        `const looseE1: number = "not a number" as any as string as any;\nconst looseE2: number = "x";\nlooseE2`,
      ),
      "x",
    );
    await compileError("const = ;", /expected/);
  } finally {
    session.typeCheck = true;
  }
});

test("a 10 MB cell gives a clear error and the session keeps working", async () => {
  const error = await failure(`// ${"x".repeat(10_000_000)}`);
  assert.equal(error.ename, "CellTooLargeError");
  assert.match(error.evalue, /file/);
  assert.equal(await value("1 + 2"), 3);
});

// ---- kernel hooks -------------------------------------------------------------------------------

test("registerModule makes an import resolve to the given namespace and declaration", async () => {
  session.registerModule(
    "kernel-display-F1",
    { show: (x: unknown) => `shown ${x}` },
    "export declare function show(x: unknown): string;",
  );
  assert.equal(await value(`import { show } from "kernel-display-F1";\nshow(1)`), "shown 1");
  await compileError("const showN: number = show(2);", /not assignable to type 'number'/);
  session.registerModule("tslab", { display: { text: (s: string) => s.length } });
  assert.equal(await value(`import * as tslab from "tslab";\ntslab.display.text("abc")`), 3);
});

test("defineGlobal makes a typed global, from a type or from declaration statements", async () => {
  session.defineGlobal("kernelAnswerG1", 42, "number");
  assert.equal(await value("kernelAnswerG1 + 1"), 43);
  await compileError("const sG1: string = kernelAnswerG1;", /not assignable to type 'string'/);
  session.defineGlobal("helperG1", (x: number) => x * 10, "declare function helperG1(x: number): number;");
  assert.equal(await value("helperG1(4)"), 40);
  session.defineGlobal("anyG1", { a: 1 });
  assert.equal(await value("anyG1.a.anything === undefined"), true);
});

// ---- interrupts ---------------------------------------------------------------------------------

test("aborting the signal rejects a pending await promptly and the session stays usable", async () => {
  const controller = new AbortController();
  const pending = run(
    "await new Promise((resolve) => { (globalThis as any).pendingTimerH1 = setTimeout(resolve, 1e6); });",
    { signal: controller.signal },
  );
  setImmediate(() => controller.abort());
  const outcome = await pending;
  clearTimeout(g.pendingTimerH1 as NodeJS.Timeout);
  assert.equal(outcome.status, "error");
  if (outcome.status === "error") {
    assert.equal(outcome.error.ename, "Interrupted");
    assert.match(outcome.error.evalue, /interrupted/);
  }
  assert.equal(await value("2 * 3"), 6);
});

test("SIGINT stops a synchronous infinite loop and the session stays usable (child process)", async (t) => {
  const sessionModule = new URL("../../kernel/typescript-session.js", import.meta.url).href;
  const script = `
    import { writeSync } from "node:fs";
    const { TypeScriptSession } = await import(${JSON.stringify(sessionModule)});
    const session = new TypeScriptSession({ cwd: process.cwd() });
    const signal = new AbortController().signal;
    await session.execute("let spunI1 = 0;", { signal });
    const loop = await session.execute(
      'import { writeSync } from "node:fs";\\nwriteSync(1, "looping\\\\n");\\nwhile (true) { spunI1++; }',
      { signal },
    );
    const after = await session.execute("spunI1 >= 0", { signal });
    writeSync(1, JSON.stringify({ loop, after }) + "\\n");
    session.dispose();
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    cwd: notebookDir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(() => child.kill("SIGKILL"));
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  child.stdout.on("data", (d) => {
    out += d;
    if (String(d).includes("looping")) child.kill("SIGINT");
  });
  const code = await exited;
  assert.equal(code, 0, `child failed: ${err}`);
  const last = out.trim().split("\n").at(-1) ?? "";
  const { loop, after: afterOutcome } = JSON.parse(last);
  assert.equal(loop.status, "error");
  assert.equal(loop.error.ename, "Interrupted");
  assert.match(loop.error.evalue, /SIGINT/);
  assert.deepEqual(afterOutcome, { status: "ok", result: { value: true } });
});

// ---- completion, inspection, completeness --------------------------------------------------------

test("completion sees earlier cells and is type-aware", async () => {
  await value("const pointJ1 = { xCoord: 1, yCoord: 2 };");
  const byName = session.complete("poin", 4);
  assert.ok(byName.matches.includes("pointJ1"), JSON.stringify(byName.matches.slice(0, 20)));
  assert.equal(byName.cursorStart, 0);
  const members = session.complete("pointJ1.", 8);
  assert.deepEqual(members.matches.slice().sort(), ["xCoord", "yCoord"]);
  assert.equal(members.cursorStart, 8);
  const code = "Math.PI.toFix";
  const typed = session.complete(code, code.length);
  assert.deepEqual(typed.matches, ["toFixed"]);
  assert.equal(typed.cursorStart, code.indexOf("toFix"));
  assert.equal(typed.cursorEnd, code.length);
  assert.equal(typed.types?.[0]?.type, "function");
});

test("inspection gives the signature and JSDoc, and the source at detail 1", async () => {
  const max = session.inspect("Math.max", 8, 0);
  assert.equal(max.found, true);
  assert.match(max.data["text/plain"] ?? "", /max\(\.\.\.values: number\[\]\): number/);
  assert.match(max.data["text/markdown"] ?? "", /```ts/);
  await value("/** Adds one to a number. */\nfunction incK1(x: number): number { return x + 1; }");
  const doc = session.inspect("incK1(1)", 3, 0);
  assert.match(doc.data["text/plain"] ?? "", /function incK1\(x: number\): number/);
  assert.match(doc.data["text/plain"] ?? "", /Adds one to a number\./);
  assert.doesNotMatch(doc.data["text/plain"] ?? "", /return x \+ 1/);
  const detailed = session.inspect("incK1(1)", 3, 1);
  assert.match(detailed.data["text/plain"] ?? "", /return x \+ 1/);
  assert.deepEqual(session.inspect("   ", 1, 0), { found: false, data: {} });
});

test("isComplete says complete, incomplete with an indent, or invalid", () => {
  assert.deepEqual(session.isComplete("const a = 1;"), { status: "complete" });
  assert.deepEqual(session.isComplete("function f() {"), { status: "incomplete", indent: "  " });
  assert.deepEqual(session.isComplete("if (x) {\n  foo(1,"), { status: "incomplete", indent: "  " });
  assert.equal(session.isComplete("const s = `abc").status, "incomplete");
  assert.deepEqual(session.isComplete("const = ;"), { status: "invalid" });
  assert.deepEqual(session.isComplete(""), { status: "complete" });
});
