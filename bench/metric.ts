/** Whether a larger or a smaller number is better for a metric. */
export type Better = "lower" | "higher";

/** One row of the results: our number, the peer's, and how many times better we are. */
export interface MetricResult {
  name: string;
  unit: string;
  better: Better;
  /** Median over repeats (the number reported). */
  ours: number | null;
  /** Name of what we compare against (ipyparallel, numpy, tslab). */
  peer: string;
  theirs: number | null;
  /** > 1 always means we are better, whichever direction the unit goes. */
  ratio: number | null;
  /** Best single repeat on each side, for the reader who wants the quiet-machine estimate. */
  oursBest: number | null;
  theirsBest: number | null;
  repeats: number;
  /** Why a side has no number (no equivalent in the peer, a failure). */
  note?: string;
}

/** A metric definition: how to measure one repetition on each side. */
export interface MetricSpec {
  name: string;
  unit: string;
  better: Better;
  peer: string;
  /** One repetition of our side; returns the value in `unit`. */
  ours: () => Promise<number>;
  /** One repetition of the peer's side, or null with a reason when the peer has no equivalent. */
  theirs: (() => Promise<number>) | { none: string };
  /**
   * Runs once before our repetitions instead of the single uncounted one, for metrics whose
   * steady state takes longer to reach (V8 compiling a hot path); what it returns goes into the
   * row's note.
   */
  warmUp?: () => Promise<string | undefined>;
  /**
   * `interleaved` (the default): ours, theirs, ours, … so the machine's load falls on both alike.
   * `blocks`: all of ours, then all of theirs, for a peer whose repetition is a long full-load
   * spell that leaves this VM slower for a while after it (bench/NOTES.md, "The machine").
   */
  order?: "interleaved" | "blocks";
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function best(xs: readonly number[], better: Better): number {
  return better === "lower" ? Math.min(...xs) : Math.max(...xs);
}

/** The ratio where > 1 means we are better. */
export function ratioOf(ours: number, theirs: number, better: Better): number {
  return better === "lower" ? theirs / ours : ours / theirs;
}

/**
 * Measures a metric with the two sides interleaved (ours, theirs, ours, theirs, …) so that
 * load from other processes on this shared machine falls on both alike, or in blocks when the
 * spec asks. One warm-up of each side runs first and is not counted (ours: the spec's own
 * `warmUp` when it has one).
 */
export async function measure(
  spec: MetricSpec,
  repeats: number,
  log: (s: string) => void,
): Promise<MetricResult> {
  const peerFn = typeof spec.theirs === "function" ? spec.theirs : null;
  const notes: string[] = [];
  const ours = new Side(spec.ours, "ours", notes);
  const theirs = new Side(peerFn, spec.peer, notes);
  if (spec.warmUp) await ours.warmUp(spec.warmUp);
  else await ours.once(false);
  if (spec.order === "blocks") {
    for (let r = 0; r < repeats; r++) await ours.once(true);
    await theirs.once(false);
    for (let r = 0; r < repeats; r++) await theirs.once(true);
  } else {
    await theirs.once(false);
    for (let r = 0; r < repeats; r++) {
      await ours.once(true);
      await theirs.once(true);
    }
  }
  if (!peerFn) notes.push((spec.theirs as { none: string }).none);
  const result = summarize(spec, ours.values, theirs.values, notes);
  log(
    `${spec.name}: ours ${fmt(result.ours)} ${spec.unit}, ${spec.peer} ${fmt(result.theirs)}` +
      (result.ratio ? `, ${result.ratio.toFixed(2)}×` : ""),
  );
  return result;
}

/** One side of a metric: its repetitions, stopped at the first failure (noted). */
class Side {
  readonly values: number[] = [];
  #failed = false;

  constructor(
    private readonly run: (() => Promise<number>) | null,
    private readonly who: string,
    private readonly notes: string[],
  ) {}

  /** Runs one repetition; keeps its value when `counted`. */
  async once(counted: boolean): Promise<void> {
    const run = this.run;
    if (!run) return;
    await this.#guard(async () => {
      const v = await run();
      if (counted) this.values.push(v);
    });
  }

  /** Runs a spec's own warm-up; its note joins the row's. */
  async warmUp(warm: () => Promise<string | undefined>): Promise<void> {
    await this.#guard(async () => {
      const note = await warm();
      if (note) this.notes.push(note);
    });
  }

  async #guard(work: () => Promise<void>): Promise<void> {
    if (this.#failed) return;
    try {
      await work();
    } catch (e) {
      this.#failed = true;
      this.notes.push(`${this.who} failed: ${(e as Error).message}`);
    }
  }
}

/** Builds a result row from samples already taken (warm-ups excluded). */
export function summarize(
  spec: Pick<MetricSpec, "name" | "unit" | "better" | "peer">,
  ours: readonly number[],
  theirs: readonly number[],
  notes: readonly string[] = [],
): MetricResult {
  const o = ours.length ? median(ours) : null;
  const t = theirs.length ? median(theirs) : null;
  const result: MetricResult = {
    name: spec.name,
    unit: spec.unit,
    better: spec.better,
    ours: o,
    peer: spec.peer,
    theirs: t,
    ratio: o !== null && t !== null ? ratioOf(o, t, spec.better) : null,
    oursBest: ours.length ? best(ours, spec.better) : null,
    theirsBest: theirs.length ? best(theirs, spec.better) : null,
    repeats: Math.max(ours.length, theirs.length),
  };
  if (notes.length) result.note = notes.join("; ");
  return result;
}

/** Three significant digits, or a dash for a missing number. */
export function fmt(v: number | null): string {
  if (v === null) return "—";
  if (Math.abs(v) >= 100) return v.toFixed(0);
  return Number(v.toPrecision(3)).toString();
}
