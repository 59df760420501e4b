import type { EngineId } from "../../engines/index.js";
import { MagicUsageError } from "../magics/magic.js";

/**
 * Reads a `%px -t` target spec against the engine ids, as ipyparallel does: `all`, one id
 * (`3`), a list (`0,2`), or a Python-style slice over the ids (`::2`, `1:`, `:-1`).
 * Returns the chosen ids, in order; names a spec that selects nothing or an id that is unknown.
 */
export function parseTargets(spec: string, ids: readonly EngineId[], usage: string): EngineId[] {
  const s = spec.trim().replace(/^\[|\]$/g, "");
  if (s === "all" || s === "") return [...ids];
  if (s.includes(":")) {
    const parts = s.split(":");
    if (parts.length > 3) throw new MagicUsageError(`bad target slice "${spec}"`, usage);
    const num = (p: string | undefined, what: string): number | undefined => {
      if (p === undefined || p.trim() === "") return undefined;
      const n = Number(p);
      if (!Number.isInteger(n))
        throw new MagicUsageError(`bad ${what} "${p}" in target slice "${spec}"`, usage);
      return n;
    };
    const step = num(parts[2], "step") ?? 1;
    if (step === 0) throw new MagicUsageError(`target slice step cannot be zero`, usage);
    const len = ids.length;
    const clamp = (v: number | undefined, dflt: number) => {
      if (v === undefined) return dflt;
      const x = v < 0 ? v + len : v;
      return step > 0 ? Math.min(Math.max(x, 0), len) : Math.min(Math.max(x, -1), len - 1);
    };
    const start = clamp(num(parts[0], "start"), step > 0 ? 0 : len - 1);
    const stop = clamp(num(parts[1], "stop"), step > 0 ? len : -1);
    const out: EngineId[] = [];
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(ids[i]!);
    if (out.length === 0)
      throw new MagicUsageError(`target slice "${spec}" selects no engine (ids: ${ids.join(", ")})`, usage);
    return out;
  }
  const chosen = s.split(",").map((p) => {
    const n = Number(p.trim());
    if (!Number.isInteger(n))
      throw new MagicUsageError(`bad target "${p.trim()}" (use all, an id, 0,2 or ::2)`, usage);
    if (!ids.includes(n))
      throw new MagicUsageError(`engine ${n} does not exist (ids: ${ids.join(", ") || "none"})`, usage);
    return n;
  });
  return chosen;
}
