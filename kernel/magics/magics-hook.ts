import type { CellContext, CellHook, CellHookResult } from "../cell-hook.js";
import type { CellOutcome } from "../code-session.js";
import { runCell } from "./cell-runner.js";
import { splitCell } from "./cell-splitter.js";
import type { MagicContext } from "./magic.js";
import type { MagicRegistry } from "./registry.js";

/**
 * Plugs the magics into the kernel: a cell that is plain TypeScript passes straight through;
 * a cell with magics or `name?` is run segment by segment here.
 */
export class MagicsHook implements CellHook {
  /** When set, every plain cell is handed to this magic (used by %autopx). */
  cellRedirect: string | undefined;

  constructor(readonly registry: MagicRegistry) {}

  async preprocess(code: string, context: CellContext): Promise<CellHookResult> {
    const isMagic = (name: string) => this.registry.find(name, "line") !== undefined;
    if (this.cellRedirect && !/^\s*%/.test(code)) {
      code = `%%${this.cellRedirect}\n${code}`;
    }
    const segments = splitCell(code, isMagic);
    if (segments.length === 1 && segments[0]!.kind === "code") return { action: "pass" };
    const payload: Record<string, unknown>[] = [];
    const ctx = magicContext(context, payload);
    const outcome = await runCell(code, this.registry, ctx);
    return { action: "handled", outcome, payload };
  }
}

function magicContext(context: CellContext, payload: Record<string, unknown>[]): MagicContext {
  return {
    session: context.session,
    signal: context.signal,
    runCode: (code: string): Promise<CellOutcome> =>
      context.session.execute(code, { signal: context.signal }),
    stream: (name, text) => context.output.stream(name, text),
    display: (data, opts = {}) => {
      const bundle = data as Parameters<typeof context.output.display>[0];
      if (opts.update && opts.displayId)
        context.output.updateDisplay(opts.displayId, bundle, opts.metadata ?? {});
      else context.output.display(bundle, opts.metadata ?? {}, opts.displayId);
    },
    addPayload: (p) => payload.push(p),
  };
}
