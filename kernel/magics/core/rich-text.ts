import { type Magic, OK } from "../magic.js";

function bodyMagic(name: string, mime: string, what: string): Magic {
  return {
    name,
    kind: "cell",
    usage: `%%${name} then the ${what} on the following lines`,
    summary: `Render the cell as ${what}.`,
    async run(_args, body, ctx) {
      ctx.display({ [mime]: body ?? "", "text/plain": body ?? "" });
      return OK;
    },
  };
}

/** `%%html`: the cell body is shown as HTML. */
export const htmlMagic = bodyMagic("html", "text/html", "HTML");
/** `%%markdown`: the cell body is shown as Markdown. */
export const markdownMagic = bodyMagic("markdown", "text/markdown", "Markdown");
/** `%%svg`: the cell body is shown as an SVG image. */
export const svgMagic = bodyMagic("svg", "image/svg+xml", "SVG");
