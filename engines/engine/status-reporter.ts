import process from "node:process";
import { clearTimeout, setTimeout } from "node:timers";
import type { EngineStatus } from "../wire/protocol/messages.js";

/** How long an engine's status may lag behind when it goes idle. */
const STATUS_DELAY_MS = 100;
/** How often memory use is refreshed while nothing else changes. */
const STATUS_REFRESH_MS = 2_000;

/**
 * Keeps the controller told of an engine's state (`engine_status`: busy, tasks queued, memory):
 * at once when the engine turns busy (it may be about to block in a long synchronous task), a
 * moment later when it turns idle (a stream of tiny tasks flips between the two thousands of times
 * a second), and every few seconds anyway for its memory.
 */
export class StatusReporter {
  /** The status last sent. */
  #reported: EngineStatus = { busy: false, queued: 0, rss: 0 };
  #timer: NodeJS.Timeout | undefined;
  #refresh: NodeJS.Timeout | undefined;
  /** Sending only between {@link start} (the engine has its id) and {@link stop}. */
  #live = false;

  constructor(
    /** Where busy and queued are read (getters: read on every change, so nothing is allocated). */
    private readonly state: { readonly busy: boolean; readonly queued: number },
    private readonly send: (status: EngineStatus) => void,
  ) {}

  /** The state may have changed. */
  changed(): void {
    if (this.state.busy && !this.#reported.busy) {
      this.sendNow();
      return;
    }
    this.#timer ??= setTimeout(() => this.sendNow(), STATUS_DELAY_MS);
  }

  /** Sends the status now (and schedules the next refresh). */
  sendNow(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#live) return;
    this.#reported = { busy: this.state.busy, queued: this.state.queued, rss: process.memoryUsage.rss() };
    this.send(this.#reported);
    clearTimeout(this.#refresh);
    this.#refresh = setTimeout(() => this.sendNow(), STATUS_REFRESH_MS);
    this.#refresh.unref();
  }

  /** The engine is registered: report from now on, starting now. */
  start(): void {
    this.#live = true;
    this.sendNow();
  }

  stop(): void {
    this.#live = false;
    clearTimeout(this.#timer);
    clearTimeout(this.#refresh);
  }
}
