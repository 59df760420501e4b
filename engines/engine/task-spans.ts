import { performance } from "node:perf_hooks";
import { clearTimeout, setTimeout } from "node:timers";
import { CompactNames } from "../wire/protocol/compact-names.js";
import type { TaskSpansContent } from "../wire/protocol/messages.js";

/** How often an engine at work tells the controller what it ran. */
const FLUSH_MS = 1000;
/** Tasks of one name that follow each other closer than this share a span (far below a pixel of a 60 s view). */
const MERGE_GAP_MS = 2;
/** Spans kept between two flushes; past it a task joins the last span (the view loses detail, not time). */
const CAPACITY = 2048;
/**
 * A task that starts after the engine idled this long is told at once (it may be long and
 * synchronous, and keep the next flush away while it runs): at most 20 messages a second, while
 * tasks back to back in a flood wait for the next flush.
 */
const IDLE_MS = 50;
/** Distinct task names an engine reports; later ones share one name. */
const MAX_NAMES = 4096;
const OTHER_NAMES = "(other)";

/**
 * What an engine ran lately, for the task stream: a task's start, end, name and outcome go into
 * a few typed arrays (no allocation per task; at 25,000 tasks a second this is all the engine
 * does for the stream), tasks of one name that follow each other within {@link MERGE_GAP_MS}
 * share one span, and about once a second while the engine works the spans go to the controller
 * in one `task_spans` message, which keeps them (controller/task-stream.ts).
 */
export class TaskSpans {
  readonly #start = new Float64Array(CAPACITY);
  readonly #end = new Float64Array(CAPACITY);
  readonly #count = new Uint32Array(CAPACITY);
  readonly #name = new Uint16Array(CAPACITY);
  readonly #failed = new Uint8Array(CAPACITY);
  #n = 0;
  readonly #names: string[] = [];
  readonly #ids = new Map<string, number>();
  /** The running task's start (performance.now() ms) and name id; NaN when none runs. */
  #runStart = Number.NaN;
  #runName = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Whether the running task has been reported since it began. */
  #runReported = true;
  /** When the last task ended (performance.now() ms). */
  #lastEnd = Number.NEGATIVE_INFINITY;
  #live = false;

  /** `send` resolves once the socket has taken the message. */
  constructor(private readonly send: (content: TaskSpansContent) => Promise<unknown>) {}

  /** The engine is registered: report from now on. */
  start(): void {
    this.#live = true;
  }

  /**
   * A task named `name` starts at `t` (performance.now() ms). An engine that was idle tells at
   * once, so that a long task shows while it runs: its synchronous code may keep the event loop,
   * and the next flush, away for long. Then the promise says when the message has left, which the
   * task must wait for (a send queued behind another needs the event loop); otherwise undefined.
   */
  begin(name: string, t: number): Promise<unknown> | undefined {
    // Before registration only the engine's own warm-up runs (lane-warm-up.ts): nobody's task.
    if (!this.#live) return undefined;
    this.#runStart = t;
    this.#runName = this.#id(name);
    this.#runReported = false;
    if (this.#timer && t - this.#lastEnd <= IDLE_MS) return undefined;
    return this.flush();
  }

  /** The task begun last ends at `t`, failed or not. */
  end(t: number, failed: boolean): void {
    const start = this.#runStart;
    if (Number.isNaN(start)) return;
    this.#runStart = Number.NaN;
    this.#lastEnd = t;
    const name = this.#runName;
    const f = failed ? 1 : 0;
    const last = this.#n - 1;
    if (
      last >= 0 &&
      (this.#n === CAPACITY ||
        (this.#name[last] === name && this.#failed[last] === f && start - this.#end[last]! < MERGE_GAP_MS))
    ) {
      this.#end[last] = t;
      this.#count[last]!++;
      if (f) this.#failed[last] = 1; // a merge forced by a full buffer must not hide a failure
      return;
    }
    this.#start[this.#n] = start;
    this.#end[this.#n] = t;
    this.#count[this.#n] = 1;
    this.#name[this.#n] = name;
    this.#failed[this.#n] = f;
    this.#n++;
  }

  /**
   * Sends what ran since the last flush (and the running task), and keeps flushing while there is
   * work. Resolves when the message has left (undefined: nothing to send).
   */
  flush(): Promise<unknown> | undefined {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#live) return undefined;
    const running = !Number.isNaN(this.#runStart);
    const news = this.#n > 0 || (running && !this.#runReported);
    const sent = news ? this.#send(running) : undefined;
    if (news || running) {
      this.#timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.#timer.unref();
    }
    return sent;
  }

  #send(running: boolean): Promise<unknown> {
    const now = performance.now();
    const compact = new CompactNames(this.#names);
    const { names } = compact;
    const index = (id: number) => compact.index(id);
    const spans: number[] = new Array(this.#n * 5);
    for (let i = 0; i < this.#n; i++) {
      spans[i * 5] = round(this.#start[i]! - now);
      spans[i * 5 + 1] = round(this.#end[i]! - now);
      spans[i * 5 + 2] = this.#count[i]!;
      spans[i * 5 + 3] = index(this.#name[i]!);
      spans[i * 5 + 4] = this.#failed[i]!;
    }
    const content: TaskSpansContent = { now: performance.timeOrigin + now, names, spans };
    if (running) content.running = [round(this.#runStart - now), index(this.#runName)];
    this.#n = 0;
    this.#runReported = true;
    return this.send(content);
  }

  stop(): void {
    this.#live = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #id(name: string): number {
    const known = this.#ids.get(name);
    if (known !== undefined) return known;
    const key = this.#names.length < MAX_NAMES ? name : OTHER_NAMES;
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#names.push(key) - 1;
      this.#ids.set(key, id);
    }
    return id;
  }
}

/** Hundredths of a millisecond are plenty, and keep the message short. */
function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
