import type { DirectView } from "./direct-view.js";

/** Registers `%px<suffix>` magics for a view; installed by the tsparallel kernel. */
export type MagicActivator = (view: DirectView<boolean>, suffix: string) => void;

let activator: MagicActivator | undefined;

/** @internal The kernel installs its activator here at start-up. */
export function setMagicActivator(fn: MagicActivator | undefined): void {
  activator = fn;
}

/** @internal Called by `DirectView.activate`. */
export function activateMagics(view: DirectView<boolean>, suffix: string): void {
  if (!activator) {
    throw new Error(
      "activate() registers %px magics, which exist only inside the tsparallel Jupyter kernel; outside it, call the view's methods",
    );
  }
  activator(view, suffix);
}
