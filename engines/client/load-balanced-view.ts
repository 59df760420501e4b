import { checkCount, checkTimeout, InvalidOptionError } from "../cancellation.js";
import type { Sendable } from "../store/store-handle.js";
import type { EngineId, Route } from "../wire/protocol/messages.js";
import { isArrowTable } from "../wire/values/arrow-frames.js";
import { arrayBytes, encodeValueNow, isNDArray } from "../wire/values/serialize.js";
import { AsyncResult } from "./async-result.js";
import { toPlainSeqs } from "./direct-view.js";
import { shipFunction } from "./function-source.js";
import { mapLength } from "./partition.js";
import { type ClientCore, type Job, View } from "./view.js";

/** A dependency: an AsyncResult or msg_ids. */
export type Dependency = AsyncResult | readonly string[] | string;

/** Flags of a load-balanced view (ipyparallel's `set_flags`). */
export interface LoadBalancedFlags {
  /** Re-run a failed task (or one lost with its engine) on another engine this many times. */
  retries?: number;
  /** Milliseconds a task may run; the engine stops it and the result is a TaskTimeout. */
  timeout?: number;
  /** Start only after these finished successfully. */
  after?: Dependency;
  /** Run on the engine where these ran. */
  follow?: Dependency;
  /**
   * Items per task for `map` (default 1, as ipyparallel). `"auto"` makes about four tasks per
   * engine: few messages, and still room for the balancer to even out uneven items.
   */
  chunksize?: number | "auto";
  /** `map`/`imap` yield in input order (default) or as tasks finish. */
  ordered?: boolean;
}

function msgIdsOf(d: Dependency | undefined): string[] | undefined {
  if (d === undefined) return undefined;
  if (typeof d === "string") return [d];
  if (d instanceof AsyncResult) return d.msgIds;
  return [...d];
}

function isOptions(x: unknown): x is LoadBalancedFlags {
  return (
    typeof x === "object" &&
    x !== null &&
    !Array.isArray(x) &&
    !ArrayBuffer.isView(x) &&
    !isNDArray(x) &&
    !isArrowTable(x) &&
    Object.getPrototypeOf(x) === Object.prototype
  );
}

/** Checks a `chunksize`: a whole number ≥ 1, or "auto" (0 would make `map` loop for ever). */
function checkChunksize(chunksize: unknown): number | "auto" {
  if (
    chunksize === "auto" ||
    (typeof chunksize === "number" && Number.isInteger(chunksize) && chunksize >= 1)
  )
    return chunksize;
  throw new InvalidOptionError(`chunksize must be a whole number ≥ 1 or "auto" (got ${String(chunksize)})`);
}

/**
 * Tasks placed by the controller's scheduler on whichever engine has room (ipyparallel's
 * LoadBalancedView), with retries, real timeouts and after/follow dependencies.
 */
export class LoadBalancedView extends View {
  retries = 0;
  after: Dependency | undefined;
  follow: Dependency | undefined;
  chunksize: number | "auto" = 1;
  ordered = true;

  constructor(
    core: ClientCore,
    /** Restrict to these engines (default: any). */
    readonly targets?: EngineId[],
  ) {
    super(core);
  }

  /** Sets flags and returns this view. */
  setFlags(flags: LoadBalancedFlags): this {
    for (const [k, v] of Object.entries(flags)) {
      if (!["retries", "timeout", "after", "follow", "chunksize", "ordered"].includes(k)) {
        throw new TypeError(`unknown flag "${k}": use retries, timeout, after, follow, chunksize or ordered`);
      }
      (this as Record<string, unknown>)[k] = v;
    }
    checkCount(this.retries, "retries", 0);
    checkTimeout(this.timeout);
    checkChunksize(this.chunksize);
    return this;
  }

  /** A copy of this view with other flags. */
  withFlags(flags: LoadBalancedFlags): LoadBalancedView {
    const v = new LoadBalancedView(this.core, this.targets);
    Object.assign(v, {
      retries: this.retries,
      timeout: this.timeout,
      after: this.after,
      follow: this.follow,
      chunksize: this.chunksize,
      ordered: this.ordered,
    });
    return v.setFlags(flags);
  }

  #route(): Route {
    // The fields are public: checked when used, not only in setFlags.
    const retries = checkCount(this.retries, "retries", 0);
    if (this.targets) this.checkTargets(this.targets);
    else this.requireEngines();
    return { kind: "lb", ...(this.targets ? { targets: this.targets } : {}), retries };
  }

  /** Dependencies are resolved when the message leaves, so `after: ar` works right after `ar` is made. */
  #deps(): (route: Route) => Route {
    const after = this.after;
    const follow = this.follow;
    return (route) =>
      ({
        ...route,
        ...(after ? { after: msgIdsOf(after) } : {}),
        ...(follow ? { follow: msgIdsOf(follow) } : {}),
      }) as Route;
  }

  /** Runs `fn(...args)` on one engine the scheduler picks. */
  apply<A extends unknown[], R>(fn: (...args: A) => R, ...args: Sendable<A>): AsyncResult<Awaited<R>> {
    const f = shipFunction(fn);
    const job: Job = {
      route: this.#route(),
      engineId: -1,
      buffers: (into) => encodeValueNow(args, { name: "args", ...into }),
      exclusive: true,
      payloadBytes: arrayBytes(args),
    };
    return this.submit(
      "apply_request",
      { fn: f.source, name: f.name, mode: "call" },
      [job],
      "single",
      {},
      this.#deps(),
    );
  }

  /** Same as {@link apply}. */
  applyAsync<A extends unknown[], R>(fn: (...args: A) => R, ...args: Sendable<A>): AsyncResult<Awaited<R>> {
    return this.apply(fn, ...args);
  }

  /** `apply`, then wait for the value. */
  applySync<A extends unknown[], R>(fn: (...args: A) => R, ...args: Sendable<A>): Promise<Awaited<R>> {
    return this.apply(fn, ...args).get();
  }

  /** Runs code on one engine the scheduler picks. */
  execute(code: string, opts: { silent?: boolean } = {}): AsyncResult<undefined> {
    const job: Job = { route: this.#route(), engineId: -1, buffers: () => [] };
    return this.submit(
      "execute_request",
      { code, silent: opts.silent ?? true },
      [job],
      "single",
      {},
      this.#deps(),
    );
  }

  /**
   * Applies `fn` element-wise, `chunksize` items per task; the last argument may be flags
   * (`{ chunksize, ordered }`). Results come back in input order unless `ordered: false`, in which
   * case iterating yields them as tasks finish (the awaited array is always in input order).
   */
  map<R>(fn: (...items: never[]) => R, ...seqsAndFlags: unknown[]): AsyncResult<Awaited<R>[]> {
    const last = seqsAndFlags[seqsAndFlags.length - 1];
    const view = isOptions(last) ? this.withFlags(last) : this;
    const seqs = isOptions(last) ? seqsAndFlags.slice(0, -1) : seqsAndFlags;
    return view.#map(fn, seqs);
  }

  #map<R>(fn: (...items: never[]) => R, seqs: unknown[]): AsyncResult<Awaited<R>[]> {
    const f = shipFunction(fn);
    const n = mapLength(seqs);
    const route = this.#route();
    const engines = Math.max(1, (this.targets ?? this.core.ids).length);
    const chunk =
      this.chunksize === "auto"
        ? Math.max(1, Math.ceil(n / (4 * engines)))
        : (checkChunksize(this.chunksize) as number);
    const jobs: Job[] = [];
    for (let a = 0; a < n; a += chunk) {
      const bounds: [number, number] = [a, Math.min(n, a + chunk)];
      jobs.push({
        route,
        engineId: -1,
        buffers: () => encodeValueNow(toPlainSeqs(seqs, bounds), { name: "sequences" }),
      });
    }
    return this.submit(
      "apply_request",
      { fn: f.source, name: f.name, mode: "map" },
      jobs,
      "map",
      { ordered: this.ordered },
      this.#deps(),
    );
  }
}
