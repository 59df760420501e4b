import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | undefined;

/**
 * Runs a full garbage collection now, so that what user code dropped is finalized (and store
 * blocks it held are released) without waiting for memory pressure. V8 exposes `gc` only to
 * contexts made after `--expose-gc` is set, so a fresh context lends it; the engine's own global
 * does not get a `gc` user code could see.
 */
export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
}
