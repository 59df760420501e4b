/**
 * The shape of the source tree's imports: no cycles (but one, by design), and layers that import
 * only downwards. Read from the TypeScript sources with the compiler's own import scanner, type-only
 * imports included: a type-only back-edge is still a module that cannot be read on its own.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import ts from "typescript";
import { REPO_ROOT } from "../helpers/kernel-process.js";

const LAYERS = ["kernel", "engines", "ndarray"];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== "node_modules" && name !== "assembly") out.push(...sources(path));
    } else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

/** File (relative to the repository) → the files it imports, statically, dynamically or by type. */
function importGraph(): Map<string, string[]> {
  const files = LAYERS.flatMap((l) => sources(join(REPO_ROOT, l)));
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const deps = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith("."))
      .map((spec) => resolve(dirname(file), spec).replace(/\.js$/, ".ts"))
      .filter((dep) => known.has(dep));
    graph.set(
      relative(REPO_ROOT, file),
      [...new Set(deps)].map((d) => relative(REPO_ROOT, d)),
    );
  }
  return graph;
}

/** Strongly connected components of more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/**
 * NDArray and its operation modules know each other by design, as Arrow JS's Vector and its
 * visitors do: the class's methods call the operations, which build NDArrays.
 */
const NDARRAY_CORE = new Set([
  "ndarray/ndarray.ts",
  "ndarray/creation.ts",
  "ndarray/elementwise.ts",
  "ndarray/format.ts",
  "ndarray/joining.ts",
  "ndarray/reductions.ts",
  "ndarray/repetition.ts",
  "ndarray/linalg/matmul.ts",
]);

test("the sources have no import cycles but NDArray's with its operation modules", () => {
  const found = cycles(importGraph()).filter((c) => !c.every((f) => NDARRAY_CORE.has(f)));
  assert.deepEqual(found, []);
});

test("layers import downwards only: kernel → engines → ndarray, and engines/wire from nothing above it", () => {
  const graph = importGraph();
  const wrong: string[] = [];
  const above: Record<string, string[]> = {
    "ndarray/": ["engines/", "kernel/"],
    "engines/": ["kernel/"],
    "engines/wire/": [
      "engines/client/",
      "engines/controller/",
      "engines/engine/",
      "engines/launchers/",
      "engines/cli/",
    ],
  };
  for (const [file, deps] of graph)
    for (const [layer, forbidden] of Object.entries(above))
      if (file.startsWith(layer))
        for (const dep of deps) if (forbidden.some((f) => dep.startsWith(f))) wrong.push(`${file} → ${dep}`);
  assert.deepEqual(wrong, []);
});
