import { randomUUID } from "node:crypto";
import { formatMimeBundle, type MimeBundle } from "../../engines/wire/mime-bundle.js";
import type { DisplayMetadata } from "../protocol/messages.js";
import type { OutputRouter } from "./output-sink.js";

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

/** One output that can be replaced in place (Jupyter's display_id). */
export interface DisplayHandle extends MimeShortcuts<void> {
  readonly displayId: string;
  /** Shows `value` as a new output tied to this handle. */
  display(value: unknown): void;
  /** Replaces every output tied to this handle with `value`. */
  update(value: unknown): void;
}

export interface DisplayOptions {
  /** `true` for a fresh id, or an id of your own; the call then returns a {@link DisplayHandle}. */
  displayId?: string | true;
  /** Per-MIME metadata (e.g. `{ "image/png": { width: 200 } }`). */
  metadata?: DisplayMetadata;
  /** The value is already a MIME bundle. */
  raw?: boolean;
}

/** The global `display`: call it with a value, or use a MIME shortcut. */
export interface DisplayFunction extends MimeShortcuts<void> {
  (value: unknown, options?: DisplayOptions & { displayId?: undefined }): void;
  (value: unknown, options: DisplayOptions & { displayId: string | true }): DisplayHandle;
  (value: unknown, options?: DisplayOptions): DisplayHandle | undefined;
  /** A handle whose shortcuts show the first time and update after that (tslab's newDisplay). */
  newHandle(): DisplayHandle;
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
function shortcutBundles(): MimeShortcuts<MimeBundle> {
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

const SHORTCUTS = Object.keys(shortcutBundles()) as (keyof MimeShortcuts<unknown>)[];

/**
 * Builds the display API bound to `router`, which knows the running request. Used for the
 * cell globals (`display`, `clearOutput`) and for the tslab compatibility module.
 */
export function createDisplayApi(router: OutputRouter) {
  const bundles = shortcutBundles();
  const toBundle = (value: unknown, raw?: boolean): MimeBundle =>
    raw && typeof value === "object" && value !== null ? (value as MimeBundle) : formatMimeBundle(value);

  const newHandle = (id: string = randomUUID(), alreadyShown = false): DisplayHandle => {
    let shown = alreadyShown;
    const show = (bundle: MimeBundle) => {
      router.require().display(bundle, {}, id);
      shown = true;
    };
    const showOrUpdate = (bundle: MimeBundle) => {
      if (shown) router.require().updateDisplay(id, bundle);
      else show(bundle);
    };
    const handle = {
      displayId: id,
      display: (value: unknown) => show(toBundle(value)),
      // The first update of a handle nobody has shown yet shows it: that is what a progress
      // loop written as `const h = display.newHandle(); h.update(...)` means.
      update: (value: unknown) => showOrUpdate(toBundle(value)),
    } as DisplayHandle;
    for (const name of SHORTCUTS) {
      (handle as unknown as Record<string, unknown>)[name] = (...args: [never, never]) =>
        showOrUpdate((bundles[name] as (...a: unknown[]) => MimeBundle)(...args));
    }
    return handle;
  };

  const display = ((value: unknown, options: DisplayOptions = {}) => {
    const bundle = toBundle(value, options.raw);
    if (options.displayId === undefined) {
      router.require().display(bundle, options.metadata ?? {});
      return undefined;
    }
    const handle = newHandle(options.displayId === true ? randomUUID() : options.displayId, true);
    router.require().display(bundle, options.metadata ?? {}, handle.displayId);
    return handle;
  }) as DisplayFunction;
  for (const name of SHORTCUTS) {
    (display as unknown as Record<string, unknown>)[name] = (...args: [never, never]) =>
      router.require().display((bundles[name] as (...a: unknown[]) => MimeBundle)(...args));
  }
  display.newHandle = () => newHandle();

  /** Clears the current cell's output; `wait: true` defers the clear until new output arrives. */
  const clearOutput = (options: { wait?: boolean } = {}) =>
    router.require().clearOutput(options.wait ?? false);

  /** tslab's module shape: `display.*` shortcuts and `newDisplay()`. */
  const tslab = {
    display: Object.fromEntries(SHORTCUTS.map((n) => [n, display[n]])),
    newDisplay: () => newHandle(),
    versions: { tslab: "tsparallel", typescript: "", node: process.version },
  };

  return { display, clearOutput, tslab };
}

/** What {@link createDisplayApi} returns. */
export type DisplayApi = ReturnType<typeof createDisplayApi>;
