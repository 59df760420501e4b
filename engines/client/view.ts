import type { NDArray } from "../../ndarray/ndarray.js";
import { checkTimeout } from "../cancellation.js";
import type { StoreHandle } from "../store/store-handle.js";
import type { StoreBlock, StoreRef } from "../store/store-ref.js";
import type {
  ContentByType,
  EngineId,
  EngineInfo,
  Route,
  TaskMetadata,
  TaskRequestType,
} from "../wire/protocol/messages.js";
import type { Lease, SendArena } from "../wire/transport/send-arena.js";
import type { StorePlacer } from "../wire/values/serialize.js";
import { AsyncResult, type AsyncResultOptions, type ResultShape } from "./async-result.js";
import { ClusterError } from "./errors.js";
import type { TaskRouter } from "./task-router.js";

/** What views need from their client. */
export interface ClientCore {
  readonly ids: EngineId[];
  readonly engines: ReadonlyMap<EngineId, EngineInfo>;
  /** Why the client cannot send anything, if it cannot (the controller is gone, the client closed). */
  readonly lostReason: ClusterError | undefined;
  /** Which way each task goes (lanes, the controller, assignment). */
  readonly router: TaskRouter;
  /** Runs submissions one after another, so messages leave in call order. */
  enqueue(work: () => Promise<void>): void;
  /**
   * True when no enqueued submission is still waiting: one whose payload is already encoded may
   * then leave at once without breaking call order.
   */
  readonly sendingIdle: boolean;
  track(ar: AsyncResult): void;
  settled(ar: AsyncResult): void;
  abort(msgIds: string[]): Promise<unknown>;
  /** Places an array in the client's shared-memory store (see Client.put). */
  put<T extends ArrayBufferView | NDArray>(value: T): Promise<StoreHandle<T>>;
  /** Reused memory for the copies of large arrays a task sends (see send-arena.ts). */
  readonly arena?: SendArena;
}

/** Where a job's encoder may put its copies: memory leased from an arena, recorded in `leases`. */
export interface EncodeTarget {
  arena?: SendArena;
  leases?: Lease[];
  /** The client's store, when the job's engine(s) share this host's memory (large arrays go there). */
  store?: StorePlacer;
  /** Collects the store blocks the payload was placed in. */
  placed?: StoreRef[];
}

/** One message to send: where, and its buffers (encoded when the call is made, sent in call order). */
export interface Job {
  route: Route;
  engineId: EngineId;
  /**
   * Encodes the payload. A job whose buffers no other job shares is `exclusive`: it gets an
   * {@link EncodeTarget} and may copy into reused memory, given back once its message is sent.
   */
  buffers: (into: EncodeTarget) => Promise<Buffer[]> | Buffer[];
  exclusive?: boolean;
  /** Bytes of arrays in the payload, known before encoding (see `arrayBytes`). */
  payloadBytes?: number;
  /**
   * The store blocks a payload shared by several jobs was placed in (filled as it is encoded): in
   * the client's store, or in the store of an engine that placed it for its host.
   */
  placed?: StoreBlock[];
}

/** Memoises an encoder so one payload serves several targets. */
export function once<T>(f: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    made ??= { value: f() };
    return made.value;
  };
}

/** Gives leased memory back once the transport is done with the frames (none leased: nothing to do). */
function releaser(leases: readonly Lease[]): (() => void) | undefined {
  if (!leases.length) return undefined;
  return () => {
    for (const l of leases) l.release();
  };
}

/** What every view shares: submission of task messages and an AsyncResult per call. */
export abstract class View {
  /** Wall-clock limit for each task, in ms (the engine stops the task when reached). */
  timeout: number | undefined;

  constructor(protected readonly core: ClientCore) {}

  // Handed to every AsyncResult, made once per view: closures made in `submit` would keep its
  // whole scope (jobs, payload encodings, …) alive with each result, ~1 KB per task of a flood.
  readonly #abort = (ids: string[]) => this.core.abort(ids);
  readonly #settled = (done: AsyncResult) => this.core.settled(done);

  /** Applies `fn` element-wise over the sequences (how the items are split is the view's own). */
  abstract map<R>(fn: (...items: never[]) => R, ...seqs: unknown[]): AsyncResult<Awaited<R>[]>;

  /**
   * Places a typed array or NDArray in the client's shared-memory store once and returns a handle
   * to pass to tasks any number of times (see Client.put).
   */
  put<T extends ArrayBufferView | NDArray>(value: T): Promise<StoreHandle<T>> {
    return this.core.put(value);
  }

  /** Same as {@link map}. */
  mapAsync<R>(fn: (...items: never[]) => R, ...seqs: unknown[]): AsyncResult<Awaited<R>[]> {
    return this.map(fn, ...seqs);
  }

  /** `map`, then wait for the values. */
  mapSync<R>(fn: (...items: never[]) => R, ...seqs: unknown[]): Promise<Awaited<R>[]> {
    return this.map(fn, ...seqs).get();
  }

  /** Iterates `map`'s results as they arrive (in input order unless the view says otherwise). */
  imap<R>(fn: (...items: never[]) => R, ...seqs: unknown[]): AsyncIterable<Awaited<R>> {
    return this.map(fn, ...seqs) as AsyncIterable<Awaited<R>>;
  }

  protected requireEngines(): EngineId[] {
    if (this.core.lostReason) throw this.core.lostReason.again();
    const ids = this.core.ids;
    if (ids.length === 0) {
      throw new ClusterError(
        "NO_ENGINES",
        "no engines are registered with this cluster: start some (Cluster.start({ n }) or cluster.scale(n)), or wait for them with client.waitForEngines(n)",
      );
    }
    return ids;
  }

  protected checkTargets(targets: readonly EngineId[]): void {
    const known = this.core.engines;
    for (const t of targets) {
      if (!Number.isInteger(t) || !known.has(t)) {
        throw new ClusterError(
          "INVALID_TARGET",
          `engine ${t} does not exist (engine ids: ${[...known.keys()].join(", ") || "none"})`,
        );
      }
    }
  }

  /** Sends `jobs` in call order and returns the handle that collects their replies. */
  protected submit<T, K extends TaskRequestType>(
    type: K,
    content: ContentByType[K],
    jobs: Job[],
    shape: ResultShape,
    extra: Partial<AsyncResultOptions> = {},
    resolveRoute?: (route: Route) => Route,
  ): AsyncResult<T> {
    const core = this.core;
    if (core.lostReason) throw core.lostReason.again();
    const timeout = checkTimeout(this.timeout, "the view's timeout");
    const router = core.router;
    const ar = new AsyncResult<T>({
      shape,
      abort: this.#abort,
      onDone: this.#settled,
      decode: router.decoding,
      ...extra,
    });
    const sends = jobs.map((job) => {
      const t = ar.track(job.engineId);
      const header = router.header(type);
      t.bind(header.msg_id);
      // Encoding starts now, so the payload is the arguments as they are at this call (their
      // arrays copied before it returns); it may finish later, and messages leave in call order.
      const leases: Lease[] = [];
      const own: StoreRef[] = [];
      const placed = job.placed ?? own;
      let encoding: Promise<Buffer[]> | Buffer[];
      try {
        encoding = job.buffers(
          job.exclusive ? { arena: core.arena, leases, store: router.placer(job.route), placed: own } : {},
        );
      } catch (e) {
        encoding = Promise.reject(e);
      }
      // Failures are reported through the result when the message's turn comes (below).
      if (encoding instanceof Promise) encoding.catch(() => {});
      return { job, header, listener: t.listener, encoding, leases, placed };
    });
    ar.seal();
    this.core.track(ar as AsyncResult);
    const leave = (i: number) => {
      const { job, header, listener, leases, encoding: buffers, placed } = sends[i]!;
      const route = resolveRoute ? resolveRoute(job.route) : job.route;
      // Read once the payload is encoded: a value placed by an engine for its host names its
      // blocks only then.
      const metadata = (): TaskMetadata => {
        const m: TaskMetadata = timeout ? { route, timeout } : { route };
        // Its arrays in a store: the engine maps them, and the message itself is small.
        if (placed.length) {
          m.store = placed.map((r) => r.block);
          if (placed[0]!.owner !== router.storeOwner) m.store_owner = placed[0]!.owner;
        }
        return m;
      };
      const sent = releaser(leases);
      // Only a task carrying arrays over a socket can be large enough to go by assignment.
      if (
        !placed.length &&
        job.payloadBytes &&
        router.sendAssigned(
          { header, content, metadata: metadata(), listener },
          job.payloadBytes,
          async () => ({
            buffers: await buffers,
            sent,
          }),
        )
      )
        return;
      if (buffers instanceof Promise)
        return buffers.then((b) =>
          router.send({ header, content, metadata: metadata(), listener, buffers: b, sent }),
        );
      router.send({ header, content, metadata: metadata(), listener, buffers, sent });
    };
    if (core.sendingIdle && sends.every((s) => !(s.encoding instanceof Promise))) {
      // Every payload is ready and nothing is queued ahead: leave now (a flood of small tasks
      // then costs no promise chain, and a round trip no extra microtask hops).
      for (let i = 0; i < sends.length; i++) {
        try {
          leave(i);
        } catch (e) {
          ar.failSlot(i, e as Error);
        }
      }
      return ar;
    }
    core.enqueue(async () => {
      for (let i = 0; i < sends.length; i++) {
        try {
          await leave(i);
        } catch (e) {
          ar.failSlot(i, e as Error);
        }
      }
    });
    return ar;
  }
}
