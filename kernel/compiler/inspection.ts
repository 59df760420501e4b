import ts from "typescript";
import type { InspectionResult } from "../code-session.js";

function tagText(tag: ts.JSDocTagInfo): string {
  const text = tag.text ? ts.displayPartsToString(tag.text) : "";
  return `@${tag.name}${text ? ` ${text}` : ""}`;
}

/**
 * Shift-Tab help for the name at (or just before) `cursorPos`: its signature and JSDoc; at
 * detail 1 also the JSDoc tags and, for names declared by earlier cells, their source.
 */
export function inspectAt(
  service: ts.LanguageService,
  fileName: string,
  code: string,
  cursorPos: number,
  detailLevel: 0 | 1,
  sourceOf: (name: string) => string | undefined,
): InspectionResult {
  const pos = Math.max(0, Math.min(cursorPos, code.length));
  let info: ts.QuickInfo | undefined;
  for (const at of [pos, pos - 1]) {
    if (at < 0) continue;
    info = service.getQuickInfoAtPosition(fileName, at);
    if (info) break;
  }
  if (!info) return { found: false, data: {} };
  const signature = ts.displayPartsToString(info.displayParts);
  const doc = ts.displayPartsToString(info.documentation);
  const tags = (info.tags ?? []).map(tagText);
  const name = code.slice(info.textSpan.start, info.textSpan.start + info.textSpan.length);
  const source = detailLevel === 1 ? sourceOf(name) : undefined;

  const plain = [signature];
  const markdown = ["```ts", signature, "```"];
  if (doc) {
    plain.push("", doc);
    markdown.push("", doc);
  }
  if (tags.length && (detailLevel === 1 || !doc)) {
    plain.push("", ...tags);
    markdown.push("", ...tags.map((t) => `*${t}*  `));
  }
  if (source) {
    plain.push("", "Source:", source);
    markdown.push("", "Source:", "```ts", source, "```");
  }
  return { found: true, data: { "text/plain": plain.join("\n"), "text/markdown": markdown.join("\n") } };
}
