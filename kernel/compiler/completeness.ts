import ts from "typescript";
import type { CompletenessResult } from "../code-session.js";

// Errors that mean "keep typing" wherever they occur: an open template literal or block comment.
const openConstructs = new Set([1160, 1010]);

/**
 * Jupyter's is_complete for a TypeScript cell: `complete` when it parses, `incomplete` (with the
 * indent of the next line) when the only syntax errors sit at the end of the code, `invalid`
 * when a syntax error sits before the end (more typing cannot fix it).
 */
export function isCompleteCode(code: string): CompletenessResult {
  if (!code.trim()) return { status: "complete" };
  const out = ts.transpileModule(code, {
    fileName: "cell.mts",
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, noLib: true },
  });
  const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error && d.file);
  if (!errors.length) return { status: "complete" };
  const end = code.trimEnd().length;
  const atEnd = errors.every((d) => (d.start ?? 0) >= end || openConstructs.has(d.code));
  if (!atEnd) return { status: "invalid" };
  return { status: "incomplete", indent: nextIndent(code) };
}

function nextIndent(code: string): string {
  const lines = code.trimEnd().split("\n");
  const last = lines.at(-1) ?? "";
  const base = last.match(/^\s*/)?.[0] ?? "";
  return /[{([]\s*$|=>\s*$/.test(last) ? `${base}  ` : base;
}
