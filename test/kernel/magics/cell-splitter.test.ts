import assert from "node:assert/strict";
import { test } from "node:test";
import { splitCell } from "../../../kernel/magics/cell-splitter.js";
import { formatDuration } from "../../../kernel/magics/format-duration.js";
import { parseMagicArguments } from "../../../kernel/magics/magic-arguments.js";

const known = (name: string) => ["time", "timeit", "px", "lsmagic"].includes(name);

test("a cell without % is one code segment", () => {
  assert.deepEqual(splitCell("const a = 1;\na + 1", known), [
    { kind: "code", code: "const a = 1;\na + 1", firstLine: 0 },
  ]);
});

test("line magics split the code around them and keep line numbers", () => {
  const segs = splitCell("const a = 1;\n%time a * 2\nconst b = a;\nb", known);
  assert.deepEqual(segs, [
    { kind: "code", code: "const a = 1;", firstLine: 0 },
    { kind: "line-magic", name: "time", args: "a * 2", line: 1 },
    { kind: "code", code: "const b = a;\nb", firstLine: 2 },
  ]);
});

test("a cell magic takes the whole cell body", () => {
  assert.deepEqual(splitCell("%%timeit -n 3 const x = 1\nx + 1\n", known), [
    { kind: "cell-magic", name: "timeit", args: "-n 3 const x = 1", body: "x + 1\n" },
  ]);
});

test("% inside strings, templates, comments and brackets is TypeScript, not a magic", () => {
  const cells = [
    "const s = `\n%time x\n`;",
    "const s = '%time';",
    "/*\n%time x\n*/ 1",
    "f(\n%time\n)",
    "const r = 10\n% 3",
  ];
  for (const c of cells) {
    const segs = splitCell(c, known);
    assert.equal(segs.length, 1, c);
    assert.equal(segs[0]!.kind, "code", c);
  }
});

test("the modulo operator on a continuation line is not taken for an unknown magic", () => {
  assert.equal(splitCell("const r = n\n%m", known)[0]!.kind, "code");
  assert.equal(splitCell("const r = n;\n%nosuch", known)[1]!.kind, "line-magic");
});

test("name? and name?? ask for inspection; ternaries and ?. do not", () => {
  assert.deepEqual(splitCell("Math.max?", known), [{ kind: "inspect", expression: "Math.max", detail: 0 }]);
  assert.deepEqual(splitCell("  ??nd.zeros ", known), [
    { kind: "inspect", expression: "nd.zeros", detail: 1 },
  ]);
  assert.equal(splitCell("a ? b : c", known)[0]!.kind, "code");
  assert.equal(splitCell("a?.b", known)[0]!.kind, "code");
  assert.equal(splitCell("x ?? y", known)[0]!.kind, "code");
});

test("magic options parse short, long, bundled and inline forms and keep the rest verbatim", () => {
  const specs = [
    { name: "number", short: "n", value: true },
    { name: "output", short: "o" },
    { name: "quiet", short: "q" },
    { name: "targets", short: "t", long: "targets", value: true },
  ];
  assert.deepEqual(parseMagicArguments("-n 5 -oq  x -n 2", specs, "u"), {
    options: { number: "5", output: true, quiet: true },
    rest: "x -n 2",
  });
  assert.deepEqual(parseMagicArguments("--targets=::2 -n10 f()", specs, "u").options, {
    targets: "::2",
    number: "10",
  });
  assert.deepEqual(parseMagicArguments("-1 + 2", specs, "u").rest, "-1 + 2");
  assert.throws(
    () => parseMagicArguments("-z x", specs, "%m [-n N]"),
    /unknown option -z\nusage: %m \[-n N\]/,
  );
  assert.throws(() => parseMagicArguments("-n", specs, "u"), /option -n needs a value/);
});

test("durations use three significant digits and IPython's units", () => {
  assert.equal(formatDuration(0.0123), "12.3 ms");
  assert.equal(formatDuration(1.5), "1.5 s");
  assert.equal(formatDuration(4.56e-4), "456 µs");
  assert.equal(formatDuration(7.891e-8), "78.9 ns");
});

test("const x = %timeit … assigns the magic's result, as IPython's x = %timeit -o …", () => {
  assert.deepEqual(splitCell("const tnp = %timeit -o A.dot(B)", known), [
    { kind: "line-magic", name: "timeit", args: "-o A.dot(B)", line: 0, assignTo: "tnp" },
  ]);
  assert.equal(splitCell("let r = a\n%b", known)[0]!.kind, "code");
});
