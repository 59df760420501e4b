import { topLevelLineStarts } from "./line-starts.js";

/** A piece of a cell, run in order. */
export type CellSegment =
  /** TypeScript; `firstLine` (0-based) is where it starts in the cell, to keep error lines right. */
  | { kind: "code"; code: string; firstLine: number }
  /** `%name args`, or `const x = %name args` when `assignTo` is set (IPython's `x = %timeit -o …`). */
  | { kind: "line-magic"; name: string; args: string; line: number; assignTo?: string }
  | { kind: "cell-magic"; name: string; args: string; body: string }
  /** `expr?` (detail 0) or `expr??` (detail 1): show the documentation of `expr`. */
  | { kind: "inspect"; expression: string; detail: 0 | 1 };

const MAGIC_LINE =
  /^\s*(?:(?:(?:const|let|var)\s+)?([A-Za-z_$][\w$]*)\s*=\s*)?%([A-Za-z_][\w-]*)(?:[ \t]+(.*))?\s*$/;
const CELL_MAGIC = /^\s*%%([A-Za-z_][\w-]*)(?:[ \t]+([^\n]*))?(?:\n([\s\S]*))?$/;
const INSPECT =
  /^\s*(\?{1,2})?\s*([A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*|\[[^\]\n]*\])*)\s*(\?{1,2})?\s*$/;

/**
 * Splits a cell into TypeScript code, line magics (`%name args` on a top-level line), a cell
 * magic (`%%name args` on the first line; the rest is its body) and inspection (`name?`).
 *
 * `isMagic(name)` says whether a line magic exists. An unknown `%name` at the start of a
 * statement is still returned as a line magic (so the user hears "unknown magic" rather than a
 * TypeScript syntax error) unless the previous code line leaves an expression open, where `%`
 * is TypeScript's remainder operator.
 */
export function splitCell(cell: string, isMagic: (name: string) => boolean): CellSegment[] {
  const cellMagic = CELL_MAGIC.exec(cell);
  if (cellMagic && cell.trimStart().startsWith("%%")) {
    return [
      {
        kind: "cell-magic",
        name: cellMagic[1]!,
        args: (cellMagic[2] ?? "").trim(),
        body: cellMagic[3] ?? "",
      },
    ];
  }
  const inspect = INSPECT.exec(cell);
  if (inspect && (inspect[1] || inspect[3]) && !(inspect[1] && inspect[3])) {
    const marks = inspect[1] ?? inspect[3]!;
    return [
      { kind: "inspect", expression: inspect[2]!.replace(/\s+/g, ""), detail: marks.length === 2 ? 1 : 0 },
    ];
  }
  if (!cell.includes("%")) return [{ kind: "code", code: cell, firstLine: 0 }];

  const lines = cell.split("\n");
  const top = topLevelLineStarts(cell);
  const segments: CellSegment[] = [];
  let pending: string[] = [];
  let pendingStart = 0;
  let lastCodeLine = "";
  const flush = (next: number) => {
    if (pending.some((l) => l.trim() !== "")) {
      segments.push({ kind: "code", code: pending.join("\n"), firstLine: pendingStart });
    }
    pending = [];
    pendingStart = next;
  };
  lines.forEach((line, idx) => {
    const m = top[idx] ? MAGIC_LINE.exec(line) : null;
    const continuesExpression = /[^;{}\s]\s*$/.test(lastCodeLine) && !/^\s*%\S/.test(lastCodeLine);
    if (m && (isMagic(m[2]!) || (!continuesExpression && !m[1]))) {
      flush(idx + 1);
      const seg: CellSegment = { kind: "line-magic", name: m[2]!, args: (m[3] ?? "").trim(), line: idx };
      if (m[1]) seg.assignTo = m[1];
      segments.push(seg);
      lastCodeLine = "";
      return;
    }
    pending.push(line);
    if (line.trim() !== "" && !line.trim().startsWith("//")) lastCodeLine = line;
  });
  flush(lines.length);
  return segments;
}
