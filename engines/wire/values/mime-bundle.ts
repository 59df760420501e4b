import { Buffer } from "node:buffer";
import { inspect } from "node:util";

/**
 * Turning any JavaScript value into a Jupyter MIME bundle.
 *
 * Pure: no sockets, no kernel state. The kernel uses it for execute_result and display(); engines
 * use it for their results, so it lives in engines/wire and imports nothing from kernel/.
 */

/** A Jupyter MIME bundle: MIME type → data (a string, or JSON for `+json` types). */
export type MimeBundle = Record<string, unknown>;

/**
 * The rich-repr protocol (shared with Deno's kernel): an object whose
 * `[Symbol.for("Jupyter.display")]()` method returns a MIME bundle is shown with that bundle.
 */
export const DISPLAY_SYMBOL: unique symbol = Symbol.for("Jupyter.display") as never;

/** An object that renders itself. */
export interface RichRepr {
  [DISPLAY_SYMBOL](): MimeBundle;
}

/** Options for the text/plain repr. */
export interface FormatOptions {
  /** Longest array/Map/Set shown in full (util.inspect's maxArrayLength). */
  maxArrayLength?: number;
  /** Nesting depth shown before `[Object]`. */
  depth?: number;
  /** Longest string shown inside containers. */
  maxStringLength?: number;
}

const DEFAULTS: Required<FormatOptions> = { maxArrayLength: 100, depth: 4, maxStringLength: 10_000 };

/** True when `value` implements the rich-repr protocol. */
export function hasRichRepr(value: unknown): value is RichRepr {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as Partial<RichRepr>)[DISPLAY_SYMBOL] === "function"
  );
}

/** The text/plain repr: strings as they are would lose their quotes, so they are inspected too. */
export function plainText(value: unknown, options: FormatOptions = {}): string {
  const o = { ...DEFAULTS, ...options };
  return inspect(value, {
    depth: o.depth,
    maxArrayLength: o.maxArrayLength,
    maxStringLength: o.maxStringLength,
    breakLength: 100,
    colors: false,
    sorted: false,
    getters: false,
  });
}

/**
 * The MIME bundle for `value`: its own rich repr if it has one (text/plain is added when the
 * object left it out, because every frontend needs a fallback), otherwise text/plain plus
 * text/html for tables of records.
 */
export function formatMimeBundle(value: unknown, options: FormatOptions = {}): MimeBundle {
  if (hasRichRepr(value)) {
    let bundle: unknown;
    try {
      bundle = value[DISPLAY_SYMBOL]();
    } catch (e) {
      // A broken repr must not hide the value: show the failure next to the plain repr.
      return { "text/plain": `${plainText(value, options)}\n(Jupyter.display failed: ${String(e)})` };
    }
    if (typeof bundle === "object" && bundle !== null && !Array.isArray(bundle)) {
      const b = { ...(bundle as MimeBundle) };
      if (!("text/plain" in b)) b["text/plain"] = plainText(value, options);
      return b;
    }
  }
  const bundle: MimeBundle = { "text/plain": plainText(value, options) };
  const html = recordsTable(value, options);
  if (html !== undefined) bundle["text/html"] = html;
  return bundle;
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for inclusion in HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

function cell(v: unknown, options: FormatOptions): string {
  const text = typeof v === "string" ? v : plainText(v, { ...options, depth: 0, maxArrayLength: 10 });
  return escapeHtml(text);
}

/**
 * An HTML table for a non-empty array of plain objects (the common "list of records" result),
 * truncated like the text repr. Anything else gets no HTML: text/plain says it better.
 */
function recordsTable(value: unknown, options: FormatOptions): string | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const isRecord = (r: unknown) =>
    typeof r === "object" && r !== null && !Array.isArray(r) && Object.getPrototypeOf(r) === Object.prototype;
  if (!value.every(isRecord)) return undefined;
  const limit = options.maxArrayLength ?? DEFAULTS.maxArrayLength;
  const rows = value.slice(0, limit) as Record<string, unknown>[];
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  if (columns.length === 0 || columns.length > 50) return undefined;
  const head = `<tr><th></th>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("")}</tr>`;
  const body = rows
    .map(
      (r, i) =>
        `<tr><th>${i}</th>${columns.map((c) => `<td>${c in r ? cell(r[c], options) : ""}</td>`).join("")}</tr>`,
    )
    .join("");
  const more = value.length > limit ? `<p>… ${value.length - limit} more rows</p>` : "";
  return `<table><thead>${head}</thead><tbody>${body}</tbody></table>${more}`;
}

/** Binary image data: bytes, or a string that is already base64. */
export type ImageData = Uint8Array | ArrayBuffer | string;

/** Shortcuts that show one MIME type. `R` is what each returns (void, or a handle). */
export interface MimeShortcuts<R> {
  html(html: string): R;
  markdown(markdown: string): R;
  svg(svg: string): R;
  png(image: ImageData): R;
  jpeg(image: ImageData): R;
  gif(image: ImageData): R;
  pdf(document: ImageData): R;
  json(value: unknown): R;
  vegalite(spec: object): R;
  latex(latex: string): R;
  text(text: string): R;
  javascript(code: string): R;
  /** Any MIME type with its data as the frontend expects it. */
  raw(mimeType: string, data: unknown): R;
}

function base64(data: ImageData): string {
  if (typeof data === "string") return data;
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

const DESCRIPTIONS: Record<string, string> = {
  "image/png": "<PNG image>",
  "image/jpeg": "<JPEG image>",
  "image/gif": "<GIF image>",
  "application/pdf": "<PDF document>",
  "image/svg+xml": "<SVG image>",
  "text/html": "<HTML>",
  "application/javascript": "<JavaScript>",
  "application/vnd.vegalite.v5+json": "<Vega-Lite chart>",
};

/** The MIME bundle each shortcut produces; text/plain is kept as a fallback for plain frontends. */
export function mimeShortcuts(): MimeShortcuts<MimeBundle> {
  const one = (mime: string, data: unknown, plain?: string): MimeBundle => ({
    [mime]: data,
    "text/plain": plain ?? DESCRIPTIONS[mime] ?? String(data),
  });
  return {
    html: (s) => one("text/html", s),
    markdown: (s) => one("text/markdown", s, s),
    svg: (s) => one("image/svg+xml", s),
    png: (d) => one("image/png", base64(d)),
    jpeg: (d) => one("image/jpeg", base64(d)),
    gif: (d) => one("image/gif", base64(d)),
    pdf: (d) => one("application/pdf", base64(d)),
    json: (v) => one("application/json", v, JSON.stringify(v, null, 2)),
    vegalite: (spec) => one("application/vnd.vegalite.v5+json", spec),
    latex: (s) => one("text/latex", s, s),
    text: (s) => ({ "text/plain": s }),
    javascript: (s) => one("application/javascript", s),
    raw: (mime, data) => (mime === "text/plain" ? { "text/plain": data } : one(mime, data)),
  };
}
