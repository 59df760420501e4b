import { createRequire } from "node:module";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { clearTimeout, setTimeout } from "node:timers";
import vm from "node:vm";

/** How long a task may run and which file name its frames show. */
export interface RunOptions {
  /** Milliseconds; 0 or undefined for no limit. */
  timeout?: number;
  filename?: string;
}

/** Why a task was stopped from outside. */
export class TaskStopped extends Error {
  constructor(
    override readonly name: "TaskTimeout" | "Interrupted",
    message: string,
  ) {
    super(message);
  }
}

/** The one global the engine itself owns: the task the call script runs (hidden, not enumerable). */
const TASK_SLOT = "__tsparallel_task__";
const FN_CACHE_LIMIT = 256;
const ACCESSOR_CACHE_LIMIT = 1024;

type Task = () => unknown;

/** The options every user script is compiled with: `import()` resolves like the engine's own. */
const SCRIPT_OPTIONS = {
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER as never,
} as const;

/**
 * An engine's namespace: the engine process's own global object.
 *
 * An engine exists to run its user's code, so that code runs in the main realm
 * (`runInThisContext`), like the kernel's cells: global functions are as fast as locally (a
 * contextified global made every global call ~75× slower), and arrays made by user code are the
 * realm's own `Float64Array`s, which apache-arrow and `instanceof` accept. `execute` scripts
 * share the global lexical scope, so a top-level `let` persists; functions sent by `apply` are
 * compiled as scripts too, so their free names resolve to those globals. The engine's own modules
 * import what they use (`node:buffer`, `node:timers`, …) rather than reading globals, so user
 * code that redefines `Buffer` or `setTimeout` cannot break the engine.
 *
 * Synchronous code stops on SIGINT and on its timeout (V8 terminates it); an async task is
 * abandoned at that point and the engine moves on.
 */
export class Namespace {
  readonly #functions = new Map<string, (...args: unknown[]) => unknown>();
  readonly #getters = new Map<string, () => unknown>();
  readonly #setters = new Map<string, (v: unknown) => void>();
  /** Calls the slot's thunk inside a script run, so `timeout` and `breakOnSigint` apply to it. */
  readonly #callScript = new vm.Script(`${TASK_SLOT}()`, { filename: "tsparallel:apply" });
  readonly #slot: { [TASK_SLOT]: Task | undefined };
  #stop: ((e: TaskStopped) => void) | undefined;
  /** Told when a task starts and stops awaiting a promise (the SIGINT keeper polls meanwhile). */
  onAwait: ((awaiting: boolean) => void) | undefined;

  constructor(globals: Record<string, unknown>) {
    const g = globalThis as unknown as Record<string, unknown>;
    // What ESM leaves out of the global scope but user code from a CommonJS world expects.
    g.require ??= createRequire(join(process.cwd(), "engine.js"));
    for (const [k, v] of Object.entries(globals)) g[k] = v;
    Object.defineProperty(g, TASK_SLOT, { value: undefined, writable: true, enumerable: false });
    this.#slot = g as unknown as { [TASK_SLOT]: Task | undefined };
  }

  #options(opts: RunOptions): vm.RunningScriptOptions {
    const o: vm.RunningScriptOptions = { breakOnSigint: true };
    if (opts.timeout && opts.timeout > 0) o.timeout = Math.max(1, Math.round(opts.timeout));
    return o;
  }

  #translate(e: unknown, opts: RunOptions): unknown {
    const code = (e as NodeJS.ErrnoException | undefined)?.code;
    if (code === "ERR_SCRIPT_EXECUTION_TIMEOUT") {
      return new TaskStopped(
        "TaskTimeout",
        `the task ran longer than its timeout of ${opts.timeout} ms and was stopped`,
      );
    }
    if (code === "ERR_SCRIPT_EXECUTION_INTERRUPTED")
      return new TaskStopped("Interrupted", "the task was interrupted (SIGINT)");
    return e;
  }

  /** Runs `task` under the script-run guards (timeout, SIGINT). */
  #guarded(task: Task, opts: RunOptions): unknown {
    this.#slot[TASK_SLOT] = task;
    try {
      return this.#callScript.runInThisContext(this.#options(opts));
    } catch (e) {
      throw this.#translate(e, opts);
    } finally {
      this.#slot[TASK_SLOT] = undefined;
    }
  }

  /** Awaits a thenable result while honouring the remaining timeout and interrupts. */
  async #settle(value: unknown, started: number, opts: RunOptions): Promise<unknown> {
    if (typeof (value as PromiseLike<unknown> | null)?.then !== "function") return value;
    const stops: Promise<never>[] = [
      new Promise<never>((_, reject) => {
        this.#stop = reject;
      }),
    ];
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeout && opts.timeout > 0) {
      const left = Math.max(0, opts.timeout - (performance.now() - started));
      stops.push(
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new TaskStopped(
                  "TaskTimeout",
                  `the task ran longer than its timeout of ${opts.timeout} ms and was stopped`,
                ),
              ),
            left,
          );
        }),
      );
    }
    this.onAwait?.(true);
    try {
      return await Promise.race([value as PromiseLike<unknown>, ...stops]);
    } finally {
      clearTimeout(timer);
      this.#stop = undefined;
      this.onAwait?.(false);
    }
  }

  /** Stops the running async task (sync code is stopped by V8's own SIGINT handling). */
  interrupt(): void {
    this.#stop?.(new TaskStopped("Interrupted", "the task was interrupted (SIGINT)"));
  }

  /** Runs script `code`; a thenable completion value is awaited. */
  async run(code: string, opts: RunOptions = {}): Promise<unknown> {
    const started = performance.now();
    let value: unknown;
    try {
      const script = new vm.Script(code, {
        filename: opts.filename ?? "tsparallel:execute",
        ...SCRIPT_OPTIONS,
      });
      value = script.runInThisContext(this.#options(opts));
    } catch (e) {
      throw this.#translate(e, opts);
    }
    return this.#settle(value, started, opts);
  }

  /** Compiles a function's source as a script of the namespace (cached by source text). */
  compileFunction(source: string, name: string): (...args: unknown[]) => unknown {
    let fn = this.#functions.get(source);
    if (fn) return fn;
    const script = new vm.Script(`(${source})`, {
      filename: `tsparallel:function ${name || "anonymous"}`,
      ...SCRIPT_OPTIONS,
    });
    const value: unknown = script.runInThisContext();
    if (typeof value !== "function")
      throw new TypeError(`the applied source evaluates to ${typeof value}, not a function`);
    fn = value as (...args: unknown[]) => unknown;
    remember(this.#functions, source, fn, FN_CACHE_LIMIT);
    return fn;
  }

  /** Calls a shipped function with `args`. */
  async apply(source: string, name: string, args: unknown[], opts: RunOptions = {}): Promise<unknown> {
    const started = performance.now();
    const fn = this.compileFunction(source, name);
    return this.#settle(
      this.#guarded(() => fn(...args), opts),
      started,
      opts,
    );
  }

  /** Applies a shipped function element-wise: result[i] = fn(seqs[0][i], seqs[1][i], …). */
  async map(
    source: string,
    name: string,
    seqs: ArrayLike<unknown>[],
    opts: RunOptions = {},
  ): Promise<unknown[]> {
    const fn = this.compileFunction(source, name);
    const started = performance.now();
    // The loop runs inside the guarded script run, so SIGINT and the timeout can stop it.
    const value = this.#guarded(() => {
      const n = seqs.length ? seqs[0]!.length : 0;
      const out = new Array<unknown>(n);
      let async = false;
      for (let i = 0; i < n; i++) {
        const x = fn(...seqs.map((s) => s[i]));
        out[i] = x;
        if (!async && typeof (x as PromiseLike<unknown> | null)?.then === "function") async = true;
      }
      return async ? Promise.all(out) : out;
    }, opts);
    return (await this.#settle(value, started, opts)) as unknown[];
  }

  /** Reads a global (including top-level `let`/`const` of earlier scripts). */
  get(name: string): unknown {
    checkName(name);
    let getter = this.#getters.get(name);
    if (!getter) {
      getter = new vm.Script(`(function () { return ${name}; })`).runInThisContext() as () => unknown;
      remember(this.#getters, name, getter, ACCESSOR_CACHE_LIMIT);
    }
    try {
      return getter();
    } catch (e) {
      if (e instanceof ReferenceError) {
        const err = new Error(
          `"${name}" is not defined on this engine: push it or define it with execute() first`,
        );
        err.name = "NameError";
        throw err;
      }
      throw e;
    }
  }

  /**
   * Assigns a global: an existing top-level `let` is assigned, not shadowed; an undeclared name
   * becomes a property of the global object (a sloppy-mode assignment does exactly that).
   */
  set(name: string, value: unknown): void {
    checkName(name);
    let setter = this.#setters.get(name);
    if (!setter) {
      setter = new vm.Script(`(function (v) { ${name} = v; })`).runInThisContext() as (v: unknown) => void;
      remember(this.#setters, name, setter, ACCESSOR_CACHE_LIMIT);
    }
    setter(value);
  }
}

/** Inserts into a bounded cache, evicting the oldest entry. */
function remember<V>(cache: Map<string, V>, key: string, value: V, limit: number): void {
  if (cache.size >= limit) cache.delete(cache.keys().next().value!);
  cache.set(key, value);
}

/** Words that parse as names but cannot be assigned (or read as a variable). */
const RESERVED = new Set(
  "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await arguments eval".split(
    " ",
  ),
);

function checkName(name: string): void {
  if (!/^[A-Za-z_$][\w$]*$/.test(name) || RESERVED.has(name)) {
    throw new TypeError(
      `"${name}" is not a valid variable name (letters, digits, _ and $; not starting with a digit; not a reserved word)`,
    );
  }
}
