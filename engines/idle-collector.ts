import { loadNativeAddon } from "../ndarray/node/native-addon.js";
import { collectAndCompact, shrinkYoungGeneration } from "./store/collect-garbage.js";

/** glibc's malloc_trim through the addon; nothing without it (no compiler at install). */
function trimCHeap(): void {
  try {
    loadNativeAddon().mallocTrim();
  } catch {
    // no addon: the C heap keeps what it freed
  }
}

/**
 * The default follow-up. N-API finalizers run in a later turn of the event loop than the
 * collection that found their objects dead, so C memory that ZeroMQ's received messages held can
 * be freed after the first trim; trimming again gives it back.
 */
function trimAgainAndShrinkYoung(): boolean {
  trimCHeap();
  return shrinkYoungGeneration();
}

/** What counts as a burst, and how long the quiet after it must last. */
export interface IdleCollectorOptions {
  /** Messages from clients since the last collection that make one worth it (default 200; a task batch is one). */
  minMessages?: number;
  /** How long without a message counts as quiet, in ms (default 2,000). */
  quietMs?: number;
  /**
   * Also collect, once quiet, when the resident size has grown past this multiple of what it was
   * after the last collection (or at start), however few messages came: traffic that never became
   * a message (connections refused at the handshake, undecodable frames) still leaves freed C
   * memory behind. Off by default.
   */
  rssGrowth?: number;
  /**
   * What runs once quiet (default: a full, compacting V8 collection, then glibc's malloc_trim).
   */
  collect?: () => void;
  /**
   * What runs at each quiet check after a collection until it returns true, at most
   * `followUps` times (default: malloc_trim again, and a minor collection until V8's young
   * generation is back to its idle size, see {@link shrinkYoungGeneration}; with a custom
   * `collect`, nothing).
   */
  followUp?: () => boolean;
  /** How many follow-ups a collection may have (default 24, 12 s at the default quietMs). */
  followUps?: number;
  /** The resident size in bytes (default: the process's; tests give their own). */
  rss?: () => number;
  /** True while the process is at work without messages (a kernel running a cell): not quiet. */
  busy?: () => boolean;
}

/**
 * Gives memory back after a burst. The controller runs without V8's memory reducer (a flood
 * right after an idle spell would otherwise spend its time growing the heap again), so after a
 * million tasks its heap stayed at its peak for good. Once a burst of messages is followed by a
 * quiet spell, one full collection runs, and glibc is asked to give back what the C heap freed
 * (ZeroMQ's message buffers): memory shrinks to what the controller still holds (its bounded task
 * table), at the cost of one pause when nobody is waiting. Engines use it too, with `rssGrowth`:
 * 11,000 hostile lane messages left an engine at 125 MB (idle 60) with a V8 heap of 16 MB, the
 * rest freed C memory glibc kept. After the collection, follow-ups give back the young generation
 * the burst grew, which V8 keeps until a collection finds the allocation rate low: a kernel sent
 * 20,000 hostile messages stayed at 2× its idle size for want of one.
 */
export class IdleCollector {
  readonly #minMessages: number;
  readonly #quietMs: number;
  readonly #timer: NodeJS.Timeout;
  readonly #collect: () => void;
  readonly #rssGrowth: number | undefined;
  readonly #rss: () => number;
  readonly #busy: () => boolean;
  readonly #followUp: (() => boolean) | undefined;
  readonly #followUps: number;
  #followUpsLeft = 0;
  #baseline: number;
  #seen = 0;
  #counted = 0;
  #sinceCollection = 0;
  #lastActive = 0;

  constructor(opts: IdleCollectorOptions = {}) {
    this.#minMessages = opts.minMessages ?? 200;
    this.#quietMs = opts.quietMs ?? 2000;
    this.#rssGrowth = opts.rssGrowth;
    this.#rss = opts.rss ?? (() => process.memoryUsage.rss());
    this.#busy = opts.busy ?? (() => false);
    this.#followUp = opts.followUp ?? (opts.collect ? undefined : trimAgainAndShrinkYoung);
    this.#followUps = opts.followUps ?? 24;
    this.#baseline = this.#rssGrowth ? this.#rss() : 0;
    this.#collect =
      opts.collect ??
      (() => {
        // Even if V8 ran a full collection itself while quiet: it did not compact.
        collectAndCompact();
        trimCHeap();
      });
    this.#timer = setInterval(() => this.#check(), Math.max(100, this.#quietMs / 4));
    this.#timer.unref();
  }

  /** A message arrived. */
  saw(): void {
    this.#seen++;
  }

  #check(): void {
    const now = performance.now();
    if (this.#busy()) this.#lastActive = now;
    if (this.#seen !== this.#counted) {
      this.#sinceCollection += this.#seen - this.#counted;
      this.#counted = this.#seen;
      this.#lastActive = now;
      return;
    }
    if (now - this.#lastActive < this.#quietMs) return;
    if (this.#followUpsLeft > 0) {
      this.#followUpsLeft = this.#followUp?.() ? 0 : this.#followUpsLeft - 1;
      if (this.#rssGrowth !== undefined) this.#baseline = this.#rss();
    }
    // The resident size is read only while quiet, at most every quarter of quietMs.
    const grown = this.#rssGrowth !== undefined && this.#rss() > this.#baseline * this.#rssGrowth;
    if (this.#sinceCollection < this.#minMessages && !grown) return;
    this.#sinceCollection = 0;
    this.#collect();
    this.#followUpsLeft = this.#followUps;
    if (this.#rssGrowth !== undefined) this.#baseline = this.#rss();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
