import { lastTraceback } from "../../executor/last-traceback.js";
import { type Magic, MagicUsageError, OK } from "../magic.js";

const USAGE = "%tb";

/**
 * `%tb`: the full stack of the last error, tsparallel's own frames included. Errors show the
 * user's frames only (as IPython hides its own); this is the rest, for a bug report or for
 * debugging tsparallel (`TSPARALLEL_TRACEBACK=full` shows it in every error).
 */
export const tbMagic: Magic = {
  name: "tb",
  kind: "line",
  usage: USAGE,
  summary: "Show the full stack of the last error, tsparallel's own frames included.",
  async run(args, _body, ctx) {
    if (args.trim() !== "") throw new MagicUsageError(`unexpected argument "${args.trim()}"`, USAGE);
    const lines = lastTraceback();
    ctx.stream(
      "stdout",
      lines ? `${lines.join("\n")}\n` : "No error yet: %tb shows the full stack of the last one.\n",
    );
    return OK;
  },
};
