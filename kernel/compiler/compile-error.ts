import type { CellError } from "../code-session.js";
import type { CellDiagnostic } from "./cell-compiler.js";

/**
 * Turns type errors into the error a cell shows: each diagnostic with `label:line:column`, the
 * source line and a caret under the column. Shared by kernel cells and `%px` cells.
 */
export function compileError(diagnostics: CellDiagnostic[], code: string, label: string): CellError {
  const lines = code.split("\n");
  const traceback: string[] = [];
  for (const d of diagnostics) {
    traceback.push(`${label}:${d.line}:${d.column} - error TS${d.code}: ${d.message}`);
    const source = lines[d.line - 1];
    if (source !== undefined && source.length < 500) {
      traceback.push(`  ${source}`, `  ${" ".repeat(d.column - 1)}^`);
    }
  }
  const first = diagnostics[0];
  const more = diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : "";
  return {
    ename: "CompileError",
    evalue: first ? `${first.line}:${first.column} ${first.message}${more}` : "compilation failed",
    traceback,
  };
}
