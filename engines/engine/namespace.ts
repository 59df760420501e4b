import { createRequire } from "node:module";
import { join } from "node:path";
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

const TASK_SLOT = "__tsparallel_task__";
const FN_CACHE_LIMIT = 256;

/**
 * An engine's persistent namespace: one vm context whose globals survive between tasks.
 *
 * Code sent by `execute` runs as a script in it; functions sent by `apply` are evaluated in it, so
 * their free names resolve to its globals (what `execute` defined and `push` sent). Synchronous
 * code stops on SIGINT and on its timeout (V8 terminates it); an async task is abandoned at that
 * point and the engine moves on.
 */
export class Namespace {
  readonly context: vm.Context;
  readonly #functions = new Map<string, (...args: unknown[]) => unknown>();
  readonly #callScript = new vm.Script(`${TASK_SLOT}.fn(...${TASK_SLOT}.args)`, {
    filename: "tsparallel:apply",
  });
  #stop: ((e: TaskStopped) => void) | undefined;
  #mapper: ((...args: unknown[]) => unknown) | undefined;

  constructor(globals: Record<string, unknown>) {
    const base = {
      console,
      process,
      require: createRequire(join(process.cwd(), "engine.js")),
      Buffer,
      setTimeout,
      clearTimeout,
      setInterval,
      clearInterval,
      setImmediate,
      clearImmediate,
      queueMicrotask,
      structuredClone,
      TextEncoder,
      TextDecoder,
      URL,
      URLSearchParams,
      AbortController,
      AbortSignal,
      performance,
      fetch,
      crypto: globalThis.crypto,
      atob,
      btoa,
    };
    this.context = vm.createContext({ ...base, ...globals }, { name: "tsparallel engine" });
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
    try {
      return await Promise.race([value as PromiseLike<unknown>, ...stops]);
    } finally {
      clearTimeout(timer);
      this.#stop = undefined;
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
        importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER as never,
      });
      value = script.runInContext(this.context, this.#options(opts));
    } catch (e) {
      throw this.#translate(e, opts);
    }
    return this.#settle(value, started, opts);
  }

  /** Evaluates a function's source in the namespace (cached by source text). */
  compileFunction(source: string, name: string): (...args: unknown[]) => unknown {
    let fn = this.#functions.get(source);
    if (fn) return fn;
    const script = new vm.Script(`(${source})`, {
      filename: `tsparallel:function ${name || "anonymous"}`,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER as never,
    });
    const value = script.runInContext(this.context);
    if (typeof value !== "function")
      throw new TypeError(`the applied source evaluates to ${typeof value}, not a function`);
    fn = value as (...args: unknown[]) => unknown;
    if (this.#functions.size >= FN_CACHE_LIMIT) this.#functions.delete(this.#functions.keys().next().value!);
    this.#functions.set(source, fn);
    return fn;
  }

  /** Calls a shipped function with `args` inside the namespace. */
  async apply(source: string, name: string, args: unknown[], opts: RunOptions = {}): Promise<unknown> {
    const started = performance.now();
    const fn = this.compileFunction(source, name);
    const ctx = this.context as Record<string, unknown>;
    ctx[TASK_SLOT] = { fn, args };
    let value: unknown;
    try {
      value = this.#callScript.runInContext(this.context, this.#options(opts));
    } catch (e) {
      throw this.#translate(e, opts);
    } finally {
      delete ctx[TASK_SLOT];
    }
    return this.#settle(value, started, opts);
  }

  /** Applies a shipped function element-wise: result[i] = fn(seqs[0][i], seqs[1][i], …). */
  async map(
    source: string,
    name: string,
    seqs: ArrayLike<unknown>[],
    opts: RunOptions = {},
  ): Promise<unknown[]> {
    // The loop runs inside the context so SIGINT and the timeout can stop it.
    this.#mapper ??= vm.runInContext(
      `(function (fn, seqs) { const n = seqs.length ? seqs[0].length : 0; const out = new Array(n);
        for (let i = 0; i < n; i++) out[i] = fn(...seqs.map((s) => s[i]));
        return out.some((x) => x && typeof x.then === "function") ? Promise.all(out) : out; })`,
      this.context,
    ) as (...args: unknown[]) => unknown;
    const fn = this.compileFunction(source, name);
    const started = performance.now();
    const ctx = this.context as Record<string, unknown>;
    ctx[TASK_SLOT] = { fn: this.#mapper, args: [fn, seqs] };
    let value: unknown;
    try {
      value = this.#callScript.runInContext(this.context, this.#options(opts));
    } catch (e) {
      throw this.#translate(e, opts);
    } finally {
      delete ctx[TASK_SLOT];
    }
    return (await this.#settle(value, started, opts)) as unknown[];
  }

  /** Reads a global (including top-level `let`/`const` of earlier scripts). */
  get(name: string): unknown {
    checkName(name);
    try {
      return vm.runInContext(name, this.context);
    } catch (e) {
      // The error comes from the context's realm, so check by name, not instanceof.
      if ((e as { name?: unknown } | null)?.name === "ReferenceError") {
        const err = new Error(
          `"${name}" is not defined on this engine: push it or define it with execute() first`,
        );
        err.name = "NameError";
        throw err;
      }
      throw e;
    }
  }

  /** Assigns a global (an existing top-level `let` is assigned, not shadowed). */
  set(name: string, value: unknown): void {
    checkName(name);
    const ctx = this.context as Record<string, unknown>;
    ctx[TASK_SLOT] = value;
    try {
      vm.runInContext(
        `try { ${name} = ${TASK_SLOT}; } catch (e) { if (e instanceof ReferenceError) globalThis[${JSON.stringify(name)}] = ${TASK_SLOT}; else throw e; }`,
        this.context,
      );
    } finally {
      delete ctx[TASK_SLOT];
    }
  }
}

function checkName(name: string): void {
  if (!/^[A-Za-z_$][\w$]*$/.test(name)) {
    throw new TypeError(
      `"${name}" is not a valid variable name (letters, digits, _ and $; not starting with a digit)`,
    );
  }
}
