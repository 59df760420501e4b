/**
 * IPython's `name?` / `name??` help syntax: a cell that is only an expression followed by one
 * or two question marks shows the inspection of that expression in the pager instead of running.
 */

/** A help request parsed from a cell. */
export interface PagerRequest {
  /** The expression to inspect. */
  expression: string;
  /** 0 for `?`, 1 for `??` (more detail, as Jupyter's inspect detail_level). */
  detailLevel: 0 | 1;
}

// A dotted/indexed name path: `Math.max`, `obj.a[0].b`, `console.log`. Nothing that runs code.
const EXPRESSION =
  /^[\p{L}_$][\p{L}\p{N}_$]*(?:\s*(?:\.\s*[\p{L}_$][\p{L}\p{N}_$]*|\[\s*(?:\d+|"[^"]*"|'[^']*')\s*\]))*$/u;

/** The help request in `code`, or undefined when the cell is ordinary code. */
export function parsePagerRequest(code: string): PagerRequest | undefined {
  const text = code.trim();
  const m = /^(.*?)(\?\??)$/s.exec(text);
  if (!m) return undefined;
  const expression = m[1]!.trim();
  if (!EXPRESSION.test(expression)) return undefined;
  return { expression, detailLevel: m[2] === "??" ? 1 : 0 };
}
