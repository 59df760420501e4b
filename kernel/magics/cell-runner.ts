import type { CellOutcome } from "../code-session.js";
import { splitCell } from "./cell-splitter.js";
import { type MagicContext, MagicUsageError, outcomeFromError } from "./magic.js";
import type { MagicRegistry } from "./registry.js";

/**
 * Runs a cell that may contain magics: its code segments go to the TypeScript session, its
 * magics to their handlers, in order. The outcome is the last segment's; the first error stops
 * the cell.
 */
export async function runCell(cell: string, magics: MagicRegistry, ctx: MagicContext): Promise<CellOutcome> {
  const segments = splitCell(cell, (name) => magics.find(name, "line") !== undefined);
  let outcome: CellOutcome = { status: "ok" };
  for (const seg of segments) {
    try {
      switch (seg.kind) {
        case "code":
          // Blank lines in front keep the session's line numbers equal to the cell's.
          outcome = await ctx.runCode("\n".repeat(seg.firstLine) + seg.code);
          break;
        case "inspect":
          outcome = inspect(seg.expression, seg.detail, ctx);
          break;
        case "line-magic":
        case "cell-magic": {
          const form = seg.kind === "line-magic" ? "line" : "cell";
          const magic = magics.find(seg.name, form);
          if (!magic) throw unknownMagic(seg.name, form, magics);
          outcome = await magic.run(seg.args, seg.kind === "cell-magic" ? seg.body : undefined, ctx);
          if (seg.kind === "line-magic" && seg.assignTo && outcome.status === "ok") {
            // `x = %magic …` keeps the magic's result as a global of the session and shows nothing.
            ctx.session.defineGlobal(seg.assignTo, outcome.result?.value, magic.resultType ?? "unknown");
            outcome = { status: "ok" };
          }
          break;
        }
      }
    } catch (err) {
      outcome = outcomeFromError(err);
    }
    if (outcome.status === "error") return outcome;
  }
  return outcome;
}

function unknownMagic(name: string, form: "line" | "cell", magics: MagicRegistry): MagicUsageError {
  const prefix = form === "line" ? "%" : "%%";
  const other = magics.find(name, form === "line" ? "cell" : "line");
  const hint = other
    ? ` (it exists as a ${form === "line" ? "cell" : "line"} magic: ${form === "line" ? "%%" : "%"}${name})`
    : "; %lsmagic lists the magics";
  return new MagicUsageError(`unknown ${form} magic ${prefix}${name}${hint}`);
}

/** `expr?` shows the signature and docs in the pager, as IPython does. */
function inspect(expression: string, detail: 0 | 1, ctx: MagicContext): CellOutcome {
  const r = ctx.session.inspect(expression, expression.length, detail);
  if (!r.found) {
    ctx.stream("stdout", `Object \`${expression}\` not found.\n`);
    return { status: "ok" };
  }
  ctx.addPayload({ source: "page", data: r.data, start: 0 });
  return { status: "ok" };
}
