/**
 * TypeScript declarations for the display globals, handed to the session with defineGlobal so
 * cells type-check and Shift-Tab shows these doc comments. Keep in sync with display-api.ts.
 */

const SHORTCUTS = (ret: string) => `
  /** Shows HTML. */
  html(html: string): ${ret};
  /** Shows Markdown. */
  markdown(markdown: string): ${ret};
  /** Shows an SVG image (the markup as a string). */
  svg(svg: string): ${ret};
  /** Shows a PNG image: its bytes, or a base64 string. */
  png(image: Uint8Array | ArrayBuffer | string): ${ret};
  /** Shows a JPEG image: its bytes, or a base64 string. */
  jpeg(image: Uint8Array | ArrayBuffer | string): ${ret};
  /** Shows a GIF image: its bytes, or a base64 string. */
  gif(image: Uint8Array | ArrayBuffer | string): ${ret};
  /** Shows a PDF document: its bytes, or a base64 string. */
  pdf(document: Uint8Array | ArrayBuffer | string): ${ret};
  /** Shows a value as an interactive JSON tree. */
  json(value: unknown): ${ret};
  /** Renders a Vega-Lite (v5) chart from its spec. */
  vegalite(spec: object): ${ret};
  /** Shows LaTeX math, e.g. "$$e^{i\\\\pi} = -1$$". */
  latex(latex: string): ${ret};
  /** Shows plain text. */
  text(text: string): ${ret};
  /** Runs JavaScript in the frontend (JupyterLab may refuse it). */
  javascript(code: string): ${ret};
  /** Shows data of any MIME type, as the frontend expects it. */
  raw(mimeType: string, data: unknown): ${ret};`;

/** Declarations of `display`, `clearOutput` and their types. */
export const DISPLAY_DECLARATION = `
/** An output that can be replaced in place (Jupyter display_id). */
interface DisplayHandle {${SHORTCUTS("void")}
  /** The Jupyter display_id shared by every output of this handle. */
  readonly displayId: string;
  /** Shows a value as a new output tied to this handle. */
  display(value: unknown): void;
  /** Replaces every output tied to this handle with a new value. */
  update(value: unknown): void;
}
/** Options of display(value, options). */
interface DisplayOptions {
  /** true for a fresh id, or your own id: display() then returns a DisplayHandle to update. */
  displayId?: string | true;
  /** Per-MIME-type metadata, e.g. { "image/png": { width: 200 } }. */
  metadata?: Record<string, unknown>;
  /** The value is already a MIME bundle ({ "text/html": "…", "text/plain": "…" }). */
  raw?: boolean;
}
interface DisplayFunction {${SHORTCUTS("void")}
  /**
   * Shows a value in the cell's output, like the result of the last line. Objects with a
   * [Symbol.for("Jupyter.display")]() method choose their own MIME bundle.
   */
  (value: unknown, options: DisplayOptions & { displayId: string | true }): DisplayHandle;
  (value: unknown, options?: DisplayOptions): void;
  /** A handle whose shortcuts (html, png…) show the first time and update in place after that. */
  newHandle(): DisplayHandle;
}
/** Shows values and rich media in the cell's output. */
declare const display: DisplayFunction;
`;

/** Declaration of `clearOutput`. */
export const CLEAR_OUTPUT_DECLARATION = `
/** Clears the cell's output. With wait: true, the old output stays until new output arrives. */
declare function clearOutput(options?: { wait?: boolean }): void;
`;

/** The "tslab" module, so notebooks written for tslab run unchanged. */
export const TSLAB_MODULE_DECLARATION = `
/** tslab's display API (provided by tsparallel). */
export interface Display {${SHORTCUTS("void")}
}
/** Shows rich output in the current cell. */
export declare const display: Display;
/** A display whose calls after the first replace its output in place. */
export declare function newDisplay(): Display;
/** Versions of the runtime. */
export declare const versions: { tslab: string; typescript: string; node: string };
`;
