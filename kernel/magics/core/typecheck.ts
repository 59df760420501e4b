import { type Magic, MagicUsageError, OK } from "../magic.js";

const USAGE = "%typecheck [on|off]";

/** `%typecheck off` runs later cells without type checking (transpile only); `on` restores it. */
export const typecheckMagic: Magic = {
  name: "typecheck",
  kind: "line",
  usage: USAGE,
  summary: "Turn type checking of cells on or off for this session (no argument: show the setting).",
  async run(args, _body, ctx) {
    const a = args.trim().toLowerCase();
    if (a === "on" || a === "off") ctx.session.typeCheck = a === "on";
    else if (a !== "") throw new MagicUsageError(`expected "on" or "off", got "${args.trim()}"`, USAGE);
    ctx.stream("stdout", `Type checking is ${ctx.session.typeCheck ? "on" : "off"}.\n`);
    return OK;
  },
};
