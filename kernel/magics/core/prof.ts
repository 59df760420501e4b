import { Session } from "node:inspector";
import type { CellOutcome } from "../../code-session.js";
import { formatDuration } from "../format-duration.js";
import { type Magic, MagicUsageError } from "../magic.js";
import { parseMagicArguments, positiveInt } from "../magic-arguments.js";

const USAGE = "%%prof [-n TOP] [-i MICROSECONDS] then the cell on the following lines";
const OPTIONS = [
  { name: "top", short: "n", value: true },
  { name: "interval", short: "i", value: true },
];

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  positionTicks?: { line: number; ticks: number }[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self and total time of one function in a profile. */
export interface FunctionCost {
  name: string;
  location: string;
  selfMs: number;
  totalMs: number;
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T)));
  });
}

/** Sums sample time per function (self) and per function including callees (total). */
export function functionCosts(profile: CpuProfile): FunctionCost[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0));
  });
  const totalUs = new Map<number, number>();
  const total = (id: number): number => {
    const cached = totalUs.get(id);
    if (cached !== undefined) return cached;
    const n = byId.get(id)!;
    const t = (selfUs.get(id) ?? 0) + (n.children ?? []).reduce((a, c) => a + total(c), 0);
    totalUs.set(id, t);
    return t;
  };
  const rows = new Map<string, FunctionCost>();
  for (const n of profile.nodes) {
    const f = n.callFrame;
    if (f.functionName === "(root)" || f.functionName === "(program)" || f.functionName === "(idle)")
      continue;
    const location = f.url ? `${f.url}:${f.lineNumber + 1}` : "(native)";
    const key = `${f.functionName}@${location}`;
    const row = rows.get(key) ?? { name: f.functionName || "(anonymous)", location, selfMs: 0, totalMs: 0 };
    row.selfMs += (selfUs.get(n.id) ?? 0) / 1000;
    row.totalMs += total(n.id) / 1000;
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => b.selfMs - a.selfMs);
}

/** Sample hits per source line, for the scripts whose url satisfies `which`. */
export function lineHits(
  profile: CpuProfile,
  which: (url: string) => boolean,
): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  for (const n of profile.nodes) {
    if (!n.positionTicks || !which(n.callFrame.url)) continue;
    const lines = out.get(n.callFrame.url) ?? new Map<number, number>();
    for (const t of n.positionTicks) lines.set(t.line, (lines.get(t.line) ?? 0) + t.ticks);
    out.set(n.callFrame.url, lines);
  }
  return out;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

/**
 * `%%prof`: runs the cell under V8's sampling CPU profiler and shows the hottest functions by
 * self time and the sample hits per line of the cell's code.
 */
export const profMagic: Magic = {
  name: "prof",
  kind: "cell",
  usage: USAGE,
  summary: "Profile a cell with V8's CPU profiler: hottest functions by self time and hits per line.",
  async run(args, body, ctx) {
    const { options, rest } = parseMagicArguments(args, OPTIONS, USAGE);
    if (rest.trim() !== "") throw new MagicUsageError(`unexpected argument "${rest.trim()}"`, USAGE);
    if (!body || body.trim() === "") throw new MagicUsageError("nothing to profile", USAGE);
    const top = positiveInt(options.top, "-n", USAGE) ?? 12;
    const interval = positiveInt(options.interval, "-i", USAGE) ?? 100;

    const session = new Session();
    session.connect();
    let outcome: CellOutcome;
    let profile: CpuProfile;
    try {
      await post(session, "Profiler.enable");
      await post(session, "Profiler.setSamplingInterval", { interval });
      await post(session, "Profiler.start");
      const t0 = performance.now();
      try {
        outcome = await ctx.runCode(body);
      } finally {
        profile = (await post<{ profile: CpuProfile }>(session, "Profiler.stop")).profile;
      }
      const wallMs = performance.now() - t0;
      const sampledMs = profile.timeDeltas.reduce((a, b) => a + b, 0) / 1000;
      const costs = functionCosts(profile).slice(0, top);
      const header = `${profile.samples.length} samples over ${formatDuration(wallMs / 1000)} (every ${interval} µs)`;
      const text = [
        header,
        "",
        " self ms   self %  total ms  function (location)",
        ...costs.map(
          (c) =>
            `${c.selfMs.toFixed(1).padStart(8)} ${((100 * c.selfMs) / Math.max(sampledMs, 1e-9)).toFixed(1).padStart(7)}% ${c.totalMs.toFixed(1).padStart(9)}  ${c.name} (${c.location})`,
        ),
      ];
      const hits = lineHits(profile, (url) => /^cell\b|\[cell|<cell/.test(url) || url.includes("cell-"));
      const lines = body.split("\n");
      const cellHits = new Map<number, number>();
      for (const perUrl of hits.values())
        for (const [line, n] of perUrl) cellHits.set(line, (cellHits.get(line) ?? 0) + n);
      if (cellHits.size > 0) {
        text.push("", " hits  line");
        lines.forEach((src, i) => {
          const n = cellHits.get(i + 1);
          text.push(`${(n ? String(n) : "").padStart(5)}  ${String(i + 1).padStart(3)}  ${src}`);
        });
      }
      const html =
        `<p>${escapeHtml(header)}</p><table><thead><tr><th>self ms</th><th>self %</th><th>total ms</th><th>function</th><th>location</th></tr></thead><tbody>` +
        costs
          .map(
            (c) =>
              `<tr><td>${c.selfMs.toFixed(1)}</td><td>${((100 * c.selfMs) / Math.max(sampledMs, 1e-9)).toFixed(1)}%</td><td>${c.totalMs.toFixed(1)}</td><td><code>${escapeHtml(c.name)}</code></td><td>${escapeHtml(c.location)}</td></tr>`,
          )
          .join("") +
        "</tbody></table>";
      ctx.display({ "text/plain": text.join("\n"), "text/html": html });
    } finally {
      session.disconnect();
    }
    return outcome;
  },
};
