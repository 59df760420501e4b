import { MagicRegistry } from "../registry.js";
import { lsmagicMagic } from "./lsmagic.js";
import { profMagic } from "./prof.js";
import { htmlMagic, markdownMagic, svgMagic } from "./rich-text.js";
import { tbMagic } from "./tb.js";
import { timeMagic } from "./time.js";
import { timeitMagic } from "./timeit.js";
import { typecheckMagic } from "./typecheck.js";

export { TimeitResult } from "./timeit.js";

/** A registry with the kernel's own magics; the parallel magics are added by the cluster layer. */
export function coreMagics(): MagicRegistry {
  const registry = new MagicRegistry();
  for (const m of [
    timeMagic,
    timeitMagic,
    htmlMagic,
    markdownMagic,
    svgMagic,
    typecheckMagic,
    profMagic,
    tbMagic,
  ])
    registry.register(m);
  registry.register(lsmagicMagic(registry));
  return registry;
}
