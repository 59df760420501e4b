import { performance } from "node:perf_hooks";
import { CompactNames } from "../wire/protocol/compact-names.js";
import type { EngineId, TaskSpansContent, TaskStreamContent } from "../wire/protocol/messages.js";
import type { EngineRegistry } from "./engine-registry.js";

/** How long spans and samples are kept (a view shows the last 60 s). */
const KEEP_MS = 120_000;
/** Spans of one name closer than this become one as they arrive (a tenth of a pixel of a 60 s view). */
const MERGE_GAP_MS = 10;
/** Spans an engine's ring starts with, and the most it grows to. */
const FIRST_CAPACITY = 1024;
const MAX_CAPACITY = 16_384;
/** How often throughput, queue lengths and memory are sampled. */
const SAMPLE_MS = 1000;
/** The window and resolution a request gets when it names none: 60 s over 600 pixels. */
const DEFAULT_WINDOW_MS = 60_000;
const DEFAULT_PIXELS = 600;

/** One engine's spans: a ring of typed arrays, oldest at `head`, times on the controller's clock. */
class SpanRing {
  start = new Float64Array(FIRST_CAPACITY);
  end = new Float64Array(FIRST_CAPACITY);
  count = new Uint32Array(FIRST_CAPACITY);
  name = new Int32Array(FIRST_CAPACITY);
  failed = new Uint8Array(FIRST_CAPACITY);
  head = 0;
  size = 0;
  /** The task running when the engine last told: its start and name id. */
  running: [number, number] | undefined;

  /** Adds a span, joining the newest one when it continues it; the oldest goes when full. */
  add(start: number, end: number, count: number, name: number, failed: number): void {
    const cap = this.start.length;
    if (this.size > 0) {
      const last = (this.head + this.size - 1) % cap;
      if (
        this.name[last] === name &&
        this.failed[last] === failed &&
        start - this.end[last]! < MERGE_GAP_MS
      ) {
        this.end[last] = Math.max(this.end[last]!, end);
        this.count[last]! += count;
        return;
      }
    }
    if (this.size === cap && cap < MAX_CAPACITY) this.#grow();
    const size = this.start.length;
    const at = (this.head + this.size) % size;
    if (this.size === size) this.head = (this.head + 1) % size;
    else this.size++;
    this.start[at] = start;
    this.end[at] = end;
    this.count[at] = count;
    this.name[at] = name;
    this.failed[at] = failed;
  }

  /** The i-th span from the oldest. */
  at(i: number): number {
    return (this.head + i) % this.start.length;
  }

  #grow(): void {
    const cap = this.start.length * 2;
    const order = Array.from({ length: this.size }, (_, i) => this.at(i));
    const copy = <T extends Float64Array | Uint32Array | Int32Array | Uint8Array>(a: T, b: T): T => {
      order.forEach((from, i) => {
        b[i] = a[from]!;
      });
      return b;
    };
    this.start = copy(this.start, new Float64Array(cap));
    this.end = copy(this.end, new Float64Array(cap));
    this.count = copy(this.count, new Uint32Array(cap));
    this.name = copy(this.name, new Int32Array(cap));
    this.failed = copy(this.failed, new Uint8Array(cap));
    this.head = 0;
  }
}

/** One sample of the cluster, once a second. */
interface Sample {
  t: number;
  unassigned: number;
  /** Engine id → [tasks completed since it registered, tasks waiting, resident bytes]. */
  engines: Map<EngineId, [number, number, number]>;
}

/**
 * The cluster's task stream: what each engine ran lately (the spans engines send about once a
 * second, engine/task-spans.ts), and once a second its throughput, queue lengths and memory. A
 * view asks for a window (`task_stream_request`) and gets spans merged to its resolution, so
 * what it receives and draws stays small however many tasks ran: nothing here is done per task.
 */
export class TaskStream {
  readonly #rows = new Map<EngineId, SpanRing>();
  readonly #names: string[] = [];
  readonly #ids = new Map<string, number>();
  readonly #samples: Sample[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: EngineRegistry,
    /** Load-balanced tasks not yet given to an engine. */
    private readonly unassigned: () => number,
  ) {}

  /** Starts sampling once a second. */
  start(): void {
    this.#timer ??= setInterval(() => this.sample(), SAMPLE_MS);
    this.#timer.unref();
    this.sample();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** An engine's `task_spans`: placed on this clock (its times are relative to when it sent them). */
  record(engine: EngineId, c: TaskSpansContent): void {
    const { spans, names } = c;
    if (!Array.isArray(spans) || !Array.isArray(names) || spans.length % 5 !== 0) return;
    const now = clock();
    const ids = names.map((n) => this.#id(String(n)));
    let row = this.#rows.get(engine);
    if (!row) {
      row = new SpanRing();
      this.#rows.set(engine, row);
    }
    for (let i = 0; i < spans.length; i += 5) {
      const name = ids[spans[i + 3]!];
      if (name === undefined) continue;
      row.add(now + spans[i]!, now + spans[i + 1]!, spans[i + 2]!, name, spans[i + 4] ? 1 : 0);
    }
    const running = c.running;
    const name = Array.isArray(running) ? ids[running[1]] : undefined;
    row.running = running && name !== undefined ? [now + running[0], name] : undefined;
  }

  /** Samples throughput, queues and memory; drops what is older than the longest window. */
  sample(): void {
    const s = this.#measure();
    this.#samples.push(s);
    while (this.#samples.length > 0 && this.#samples[0]!.t < s.t - KEEP_MS) this.#samples.shift();
    for (const id of this.#rows.keys()) if (!s.engines.has(id)) this.#rows.delete(id);
  }

  #measure(): Sample {
    const engines = new Map<EngineId, [number, number, number]>();
    for (const r of this.registry.alive())
      engines.set(r.info.id, [r.completed, Math.max(r.status.queued, r.outstanding.size), r.status.rss]);
    return { t: clock(), unassigned: this.unassigned(), engines };
  }

  /** The last `window_ms` (default 60 s), spans merged where they are closer than `resolution_ms`. */
  summary(opts: { window_ms?: number; resolution_ms?: number } = {}): TaskStreamContent {
    const windowMs = clamp(opts.window_ms, 1000, KEEP_MS, DEFAULT_WINDOW_MS);
    const res = clamp(opts.resolution_ms, 0.1, windowMs, windowMs / DEFAULT_PIXELS);
    const now = clock();
    const from = now - windowMs;
    const compact = new CompactNames(this.#names);
    const { names } = compact;
    const index = (id: number) => compact.index(id);
    // The stored samples, and one taken now: the series reach the right edge.
    const samples = [...this.#samples.filter((s) => s.t >= from - SAMPLE_MS), this.#measure()];
    const nameTasks: number[] = [];
    const engines = this.registry.alive().map((r) => {
      const row = this.#rows.get(r.info.id);
      if (row)
        countByName(row, from, (id, tasks) => {
          const i = index(id);
          nameTasks[i] = (nameTasks[i] ?? 0) + tasks;
        });
      const spans = row ? merged(row, from, res, index) : [];
      return {
        id: r.info.id,
        spans,
        ...(row?.running ? { running: [row.running[0], index(row.running[1])] as [number, number] } : {}),
        state: r.paused ? ("paused" as const) : r.status.busy ? ("busy" as const) : ("idle" as const),
        rss: r.status.rss,
        rss_series: samples.map((s) => s.engines.get(r.info.id)?.[2] ?? 0),
      };
    });
    const rate = samples.map((s, i) => {
      // Over a second at least: the live sample may come a moment after the last stored one.
      let j = i - 1;
      while (j > 0 && s.t - samples[j]!.t < 0.9 * SAMPLE_MS) j--;
      const before = samples[j];
      if (!before) return 0;
      let done = 0;
      for (const [id, [completed]] of s.engines) {
        // An engine that registered since `before` did all of its tasks in between.
        const was = before.engines.get(id)?.[0] ?? 0;
        if (completed >= was) done += completed - was;
      }
      return Math.round((done * 1000) / Math.max(1, s.t - before.t));
    });
    return {
      now,
      window_ms: windowMs,
      names,
      name_tasks: names.map((_, i) => nameTasks[i] ?? 0),
      engines,
      t: samples.map((s) => Math.round(s.t)),
      rate,
      queued: samples.map((s) => s.unassigned + [...s.engines.values()].reduce((n, e) => n + e[1], 0)),
    };
  }

  #id(name: string): number {
    let id = this.#ids.get(name);
    if (id === undefined) {
      id = this.#names.push(name) - 1;
      this.#ids.set(name, id);
    }
    return id;
  }
}

/** Calls `add` with each span's name and tasks, for the spans of `row` that end after `from`. */
function countByName(row: SpanRing, from: number, add: (name: number, tasks: number) => void): void {
  for (let i = 0; i < row.size; i++) {
    const k = row.at(i);
    if (row.end[k]! >= from) add(row.name[k]!, row.count[k]!);
  }
}

/**
 * The spans of `row` that end after `from`, flattened (start, end, tasks, name, failed), a span
 * shorter than `res` joined with a neighbour closer than `res`: what a pixel can show. Spans of
 * one name and outcome join whatever their length; short ones of different names take the name
 * with more tasks; a failure stays visible (the joined span counts as failed).
 */
function merged(row: SpanRing, from: number, res: number, index: (id: number) => number): number[] {
  const out: number[] = [];
  // The newest out span's name (it may change while short spans join it) and its tasks.
  let name = -1;
  let nameTasks = 0;
  const finish = () => {
    if (out.length) out[out.length - 2] = index(name);
  };
  for (let i = 0; i < row.size; i++) {
    const k = row.at(i);
    const end = row.end[k]!;
    if (end < from) continue;
    const start = Math.max(row.start[k]!, from);
    const count = row.count[k]!;
    const id = row.name[k]!;
    const failed = row.failed[k]!;
    const o = out.length - 5;
    if (o >= 0 && start - out[o + 1]! < res) {
      const sameKind = id === name && failed === out[o + 4];
      const bothShort = end - start < res && out[o + 1]! - out[o]! < res;
      if (sameKind || bothShort) {
        out[o + 1] = Math.max(out[o + 1]!, end);
        out[o + 2]! += count;
        if (failed) out[o + 4] = 1;
        if (id === name) nameTasks += count;
        else if (count > nameTasks) {
          name = id;
          nameTasks = count;
        }
        continue;
      }
    }
    finish();
    out.push(start, end, count, -1, failed);
    name = id;
    nameTasks = count;
  }
  finish();
  for (let i = 0; i < out.length; i += 5) {
    out[i] = Math.round(out[i]! * 10) / 10;
    out[i + 1] = Math.round(out[i + 1]! * 10) / 10;
  }
  return out;
}

/** Epoch milliseconds with sub-millisecond resolution. */
function clock(): number {
  return performance.timeOrigin + performance.now();
}

function clamp(v: number | undefined, lo: number, hi: number, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : fallback;
}
