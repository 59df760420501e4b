import type { CellOutcome } from "../../code-session.js";
import { formatDuration } from "../format-duration.js";
import { type Magic, type MagicContext, MagicUsageError } from "../magic.js";
import { parseMagicArguments, positiveInt } from "../magic-arguments.js";

const USAGE =
  "%timeit [-n N] [-r R] [-o] [-q] statement   |   %%timeit [-n N] [-r R] [-o] [-q] [setup] then the body on the following lines";
const OPTIONS = [
  { name: "number", short: "n", value: true },
  { name: "repeat", short: "r", value: true },
  { name: "output", short: "o" },
  { name: "quiet", short: "q" },
];

/** Aim for each calibration run to take at least this long, as IPython does. */
const TARGET_SECONDS = 0.2;

/** What `%timeit -o` returns: the measurements behind the printed line. */
export class TimeitResult {
  constructor(
    /** Loops per run. */
    readonly loops: number,
    /** Number of runs. */
    readonly repeat: number,
    /** Seconds per loop of each run. */
    readonly timings: readonly number[],
  ) {}
  /** Total seconds of each run (timings × loops), like IPython's `all_runs`. */
  get all_runs(): number[] {
    return this.timings.map((t) => t * this.loops);
  }
  /** Fastest run, seconds per loop. */
  get best(): number {
    return Math.min(...this.timings);
  }
  /** Slowest run, seconds per loop. */
  get worst(): number {
    return Math.max(...this.timings);
  }
  /** Mean seconds per loop. */
  get average(): number {
    return this.timings.reduce((a, b) => a + b, 0) / this.timings.length;
  }
  /** Standard deviation of seconds per loop across runs. */
  get stdev(): number {
    const m = this.average;
    return Math.sqrt(this.timings.reduce((a, t) => a + (t - m) ** 2, 0) / this.timings.length);
  }
  /** The line %timeit prints. */
  toString(): string {
    const runs = `${this.repeat} run${this.repeat === 1 ? "" : "s"}`;
    const loops = `${this.loops} loop${this.loops === 1 ? "" : "s"} each`;
    if (this.repeat === 1) {
      return `${formatDuration(this.average)} per loop (mean of ${runs}, ${loops})`;
    }
    return `${formatDuration(this.average)} ± ${formatDuration(this.stdev)} per loop (mean ± std. dev. of ${runs}, ${loops})`;
  }
  [Symbol.for("Jupyter.display")](): Record<string, string> {
    return { "text/plain": `<TimeitResult : ${this.toString()}>` };
  }
}

/** `%timeit` / `%%timeit`: repeated timing of a statement, in IPython's output format. */
export const timeitMagic: Magic = {
  name: "timeit",
  kind: "both",
  usage: USAGE,
  summary: "Time a statement or cell over many loops and runs (mean ± std. dev.).",
  resultType:
    "{ readonly loops: number; readonly repeat: number; readonly timings: readonly number[]; readonly all_runs: number[]; " +
    "readonly best: number; readonly worst: number; readonly average: number; readonly stdev: number }",
  async run(args, body, ctx) {
    const { options, rest } = parseMagicArguments(args, OPTIONS, USAGE);
    const setup = body === undefined ? "" : rest;
    const statement = body === undefined ? rest : body;
    if (statement.trim() === "") throw new MagicUsageError("nothing to time", USAGE);
    const number = positiveInt(options.number, "-n", USAGE);
    const repeat = positiveInt(options.repeat, "-r", USAGE) ?? 7;

    if (setup.trim() !== "") {
      const s = await ctx.runCode(setup);
      if (s.status === "error") return s;
    }
    // The loop runs inside the session, so an interrupt breaks it like any cell.
    const isAsync = /\bawait\b/.test(statement);
    const timer = `var __tsparallelTimeit = ${isAsync ? "async " : ""}(__n: number): ${isAsync ? "Promise<number>" : "number"} => {
  const __t0 = performance.now();
  for (let __i = 0; __i < __n; __i++) {
${statement}
  }
  return (performance.now() - __t0) / 1000;
};`;
    const compiled = await ctx.runCode(timer);
    if (compiled.status === "error") return compiled;
    const measure = async (n: number): Promise<number | CellOutcome> => {
      const r = await ctx.runCode(`${isAsync ? "await " : ""}__tsparallelTimeit(${n})`);
      if (r.status === "error") return r;
      return r.result?.value as number;
    };

    let loops = number ?? 0;
    if (number === undefined) {
      // 1, 2, 5, 10, 20, 50, … until one run takes long enough.
      outer: for (let scale = 1; ; scale *= 10) {
        for (const k of [1, 2, 5]) {
          loops = k * scale;
          const t = await measure(loops);
          if (typeof t !== "number") return t;
          if (t >= TARGET_SECONDS) break outer;
        }
      }
    }
    const timings: number[] = [];
    for (let r = 0; r < repeat; r++) {
      if (ctx.signal.aborted) break;
      const t = await measure(loops);
      if (typeof t !== "number") return t;
      timings.push(t / loops);
    }
    const result = new TimeitResult(loops, timings.length, timings);
    if (!options.quiet) ctx.stream("stdout", `${result.toString()}\n`);
    return options.output ? { status: "ok", result: { value: result } } : { status: "ok" };
  },
};

export type { MagicContext };
