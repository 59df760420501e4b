import { Poll } from "@lumino/polling";
import { type ISignal, Signal } from "@lumino/signaling";
import type { ClusterApi, TaskStreamSnapshot } from "./cluster-api";

/** Options of {@link TaskStreamModel}. */
export interface TaskStreamModelOptions {
  api: ClusterApi;
  cluster: string;
  /** The width the stream is drawn at, in CSS pixels: spans are merged to one of them. */
  width: () => number;
  /** False while nobody can see the view: polling then stands by. */
  isVisible: () => boolean;
  /** How often to look, in ms (default 1000). */
  interval?: number;
}

/**
 * The task stream of one cluster, kept current while its view is shown: the controller's last
 * minute, asked for about once a second (the server extension passes the request on; the answer
 * is a few kilobytes however many tasks ran).
 */
export class TaskStreamModel {
  readonly cluster: string;
  /** The latest answer; null until the first arrives. */
  snapshot: TaskStreamSnapshot | null = null;
  /** Why the latest look failed (e.g. the cluster stopped), if it did. */
  error: string | null = null;
  /** When the first answer arrived, in ms after the model was made (how long the view took to fill). */
  firstAnswerMs: number | null = null;

  readonly #api: ClusterApi;
  readonly #width: () => number;
  readonly #poll: Poll;
  readonly #changed = new Signal<this, void>(this);
  readonly #made = performance.now();

  constructor(opts: TaskStreamModelOptions) {
    this.cluster = opts.cluster;
    this.#api = opts.api;
    this.#width = opts.width;
    this.#poll = new Poll({
      factory: () => this.#load(),
      frequency: { interval: opts.interval ?? 1000, backoff: true, max: 10_000 },
      standby: () => (opts.isVisible() ? "when-hidden" : true),
      name: `tsparallel:task-stream:${opts.cluster}`,
    });
  }

  /** Emitted when a new answer (or a failure) arrives. */
  get changed(): ISignal<this, void> {
    return this.#changed;
  }

  /** Looks now (the view was shown, or resized). */
  async refresh(): Promise<void> {
    await this.#poll.refresh();
    await this.#poll.tick;
  }

  dispose(): void {
    this.#poll.dispose();
    Signal.clearData(this);
  }

  async #load(): Promise<void> {
    try {
      this.snapshot = await this.#api.stream(this.cluster, Math.max(10, this.#width()));
      this.error = null;
      this.firstAnswerMs ??= Math.round(performance.now() - this.#made);
    } catch (e) {
      this.error = (e as Error).message;
      this.#changed.emit();
      throw e; // the poll backs off
    }
    this.#changed.emit();
  }
}
