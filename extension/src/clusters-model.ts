import { Poll } from "@lumino/polling";
import { type ISignal, Signal } from "@lumino/signaling";
import type { ClusterApi, ClusterList } from "./cluster-api";
import { plural } from "./format";

/** The outcome of an action, shown under its cluster (or at the top for a new cluster). */
export interface Notice {
  kind: "info" | "error";
  text: string;
}

/** Options of {@link ClustersModel}. */
export interface ClustersModelOptions {
  api: ClusterApi;
  /** How often to look while the panel is shown, in ms (default 1000). */
  interval?: number;
  /** False while nobody can see the panel: polling then stands by. */
  isVisible: () => boolean;
}

/** Where notices about the panel itself (the listing, a new cluster) go. */
export const PANEL = "";

/** How long a notice of success stays (errors stay until dismissed). */
const INFO_NOTICE_MS = 10_000;

/**
 * What the cluster panel shows, kept current: the latest listing (polled while the panel is
 * visible), actions under way, and the last outcome of an action per cluster.
 */
export class ClustersModel {
  /** The latest listing; null until the first one arrives. */
  list: ClusterList | null = null;
  /** Why the latest listing failed, if it did. */
  loadError: string | null = null;
  /** Cluster name → the action running on it ("scaling…"). */
  readonly pending = new Map<string, string>();
  /** Cluster name (or {@link PANEL}) → the last action's outcome. */
  readonly notices = new Map<string, Notice>();

  readonly #api: ClusterApi;
  readonly #poll: Poll;
  readonly #changed = new Signal<this, void>(this);
  #requested = 0;
  #shown = 0;

  constructor(opts: ClustersModelOptions) {
    this.#api = opts.api;
    this.#poll = new Poll({
      factory: () => this.#load(),
      frequency: { interval: opts.interval ?? 1000, backoff: true, max: 30_000 },
      // Stand by while the panel is hidden (and while the browser tab is).
      standby: () => (opts.isVisible() ? "when-hidden" : true),
      name: "tsparallel:clusters",
    });
  }

  /** Emitted whenever anything above changes. */
  get changed(): ISignal<this, void> {
    return this.#changed;
  }

  /** Looks again now (e.g. when the panel is shown). */
  async refresh(): Promise<void> {
    await this.#poll.refresh();
    await this.#poll.tick;
  }

  /** Starts cluster `name` with `n` engines. Resolves true when it started. */
  start(name: string, n: number): Promise<boolean> {
    return this.#act(PANEL, "starting", `Cluster "${name}" started with ${plural(n, "engine")}.`, () =>
      this.#api.start(name, n),
    );
  }

  scale(name: string, n: number): Promise<boolean> {
    return this.#act(name, "scaling", `Scaled to ${n} engines.`, () => this.#api.scale(name, n));
  }

  /** Stops a cluster, or cleans up after one whose controller died. */
  stop(name: string): Promise<boolean> {
    return this.#act(name, "stopping", "", async () => {
      const r = await this.#api.stop(name);
      this.#notify(PANEL, { kind: "info", text: `Cluster "${name}": ${r.done}.` });
    });
  }

  restartEngine(name: string, engine: number): Promise<boolean> {
    return this.#act(name, `restarting engine ${engine}`, `Engine ${engine} restarted.`, () =>
      this.#api.restartEngine(name, engine),
    );
  }

  signal(name: string, engines: number[] | "all", signal: string): Promise<boolean> {
    const which =
      engines === "all" ? "all engines" : `engine${engines.length === 1 ? "" : "s"} ${engines.join(", ")}`;
    return this.#act(name, `sending ${signal}`, `${signal} sent to ${which}.`, () =>
      this.#api.signal(name, engines, signal),
    );
  }

  /** Shows `notice` under cluster `name` (or {@link PANEL}). */
  note(name: string, notice: Notice): void {
    this.#notify(name, notice);
    this.#changed.emit();
  }

  /** Forgets a cluster's notice (its close button). */
  dismiss(name: string): void {
    if (this.notices.delete(name)) this.#changed.emit();
  }

  dispose(): void {
    this.#poll.dispose();
    Signal.clearData(this);
  }

  async #act(name: string, what: string, done: string, action: () => Promise<unknown>): Promise<boolean> {
    if (this.pending.has(name)) return false;
    this.pending.set(name, what);
    this.notices.delete(name);
    this.#changed.emit();
    let ok = true;
    try {
      await action();
      if (done) this.#notify(name, { kind: "info", text: done });
    } catch (e) {
      ok = false;
      this.notices.set(name, { kind: "error", text: `${capitalise(what)} failed: ${(e as Error).message}` });
    } finally {
      this.pending.delete(name);
    }
    this.#changed.emit();
    await this.refresh().catch(() => {});
    return ok;
  }

  #notify(name: string, notice: Notice): void {
    this.notices.set(name, notice);
    if (notice.kind === "info") {
      setTimeout(() => {
        if (this.notices.get(name) === notice) this.dismiss(name);
      }, INFO_NOTICE_MS);
    }
  }

  async #load(): Promise<void> {
    // A slow answer must not overwrite a newer one (a refresh after an action overtakes a poll).
    const seq = ++this.#requested;
    try {
      const list = await this.#api.list();
      if (seq < this.#shown) return;
      this.#shown = seq;
      this.list = list;
      this.loadError = null;
    } catch (e) {
      if (seq >= this.#shown) {
        this.loadError = (e as Error).message;
        this.#changed.emit();
      }
      throw e; // the poll backs off
    }
    this.#changed.emit();
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
