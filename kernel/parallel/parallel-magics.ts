import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { setMagicActivator } from "../../engines/client/direct-view.js";
import { progressText } from "../../engines/client/progress-line.js";
import { onRemoteNames, typeTextOf } from "../../engines/client/remote-names.js";
import { type AsyncResult, Client, type DirectView, type EngineId } from "../../engines/index.js";
import { connectionFilePath } from "../../engines/wire/protocol/connection-file.js";
import type { CellOutcome, CodeSession } from "../code-session.js";
import { StackMapper } from "../executor/stack-mapper.js";
import type { Magic, MagicContext } from "../magics/magic.js";
import { MagicUsageError, OK } from "../magics/magic.js";
import { parseMagicArguments } from "../magics/magic-arguments.js";
import type { MagicsHook } from "../magics/magics-hook.js";
import type { MagicRegistry } from "../magics/registry.js";
import type { EngineCompiler } from "./engine-compiler.js";
import { applyPxFlags, DEFAULT_PX_CONFIG, PX_OPTIONS, type PxConfig } from "./px-config.js";
import { pxError, renderLive, renderPx } from "./px-output.js";
import { RemoteNameTypes } from "./remote-name-types.js";
import { parseTargets } from "./target-spec.js";

const NO_CLUSTER =
  'no cluster is connected (and no running cluster named "default"): start one with %cluster start -n 2, ' +
  'or in a cell: import { Cluster } from "tsparallel"; const rc = await Cluster.start({ n: 2 })';

/** The cluster `npm start` (tsparallel lab) runs for the notebooks; %px connects to it by itself. */
export const DEFAULT_CLUSTER = "default";

/** Which cluster a client reaches: its name, and its controller (a name can be reused). */
function clusterKey(client: Client): string {
  return `${client.info.name}\n${client.info.controller_pid}@${client.info.created}`;
}

/** One activated set of `%px<suffix>` magics: a fixed view, or "the current client". */
interface Activation {
  suffix: string;
  view: DirectView<boolean> | undefined;
  config: PxConfig;
  last: { ar: AsyncResult; counts: Map<EngineId, number>; streamed: boolean } | undefined;
}

/**
 * The parallel magics: `%px`, `%%px`, `%pxresult`, `%pxconfig`, `%autopx` (and their suffixed
 * copies after `view.activate(suffix)`). `%px` code is TypeScript, compiled once in the kernel
 * against the engines' own declaration chain and shipped as JavaScript.
 */
export class ParallelMagics {
  #compiler: EngineCompiler | undefined;
  /** Names sent to the engines before the compiler was loaded, declared when it is. */
  readonly #pendingNames = new Map<string, string>();
  /** What `pull`/`get`/`gather` of each sent name give in kernel cells. */
  readonly #remoteTypes = new RemoteNameTypes();
  readonly #mapper = new StackMapper();
  readonly #counts = new Map<EngineId, number>();
  #cells = 0;
  /** A client set by `%cluster start` ({@link use}); otherwise the process's current client. */
  client: Client | undefined;
  /** The cluster %px last said it runs on, so that each change is said once (see #sayCluster). */
  #announced: { key: string; name: string } | undefined;
  /** The notebook's session, once it has started (for names sent to the engines). */
  session: CodeSession | undefined;

  constructor(
    readonly registry: MagicRegistry,
    readonly hook: MagicsHook,
    readonly cwd: string,
  ) {
    this.activate(undefined, "");
    setMagicActivator((view, suffix) => this.activate(view, suffix));
    // A name pushed or scattered to the engines can be used by %px cells and by functions shipped
    // with apply(), so both type checkers learn its type; and pulling it back gives that type.
    onRemoteNames((names) => {
      let changed = false;
      for (const [name, value] of Object.entries(names)) {
        if (!/^[A-Za-z_$][\w$]*$/.test(name)) continue;
        const type = typeTextOf(value);
        if (this.#compiler) this.#compiler.declare(name, type);
        else this.#pendingNames.set(name, type);
        this.session?.declareRemote?.(name, type);
        if (this.#remoteTypes.set(name, type)) changed = true;
      }
      if (changed) this.session?.augmentModules?.("tsparallel-remote-names", this.#remoteTypes.declaration());
    });
  }

  /**
   * Makes `client` the one %px runs on (`%cluster start`) and returns what to tell the user: that
   * %px now runs there, and which cluster it leaves (`before`, what {@link currentCluster} said
   * before the new cluster's client connected and became the current one), so that the move is
   * never silent.
   */
  use(client: Client, before: string | undefined): string {
    this.client = client;
    const name = client.info.name;
    this.#announced = { key: clusterKey(client), name };
    return before && before !== name
      ? `%px now runs on this cluster ("${name}"), not on "${before}".`
      : `%px runs on this cluster ("${name}").`;
  }

  /** The cluster %px runs on now: the one it last said, else the one it would connect to. */
  currentCluster(): string | undefined {
    return this.#announced?.name ?? this.#wouldUse();
  }

  /** The name of the cluster %px would run on now without connecting anew, if it can tell. */
  #wouldUse(): string | undefined {
    const c = this.client && !this.client.link.lostReason ? this.client : Client.current;
    if (c) return c.info.name;
    return existsSync(connectionFilePath(DEFAULT_CLUSTER)) ? DEFAULT_CLUSTER : undefined;
  }

  /**
   * Says which cluster %px runs on, the first time it runs in this kernel (after a restart it may
   * be another one than before) and whenever that changes: a cell's Cluster.start, a stopped
   * cluster, a fallback to "default" all move %px to other engines with other state.
   */
  #sayCluster(client: Client, ctx: MagicContext): void {
    const key = clusterKey(client);
    if (key === this.#announced?.key) return;
    const was = this.#announced?.name;
    const name = client.info.name;
    this.#announced = { key, name };
    const engines = `${client.ids.length} engine${client.ids.length === 1 ? "" : "s"}`;
    ctx.stream(
      "stdout",
      was && was !== name
        ? `%px now runs on cluster "${name}" (${engines}), not on "${was}".\n`
        : `%px runs on cluster "${name}" (${engines}).\n`,
    );
  }

  async #client(): Promise<Client> {
    const c = this.client && !this.client.link.lostReason ? this.client : Client.current;
    if (c) return c;
    if (existsSync(connectionFilePath(DEFAULT_CLUSTER))) {
      try {
        this.client = await Client.connect(DEFAULT_CLUSTER, { timeout: 2000 });
        return this.client;
      } catch {
        // a stale file from a cluster that is gone: say how to start one
      }
    }
    throw new MagicUsageError(NO_CLUSTER);
  }

  /**
   * The engines' compiler, loaded on first use: it pulls in TypeScript, which the kernel must not
   * wait for before it answers its first request.
   */
  async engineCompiler(): Promise<EngineCompiler> {
    if (!this.#compiler) {
      const { EngineCompiler } = await import("./engine-compiler.js");
      this.#compiler ??= new EngineCompiler(this.cwd);
      for (const [name, type] of this.#pendingNames) this.#compiler.declare(name, type);
      this.#pendingNames.clear();
    }
    return this.#compiler;
  }

  /** Registers the magics of one suffix, bound to `view` (or to the current client's engines). */
  activate(view: DirectView<boolean> | undefined, suffix: string): void {
    const a: Activation = { suffix, view, config: { ...DEFAULT_PX_CONFIG }, last: undefined };
    if (view) a.config.targets = view.targets.join(",");
    for (const m of [this.#px(a), this.#pxresult(a), this.#pxconfig(a), this.#autopx(a)])
      this.registry.register(m);
  }

  #px(a: Activation): Magic {
    const usage = `%px${a.suffix} CODE   |   %%px${a.suffix} [-t TARGETS] [-b|-a] [--stream|--no-stream] [--verbose] [--progress-after S] [--signal-on-interrupt SIG] [--group-outputs type|engine|order] [-e|-r] [--local] [-o NAME] then the code`;
    return {
      name: `px${a.suffix}`,
      kind: "both",
      usage,
      summary: "Run TypeScript on the engines (a line, or a whole cell with flags).",
      run: async (args, body, ctx) => {
        let code: string;
        let flags: Record<string, string | boolean> = {};
        if (body === undefined) {
          // The line is code, as in ipyparallel; leading flags are accepted when they look like flags.
          if (/^-{1,2}[a-z]/.test(args)) {
            const p = parseMagicArguments(args, PX_OPTIONS, usage);
            flags = p.options;
            code = p.rest;
          } else code = args;
        } else {
          const p = parseMagicArguments(args, PX_OPTIONS, usage);
          if (p.rest.trim() !== "")
            throw new MagicUsageError(`unexpected argument "${p.rest.trim()}"`, usage);
          flags = p.options;
          code = body;
        }
        if (code.trim() === "") throw new MagicUsageError("no code to run", usage);
        const config = applyPxFlags(a.config, flags, usage);
        return this.run(code, config, a, flags, ctx, usage);
      },
    };
  }

  /** Compiles `code`, runs it on the engines and shows their outputs. */
  async run(
    code: string,
    config: PxConfig,
    a: Activation,
    flags: Record<string, string | boolean>,
    ctx: MagicContext,
    usage: string,
  ): Promise<CellOutcome> {
    const client = await this.#client();
    this.#sayCluster(client, ctx);
    const ids = a.view ? a.view.targets : client.ids;
    if (ids.length === 0)
      throw new MagicUsageError("the cluster has no engines yet: wait for them, or %cluster scale N");
    const targets = parseTargets(config.targets, ids, usage);

    const compiler = await this.engineCompiler();
    const compiled = compiler.compile(code);
    if (!compiled.ok) return { status: "error", error: compiled.error };
    const { cell, preamble, js } = compiled.value;
    const view = client.view(targets);
    if (config.verbose) ctx.stream("stdout", `Parallel execution on engine(s): ${targets.join(", ")}\n`);

    if (preamble) {
      const pre = view.execute(preamble, { silent: true });
      const ok = await this.#waitInterruptible(pre, targets, config, ctx, client);
      if (!ok) return interrupted(targets);
      try {
        await pre.get();
      } catch (e) {
        return { status: "error", error: pxError(e, (l) => l) };
      }
    }
    const label = `%px cell ${++this.#cells}`;
    const file = StackMapper.fileName(`px${this.#cells}`);
    this.#mapper.add(file, label, cell.sourceMap);
    const ar = view.execute(js, { silent: false, filename: file });
    for (const t of targets) this.#counts.set(t, (this.#counts.get(t) ?? 0) + 1);
    const counts = new Map(this.#counts);
    let streamed = false;
    if (config.block && config.stream) {
      streamed = true;
      ar.onOutput((o) => {
        if (o.type === "stdout" || o.type === "stderr") renderLive(ctx, o.engineId, o.type, o.text);
      });
    }
    if (flags.local) {
      const local = await ctx.runCode(code);
      if (local.status === "error") return local;
    }
    if (typeof flags.out === "string") {
      ctx.session.defineGlobal(flags.out, ar, 'import("tsparallel").AsyncResult<unknown>');
    }
    a.last = { ar, counts, streamed };
    if (!config.block) {
      ar.wait().then(() => this.#commitIfAnySucceeded(ar, cell));
      return { status: "ok", result: { value: ar } };
    }
    const finished = await this.#waitInterruptible(ar, targets, config, ctx, client);
    if (!finished) {
      renderPx(ctx, ar, counts, config.groupOutputs, streamed);
      return interrupted(targets);
    }
    return this.#finish(ar, counts, config, streamed, ctx, cell);
  }

  #commitIfAnySucceeded(ar: AsyncResult, cell: Parameters<EngineCompiler["commit"]>[0]): void {
    if (ar.metadata.some((m) => m.status === "ok")) this.#compiler?.commit(cell);
  }

  async #finish(
    ar: AsyncResult,
    counts: Map<EngineId, number>,
    config: PxConfig,
    streamed: boolean,
    ctx: MagicContext,
    cell?: Parameters<EngineCompiler["commit"]>[0],
  ): Promise<CellOutcome> {
    renderPx(ctx, ar, counts, config.groupOutputs, streamed);
    if (cell) this.#commitIfAnySucceeded(ar, cell);
    try {
      await ar.get();
      return OK;
    } catch (e) {
      return { status: "error", error: pxError(e, (lines) => this.#mapper.mapStack(lines.join("\n"))) };
    }
  }

  /**
   * Waits for `ar`, showing a progress display after `progressAfter` seconds. On interrupt the
   * engines get `signalOnInterrupt`, queued work is aborted, and false is returned.
   */
  async #waitInterruptible(
    ar: AsyncResult,
    targets: EngineId[],
    config: PxConfig,
    ctx: MagicContext,
    client: Client,
  ): Promise<boolean> {
    const started = performance.now();
    let progressId: string | undefined;
    const showProgress = () => {
      const text = progressText(ar.progress, ar.length, (performance.now() - started) / 1000, "engines");
      if (!progressId) {
        progressId = randomUUID();
        ctx.display({ "text/plain": text }, { displayId: progressId });
      } else ctx.display({ "text/plain": text }, { displayId: progressId, update: true });
    };
    const timers: NodeJS.Timeout[] = [];
    if (config.progressAfter >= 0) {
      timers.push(
        setTimeout(() => {
          if (ar.ready()) return;
          showProgress();
          timers.push(setInterval(showProgress, 250));
        }, config.progressAfter * 1000),
      );
    }
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<"interrupted">((resolve) => {
      onAbort = () => resolve("interrupted");
      if (ctx.signal.aborted) onAbort();
      else ctx.signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      const r = await Promise.race([ar.wait().then(() => "done" as const), aborted]);
      if (r === "done") return true;
      if (config.signalOnInterrupt !== "0")
        await client.signal(targets, config.signalOnInterrupt).catch(() => {});
      await ar.abort().catch(() => {});
      // Give the engines a moment to report what they printed before they stopped.
      await ar.wait({ timeout: 2000 });
      return false;
    } finally {
      if (onAbort) ctx.signal.removeEventListener("abort", onAbort);
      for (const t of timers) clearTimeout(t);
      if (progressId) showProgress();
    }
  }

  #pxresult(a: Activation): Magic {
    const usage = `%pxresult${a.suffix} [-e|-r|--group-outputs type|engine|order] [-o NAME]`;
    return {
      name: `pxresult${a.suffix}`,
      kind: "line",
      usage,
      summary: "Wait for and show the outputs of the last %px run (e.g. one started with --noblock).",
      run: async (args, _body, ctx) => {
        const p = parseMagicArguments(args, PX_OPTIONS, usage);
        if (p.rest.trim() !== "") throw new MagicUsageError(`unexpected argument "${p.rest.trim()}"`, usage);
        const last = a.last;
        if (!last) throw new MagicUsageError(`no %px${a.suffix} result yet`, usage);
        const config = applyPxFlags(a.config, p.options, usage);
        if (typeof p.options.out === "string") {
          ctx.session.defineGlobal(p.options.out, last.ar, 'import("tsparallel").AsyncResult<unknown>');
        }
        const client = await this.#client();
        const finished = await this.#waitInterruptible(last.ar, last.ar.engineIds, config, ctx, client);
        if (!finished) return interrupted(last.ar.engineIds);
        return this.#finish(last.ar, last.counts, config, false, ctx);
      },
    };
  }

  #pxconfig(a: Activation): Magic {
    const usage = `%pxconfig${a.suffix} [-t TARGETS] [-b|-a] [--stream|--no-stream] [--verbose|--no-verbose] [--progress-after S] [--signal-on-interrupt SIG] [--group-outputs type|engine|order]`;
    return {
      name: `pxconfig${a.suffix}`,
      kind: "line",
      usage,
      summary: "Set the default flags of %px (targets, blocking, streaming, progress, grouping).",
      run: async (args, _body, ctx) => {
        const p = parseMagicArguments(args, PX_OPTIONS, usage);
        if (p.rest.trim() !== "") throw new MagicUsageError(`unexpected argument "${p.rest.trim()}"`, usage);
        if (p.options.local || p.options.out)
          throw new MagicUsageError("--local and -o apply to one cell, not to %pxconfig", usage);
        a.config = applyPxFlags(a.config, p.options, usage);
        const c = a.config;
        ctx.stream(
          "stdout",
          `%px${a.suffix}: targets=${c.targets} block=${c.block} stream=${c.stream} verbose=${c.verbose} ` +
            `progress-after=${c.progressAfter} signal-on-interrupt=${c.signalOnInterrupt} group-outputs=${c.groupOutputs}\n`,
        );
        return OK;
      },
    };
  }

  #autopx(a: Activation): Magic {
    return {
      name: `autopx${a.suffix}`,
      kind: "line",
      usage: `%autopx${a.suffix}`,
      summary: "Toggle a mode in which every cell runs on the engines, as if it started with %%px.",
      run: async (args, _body, ctx) => {
        if (args.trim() !== "") throw new MagicUsageError("%autopx takes no arguments", `%autopx${a.suffix}`);
        const target = `px${a.suffix}`;
        const on = this.hook.cellRedirect !== target;
        this.hook.cellRedirect = on ? target : undefined;
        ctx.stream(
          "stdout",
          on
            ? `%autopx enabled: cells run on the engines until %autopx${a.suffix} again\n`
            : "%autopx disabled\n",
        );
        return OK;
      },
    };
  }
}

function interrupted(targets: EngineId[]): CellOutcome {
  return {
    status: "error",
    error: {
      ename: "Interrupted",
      evalue: `the %px cell was interrupted; engines ${targets.join(", ")} were signalled and queued work aborted`,
      traceback: ["Interrupted: the %px cell was interrupted (the engines stay usable)"],
    },
  };
}
