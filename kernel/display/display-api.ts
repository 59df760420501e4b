import { randomUUID } from "node:crypto";
import {
  formatMimeBundle,
  type MimeBundle,
  type MimeShortcuts,
  mimeShortcuts as shortcutBundles,
} from "../../engines/wire/values/mime-bundle.js";

export type { ImageData, MimeShortcuts } from "../../engines/wire/values/mime-bundle.js";

import type { DisplayMetadata } from "../protocol/messages.js";
import type { OutputRouter } from "./output-sink.js";

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
