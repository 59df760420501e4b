import { readFile } from "node:fs/promises";
import type { Sendable } from "../store/store-handle.js";
import type { EngineId } from "../wire/protocol/messages.js";
import { encodeValueNow, isNDArray } from "../wire/values/serialize.js";
import type { AsyncResult } from "./async-result.js";
import { broadcastJobs } from "./broadcast.js";
import { shipFunction } from "./function-source.js";
import type { GatherLanding } from "./gather-landing.js";
import { blockBounds, concatParts, loadNDArrayConcat, mapLength, partition, sliceOf } from "./partition.js";
import { announceRemoteNames, type GatheredValue, type PulledValue } from "./remote-names.js";
import { type ClientCore, type Job, View } from "./view.js";

/** Per-target result: a scalar for a one-engine view (`client.at(i)`), else one per engine. */
export type PerTarget<S extends boolean, R> = S extends true ? R : R[];

/** Options of {@link DirectView.execute}. */
export interface ExecuteOptions {
  /** Don't send the value of the last expression back (default true, as ipyparallel). */
  silent?: boolean;
  /** Name of the script in remote stack traces (default `[engine N] execute`). */
  filename?: string;
}

/**
 * Work on named engines (ipyparallel's DirectView). Every call returns an {@link AsyncResult}
 * that is thenable: `await view.apply(f)` is the value, one per engine (a scalar for `at(i)`).
 */
export class DirectView<S extends boolean = false> extends View {
  /**
   * ipyparallel's `block` flag. JavaScript cannot block, so calls always return a thenable
   * AsyncResult; the kernel's `%px` reads this flag to decide whether to await it.
   */
  block = false;

  constructor(
    core: ClientCore,
    private readonly spec: EngineId[] | "all",
    readonly single: S,
  ) {
    super(core);
  }

  /** The engine ids this view addresses (`"all"` views follow engines as they come and go). */
  get targets(): EngineId[] {
    if (this.spec === "all") return this.requireEngines();
    this.requireEngines();
    this.checkTargets(this.spec);
    return [...this.spec];
  }

  #jobs(buffers: Job["buffers"], targets = this.targets): Job[] {
    // One target: its buffers are its own (see Job.exclusive).
    const exclusive = targets.length === 1;
    return targets.map((t) => ({ route: { kind: "direct", target: t }, engineId: t, buffers, exclusive }));
  }

  #shape() {
    return this.single ? ("single" as const) : ("list" as const);
  }

  /** Calls `fn(...args)` on every target; `fn` ships as source and sees the engine's globals. */
  apply<A extends unknown[], R>(
    fn: (...args: A) => R,
    ...args: Sendable<A>
  ): AsyncResult<PerTarget<S, Awaited<R>>> {
    const f = shipFunction(fn);
    const targets = this.targets;
    return this.submit(
      "apply_request",
      { fn: f.source, name: f.name, mode: "call" },
      broadcastJobs(this.core.router, args, "args", targets),
      this.#shape(),
    );
  }

  /** Same as {@link apply} (ipyparallel's explicit non-blocking form). */
  applyAsync<A extends unknown[], R>(
    fn: (...args: A) => R,
    ...args: A
  ): AsyncResult<PerTarget<S, Awaited<R>>> {
    return this.apply(fn, ...args);
  }

  /** `apply`, then wait for the value. */
  applySync<A extends unknown[], R>(
    fn: (...args: A) => R,
    ...args: Sendable<A>
  ): Promise<PerTarget<S, Awaited<R>>> {
    return this.apply(fn, ...args).get();
  }

  /**
   * Makes `%px<suffix>`, `%%px<suffix>`, `%pxresult<suffix>`, `%pxconfig<suffix>` and
   * `%autopx<suffix>` run on this view's engines (kernel only). `activate()` with no suffix
   * retargets the plain `%px`.
   */
  activate(suffix = ""): void {
    activateMagics(this, suffix);
  }

  /** Runs JavaScript on every target, in its persistent namespace. */
  execute(code: string, opts: ExecuteOptions = {}): AsyncResult<PerTarget<S, undefined>> {
    if (typeof code !== "string") throw new TypeError("execute() takes the code as a string");
    const targets = this.targets;
    return this.submit(
      "execute_request",
      opts.filename === undefined
        ? { code, silent: opts.silent ?? true }
        : { code, silent: opts.silent ?? true, filename: opts.filename },
      this.#jobs(() => [], targets),
      this.#shape(),
      {
        combine: (values) => (this.single ? values[0] : values),
      },
    );
  }

  /** Runs a JavaScript (or TypeScript, transpiled here) file on every target. */
  async run(file: string, opts: ExecuteOptions = {}): Promise<AsyncResult<PerTarget<S, undefined>>> {
    let code = await readFile(file, "utf8");
    if (/\.(c|m)?tsx?$/.test(file)) {
      const ts = await import("typescript");
      code = ts.transpileModule(code, {
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.None },
      }).outputText;
    }
    return this.execute(code, opts);
  }

  /** Assigns globals on every target (`push({ a: 1, b })`). */
  push(namespace: Record<string, unknown>): AsyncResult<PerTarget<S, undefined>> {
    if (typeof namespace !== "object" || namespace === null || Array.isArray(namespace)) {
      throw new TypeError("push() takes an object of name → value, e.g. push({ a: 5 })");
    }
    const targets = this.targets;
    announceRemoteNames(namespace);
    return this.submit(
      "push_request",
      {},
      broadcastJobs(this.core.router, namespace, "namespace", targets),
      this.#shape(),
    );
  }

  /**
   * Reads globals from every target: one name gives its value, a list gives a list. A name in
   * `RemoteNames` (in the kernel: one the notebook pushed, set or scattered) has its type;
   * others are `unknown` unless a type argument says what they are (`pull<Float64Array>("a")`).
   */
  pull<R = never, N extends string | string[] = string>(
    names: N,
  ): AsyncResult<PerTarget<S, PulledValue<R, N>>> {
    // One generic signature rather than overloads: a union of views (`DirectView<true> |
    // DirectView<false>`) can call it, which it could not if it were overloaded.
    const given: string | string[] = names;
    const single = typeof given === "string";
    const list = single ? [given] : given;
    const targets = this.targets;
    return this.submit(
      "pull_request",
      { names: list, single },
      this.#jobs(() => [], targets),
      this.#shape(),
    );
  }

  /** ipyparallel's `view['name'] = value`. */
  set(name: string, value: unknown): AsyncResult<PerTarget<S, undefined>> {
    return this.push({ [name]: value });
  }

  /** ipyparallel's `view['name']`; typed as {@link pull}. */
  get<R = never, N extends string = string>(name: N): AsyncResult<PerTarget<S, PulledValue<R, N>>> {
    return this.pull<R, N>(name);
  }

  /**
   * Splits `seq` into one block per target (views of arrays, typed arrays, NDArrays along
   * axis 0, Arrow tables by rows) and assigns block i to `name` on target i. With `flatten`,
   * one-item blocks are sent as the item (`scatter("rank", view.targets, { flatten: true })`).
   */
  scatter(name: string, seq: unknown, opts: { flatten?: boolean } = {}): AsyncResult<undefined[]> {
    const targets = this.targets;
    const parts = partition(seq, targets.length, opts.flatten ?? false);
    if (parts.length > 0) announceRemoteNames({ [name]: parts[0] });
    this.core.router.rememberParts(name, targets, parts);
    const jobs: Job[] = targets.map((t, i) => ({
      route: { kind: "direct", target: t },
      engineId: t,
      buffers: (into) => encodeValueNow({ [name]: parts[i] }, { name, ...into }),
      exclusive: true,
    }));
    return this.submit("push_request", {}, jobs, "list");
  }

  /**
   * Pulls `name` from every target and joins the parts (typed arrays, NDArrays, tables, arrays).
   * Large typed arrays and NDArrays are received straight into the joined result, so the parts
   * seen through `for await` are views of it. A name in `RemoteNames` gives the joined type (a
   * scattered `number[]` gathers as `number[]`); others are `unknown` unless a type argument says
   * what they are.
   */
  gather<R = never, N extends string = string>(name: N): AsyncResult<GatheredValue<R, N>> {
    const targets = this.targets;
    let landing: GatherLanding | undefined;
    let joined: unknown;
    const router = this.core.router;
    // Parts of known sizes from engines on this host are written straight into one block here.
    const into = router.gatherInto(name, targets);
    const jobs = into
      ? targets.map(
          (t, i): Job => ({ route: { kind: "direct", target: t }, engineId: t, buffers: () => into(i) }),
        )
      : this.#jobs(() => [], targets);
    const ar = this.submit<GatheredValue<R, N>, "pull_request">(
      "pull_request",
      // Split streams: each part's column is a frame of its own, which can land in its place.
      { names: [name], single: true, split: true },
      jobs,
      "list",
      {
        combine: (values) => (joined ?? concatParts(values)) as GatheredValue<R, N>,
        prepare: async (values) => {
          router.rememberParts(name, targets, values);
          // Parts from engines on this host lie in their stores: joined in this client's, once.
          joined ??= await router.joinStored(values);
          if (joined === undefined && values.some(isNDArray)) await loadNDArrayConcat();
        },
        onMessageDone: (i) => landing?.partDone(i),
      },
    );
    landing = this.core.router.openLanding(targets, ar.msgIds);
    return ar;
  }

  /**
   * Applies `fn` element-wise over `seqs`, one block per target, and returns the results in
   * order (ipyparallel's DirectView.map).
   */
  map<R>(fn: (...items: never[]) => R, ...seqs: unknown[]): AsyncResult<Awaited<R>[]> {
    const f = shipFunction(fn);
    const n = mapLength(seqs);
    const targets = this.targets.slice(0, Math.max(1, Math.min(n, this.targets.length)));
    const bounds = blockBounds(n, targets.length);
    const jobs: Job[] = targets.map((t, i) => ({
      route: { kind: "direct", target: t },
      engineId: t,
      buffers: (into) => encodeValueNow(toPlainSeqs(seqs, bounds[i]!), { name: "sequences", ...into }),
      exclusive: true,
    }));
    return this.submit("apply_request", { fn: f.source, name: f.name, mode: "map" }, jobs, "map");
  }
}

/** Blocks of each sequence in a form the engine can index (NDArrays and tables become arrays). */
export function toPlainSeqs(seqs: unknown[], [a, b]: [number, number]): unknown[] {
  return seqs.map((s) => {
    const part = sliceOf(s, a, b);
    if (isNDArray(part)) return (part as { toArray?: () => unknown[] }).toArray?.() ?? part;
    if (typeof part === "object" && part !== null && "toArray" in part && !ArrayBuffer.isView(part)) {
      return (part as { toArray(): unknown[] }).toArray();
    }
    return part;
  });
}

/** Registers `%px<suffix>` magics for a view; installed by the tsparallel kernel. */
export type MagicActivator = (view: DirectView<boolean>, suffix: string) => void;

let activator: MagicActivator | undefined;

/** @internal The kernel installs its activator here at start-up. */
export function setMagicActivator(fn: MagicActivator | undefined): void {
  activator = fn;
}

/** Called by `DirectView.activate`. */
function activateMagics(view: DirectView<boolean>, suffix: string): void {
  if (!activator) {
    throw new Error(
      "activate() registers %px magics, which exist only inside the tsparallel Jupyter kernel; outside it, call the view's methods",
    );
  }
  activator(view, suffix);
}
