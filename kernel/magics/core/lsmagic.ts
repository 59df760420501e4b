import type { Magic } from "../magic.js";
import type { MagicRegistry } from "../registry.js";

/** `%lsmagic`: lists every line and cell magic with its synopsis. */
export function lsmagicMagic(registry: MagicRegistry): Magic {
  return {
    name: "lsmagic",
    kind: "line",
    usage: "%lsmagic",
    summary: "List the available magics.",
    async run(_args, _body, ctx) {
      const all = registry.list();
      const line = all.filter((m) => m.kind !== "cell").map((m) => `%${m.name}`);
      const cell = all.filter((m) => m.kind !== "line").map((m) => `%%${m.name}`);
      const details = all.map((m) => `  ${m.usage}\n      ${m.summary}`).join("\n");
      ctx.stream(
        "stdout",
        `Available line magics:\n${line.join("  ")}\n\nAvailable cell magics:\n${cell.join("  ")}\n\n` +
          `Usage:\n${details}\n\nAppend ? to a name for its documentation (Math.max?), ?? for more.\n`,
      );
      return { status: "ok" };
    },
  };
}
