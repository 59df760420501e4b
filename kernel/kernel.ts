/**
 * The Jupyter kernel: requests in, replies and outputs out. It speaks protocol 5.3 over
 * {@link KernelChannels} and delegates everything about the language to a {@link CodeSession}.
 */
import { randomUUID } from "node:crypto";
import { InterruptedError, raceAbort } from "../engines/cancellation.js";
import { IdleCollector } from "../engines/idle-collector.js";
import type { WireMessage } from "../engines/wire/protocol/frames.js";
import { makeHeader } from "../engines/wire/protocol/frames.js";
import { UNHANDLED } from "../engines/wire/protocol/message-table.js";
import { formatMimeBundle } from "../engines/wire/values/mime-bundle.js";
import type { CellContext, CellHook } from "./cell-hook.js";
import type { CellError, CellOutcome, CodeSession } from "./code-session.js";
import { COMMS_DECLARATION, CommManager } from "./comms/comm-manager.js";
import {
  CLEAR_OUTPUT_DECLARATION,
  DISPLAY_DECLARATION,
  TSLAB_MODULE_DECLARATION,
} from "./display/declarations.js";
import { createDisplayApi } from "./display/display-api.js";
import { type OutputMsgType, OutputRouter, OutputSink } from "./display/output-sink.js";
import { parsePagerRequest } from "./display/pager.js";
import { captureStdio } from "./display/stdio-capture.js";
import { History } from "./history.js";
import type { ConnectionInfo } from "./protocol/connection-file.js";
import { codePointsToUtf16, utf16ToCodePoints } from "./protocol/cursor-offsets.js";
import { KernelChannels, type RequestChannel, type SendChannel } from "./protocol/kernel-channels.js";
import { kernelInfo } from "./protocol/kernel-info.js";
import { kernelLog } from "./protocol/log.js";
import {
  type ContentByType,
  type ControlRequestType,
  dispatch,
  type ErrorContent,
  type HandlerMap,
  type Message,
  type MsgType,
  type Payload,
  replyTypeFor,
  type ShellRequestType,
} from "./protocol/messages.js";
import { INPUT_DECLARATION, StdinBroker } from "./stdin.js";

export type { CellContext, CellHook, CellHookResult } from "./cell-hook.js";

/** How to start a kernel. */
export interface KernelOptions {
  connection: ConnectionInfo;
  /**
   * The language session, or a function that loads it. A loader is called once the shell
   * sockets are bound, while the control thread starts: kernel_info must not wait for the
   * compiler, whose loading steps and warm-up let the event loop run between them.
   */
  session: CodeSession | (() => Promise<CodeSession>);
  /**
   * Warms the session up (builds the language service); called once the session exists. It
   * should let the event loop run often: requests do not wait for it (one that needs the compiler
   * before it is warm does what is left itself).
   */
  warmUp?: (session: CodeSession) => Promise<void>;
  /** The magics step; may be set later with {@link Kernel.setCellHook}. */
  cellHook?: CellHook;
}

/** A request's content failed validation; the reply says what to send instead. */
export class BadRequestError extends Error {
  override readonly name = "BadRequest";
  readonly code = "BAD_REQUEST";
}

interface Running {
  msg: Message<"execute_request">;
  controller: AbortController;
  allowStdin: boolean;
}

function errorContent(e: unknown): ErrorContent {
  if (e instanceof Error) {
    return { ename: e.name, evalue: e.message, traceback: [e.stack ?? `${e.name}: ${e.message}`] };
  }
  return { ename: "Error", evalue: String(e), traceback: [String(e)] };
}

function requireString(value: unknown, field: string): string {
  if (typeof value !== "string") throw new BadRequestError(`${field} must be a string, got ${typeof value}`);
  return value;
}

function requireCursor(value: unknown, code: string): number {
  if (value === undefined || value === null) return [...code].length;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new BadRequestError(
      `cursor_pos must be a non-negative integer (code points), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/**
 * One running kernel. `exited` resolves with the exit code after a shutdown_request.
 */
export class Kernel {
  readonly channels: KernelChannels;
  readonly comms: CommManager;
  readonly history = new History();
  readonly #id = randomUUID();
  readonly #session: Promise<CodeSession>;
  #disposeSession: () => void = () => {};
  #loadSession: () => void = () => {};
  #sessionStarted = false;
  readonly #router = new OutputRouter();
  /**
   * Gives memory back when the kernel has gone quiet (no message, no cell running) after a burst
   * of requests or after its memory grew by a quarter: 10,000 hostile shell messages left it at
   * 1.8× its idle size, most of it freed C memory. Made once the compiler has warmed up, so that
   * its baseline is the warm kernel's size.
   */
  #collector: IdleCollector | undefined;
  readonly #stdin: StdinBroker;
  readonly #info = kernelInfo();
  #cellHook: CellHook | undefined;
  #executionCount = 0;
  #running: Running | undefined;
  readonly #queue: Message<ShellRequestType>[] = [];
  readonly #aborting = new Set<string>();
  #pumping = false;
  #stopped = false;
  #restoreStdio: () => void = () => {};
  #resolveExit: (code: number) => void = () => {};
  /** Resolves with the process exit code once the kernel has shut down. */
  readonly exited = new Promise<number>((r) => {
    this.#resolveExit = r;
  });

  private constructor(options: KernelOptions) {
    this.#cellHook = options.cellHook;
    this.channels = new KernelChannels(options.connection, this.#id);
    // A session that fails to load is reported by each request, not by crashing.
    const load = options.session;
    this.#session = new Promise<CodeSession>((resolve) => {
      this.#loadSession = () => resolve(typeof load === "function" ? load() : load);
    }).then((s) => {
      this.#installGlobals(s);
      this.#disposeSession = () => s.dispose();
      return s;
    });
    // Warm up after the current request's reply has gone out. A warm-up that fails costs the
    // first cell time, nothing else: it is logged.
    this.#session
      .then((s) => new Promise((r) => setTimeout(r, 0)).then(() => options.warmUp?.(s)))
      .catch((e: unknown) =>
        kernelLog(`language session failed to start or warm up: ${(e as Error)?.stack ?? String(e)}`),
      )
      .finally(() => {
        if (!this.#stopped)
          this.#collector = new IdleCollector({ rssGrowth: 1.25, busy: () => this.#running !== undefined });
      });
    this.comms = new CommManager((msgType, content, opts) =>
      this.#publishOutput(msgType, content, opts?.buffers),
    );
    this.#stdin = new StdinBroker((m) => this.channels.send("stdin", m), this.#id);
  }

  /** Binds the sockets, installs the cell globals and starts answering. */
  static async start(options: KernelOptions): Promise<Kernel> {
    const kernel = new Kernel(options);
    kernel.#restoreStdio = captureStdio(kernel.#router);
    process.on("SIGINT", kernel.#onSigint);
    process.on("uncaughtException", kernel.#onStray);
    process.on("unhandledRejection", kernel.#onStray);
    await kernel.channels.bind((channel, msg) => kernel.#dispatch(channel, msg));
    void kernel.#publish("status", { execution_state: "starting" }, undefined);
    const control = kernel.channels.startControl(kernel.#onSigint);
    // Start loading the language session right away, while the control thread starts on another
    // core: a kernel_info that arrives meanwhile is answered between the loading steps (they yield
    // to the event loop), and the first cell waits less. Waiting for the first request first made
    // every notebook's first cell slower.
    void kernel.#startSession();
    await control;
    return kernel;
  }

  /** Loads the session (once); requests that need it call this, so they never wait for the timer. */
  #startSession(): Promise<CodeSession> {
    if (!this.#sessionStarted) {
      this.#sessionStarted = true;
      this.#loadSession();
    }
    return this.#session;
  }

  /** Installs (or removes) the magics step. */
  setCellHook(hook: CellHook | undefined): void {
    this.#cellHook = hook;
  }

  get executionCount(): number {
    return this.#executionCount;
  }

  #installGlobals(s: CodeSession): void {
    const api = createDisplayApi(this.#router);
    s.defineGlobal("display", api.display, DISPLAY_DECLARATION);
    s.defineGlobal("clearOutput", api.clearOutput, CLEAR_OUTPUT_DECLARATION);
    s.defineGlobal(
      "comms",
      {
        registerTarget: this.comms.registerTarget.bind(this.comms),
        unregisterTarget: this.comms.unregisterTarget.bind(this.comms),
        open: this.comms.open.bind(this.comms),
        list: this.comms.list.bind(this.comms),
      },
      COMMS_DECLARATION,
    );
    s.defineGlobal(
      "input",
      (prompt = "", options: { password?: boolean } = {}) => {
        const r = this.#running;
        const ctx = r && { parent: r.msg, allowStdin: r.allowStdin, signal: r.controller.signal };
        return this.#stdin.request(prompt, options?.password === true, ctx);
      },
      INPUT_DECLARATION,
    );
    s.registerModule("tslab", api.tslab, TSLAB_MODULE_DECLARATION);
  }

  readonly #onSigint = () => {
    // An interrupt with no cell running (nbclient sends one when it cleans up) has nothing to stop.
    if (this.#running && !this.#running.controller.signal.aborted) {
      this.#running.controller.abort(new InterruptedError("the cell was interrupted"));
    }
  };

  /**
   * An exception nobody caught (a throwing timer, an unhandled rejection from user code) would
   * end the process; show it in the output of the latest cell instead and keep running.
   */
  readonly #onStray = (e: unknown) => {
    const sink = this.#router.current;
    const text = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
    if (sink) sink.stream("stderr", `Uncaught ${text}\n`);
    else kernelLog(`uncaught: ${text}`);
  };

  // ---- sending -------------------------------------------------------------------------------

  #reply<T extends MsgType>(
    channel: SendChannel,
    parent: WireMessage,
    msgType: T | string,
    content: unknown,
  ) {
    return this.channels.send(channel, {
      identities: parent.identities,
      header: makeHeader(msgType, this.#id),
      parent_header: parent.header,
      content,
    });
  }

  #publish<T extends MsgType>(
    msgType: T,
    content: ContentByType[T],
    parent: WireMessage | undefined,
    buffers?: readonly Uint8Array[],
  ): Promise<void> {
    return this.channels.send("iopub", {
      header: makeHeader(msgType, this.#id),
      parent_header: parent?.header ?? {},
      content,
      ...(buffers ? { buffers } : {}),
    });
  }

  /** Output that does not belong to a sink (comm traffic): in order with the current request's output. */
  #publishOutput(
    msgType: OutputMsgType,
    content: ContentByType[OutputMsgType],
    buffers?: readonly Uint8Array[],
  ) {
    const sink = this.#router.current;
    if (sink) sink.send(msgType, content, buffers);
    else void this.#publish(msgType, content, undefined, buffers);
  }

  #sinkFor(parent: WireMessage): OutputSink {
    return new OutputSink(
      (msgType, content, buffers) => void this.#publish(msgType, content, parent, buffers),
    );
  }

  // ---- dispatch ------------------------------------------------------------------------------

  #dispatch(channel: RequestChannel, msg: WireMessage): void {
    if (this.#stopped) return;
    this.#collector?.saw();
    if (channel === "stdin") {
      if (msg.header.msg_type !== "input_reply" || !this.#stdin.handleReply(msg)) {
        kernelLog(`ignored ${msg.header.msg_type} on stdin (not a text answer to a waiting input())`);
      }
      return;
    }
    if (channel === "control") {
      void this.#around("control", msg, () => this.#handleControl(msg));
      return;
    }
    this.#queue.push(msg as Message<ShellRequestType>);
    void this.#pump();
  }

  /** Shell requests run one at a time, in arrival order. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (let msg = this.#queue.shift(); msg && !this.#stopped; msg = this.#queue.shift()) {
        const m = msg;
        await this.#around("shell", m, () => this.#handleShell(m));
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** busy … idle around every request, and an error reply when a handler throws. */
  async #around(channel: SendChannel, msg: WireMessage, handle: () => Promise<void>): Promise<void> {
    await this.#publish("status", { execution_state: "busy" }, msg);
    try {
      await handle();
    } catch (e) {
      kernelLog(`${msg.header.msg_type} failed: ${(e as Error)?.stack ?? String(e)}`);
      if (msg.header.msg_type.endsWith("_request")) {
        await this.#reply(channel, msg, replyTypeFor(msg.header.msg_type), {
          status: "error",
          ...errorContent(e),
        });
      }
    } finally {
      if (!this.#stopped) await this.#publish("status", { execution_state: "idle" }, msg);
    }
  }

  readonly #shellHandlers: HandlerMap<ShellRequestType> = {
    execute_request: (m) => this.#execute(m),
    kernel_info_request: (m) => this.#reply("shell", m, "kernel_info_reply", this.#info),
    complete_request: (m) => this.#complete(m),
    inspect_request: (m) => this.#inspect(m),
    is_complete_request: async (m) => {
      const code = requireString(m.content.code, "is_complete_request content.code");
      const session = await this.#startSession();
      return this.#reply("shell", m, "is_complete_reply", session.isComplete(code));
    },
    history_request: (m) =>
      this.#reply("shell", m, "history_reply", { status: "ok", history: this.history.query(m.content) }),
    comm_info_request: (m) => {
      const target = m.content.target_name;
      return this.#reply(
        "shell",
        m,
        "comm_info_reply",
        this.comms.info(typeof target === "string" ? target : undefined),
      );
    },
    comm_open: (m) => this.#withSink(m, () => this.comms.handleOpen(m)),
    comm_msg: (m) => this.#withSink(m, () => this.comms.handleMsg(m)),
    comm_close: (m) => this.#withSink(m, () => this.comms.handleClose(m)),
    shutdown_request: (m) => this.#shutdown("shell", m),
  };

  readonly #controlHandlers: HandlerMap<ControlRequestType> = {
    kernel_info_request: (m) => this.#reply("control", m, "kernel_info_reply", this.#info),
    shutdown_request: (m) => this.#shutdown("control", m),
    // Normally answered by the control worker; this path serves a forwarded one.
    interrupt_request: (m) => {
      this.#onSigint();
      return this.#reply("control", m, "interrupt_reply", { status: "ok" });
    },
  };

  async #handleShell(msg: WireMessage): Promise<void> {
    const done = dispatch(this.#shellHandlers, msg, undefined);
    if (done === UNHANDLED) return this.#unknown("shell", msg);
    await done;
  }

  async #handleControl(msg: WireMessage): Promise<void> {
    const done = dispatch(this.#controlHandlers, msg, undefined);
    if (done === UNHANDLED) return this.#unknown("control", msg);
    await done;
  }

  async #unknown(channel: SendChannel, msg: WireMessage): Promise<void> {
    const type = msg.header.msg_type;
    kernelLog(`unknown message type "${type}" on ${channel}`);
    await this.#reply(channel, msg, replyTypeFor(type), {
      status: "error",
      ename: "UnknownMessageType",
      evalue: `tsparallel does not handle "${type}" messages on the ${channel} channel`,
      traceback: [],
    });
  }

  async #withSink(msg: WireMessage, run: () => void): Promise<void> {
    this.#router.current = this.#sinkFor(msg);
    run();
  }

  // ---- execute -------------------------------------------------------------------------------

  async #execute(msg: Message<"execute_request">): Promise<void> {
    const c = msg.content;
    const code = requireString(c.code, "execute_request content.code");
    if (this.#aborting.delete(msg.header.msg_id)) {
      await this.#reply("shell", msg, "execute_reply", {
        status: "aborted",
        execution_count: this.#executionCount,
      });
      return;
    }
    const silent = c.silent === true;
    const storeHistory = !silent && c.store_history !== false;
    if (storeHistory) this.#executionCount++;
    const count = this.#executionCount;
    const sink = this.#sinkFor(msg);
    this.#router.current = sink;
    // Running from here on: a client may interrupt as soon as it sees the execute_input.
    const controller = new AbortController();
    this.#running = { msg, controller, allowStdin: c.allow_stdin === true };
    // Awaited: a cell that blocks the event loop must not hold back its own execute_input.
    if (!silent) await this.#publish("execute_input", { code, execution_count: count }, msg);

    const payload: Payload[] = [];
    let outcome: CellOutcome;
    try {
      const session = await this.#startSession();
      outcome = await this.#runCell(
        code,
        {
          session,
          output: sink,
          signal: controller.signal,
          request: c,
          executionCount: count,
        },
        payload,
      );
    } catch (e) {
      outcome = { status: "error", error: errorContent(e) };
    }

    let output: string | null = null;
    let userExpressions: Record<string, unknown> = {};
    if (outcome.status === "ok") {
      if (outcome.result && outcome.result.value !== undefined && !silent) {
        const data = safeBundle(outcome.result.value);
        output = typeof data["text/plain"] === "string" ? data["text/plain"] : null;
        sink.send("execute_result", { execution_count: count, data, metadata: {} });
      }
      userExpressions = await this.#userExpressions(
        await this.#startSession(),
        c.user_expressions,
        controller.signal,
      );
    } else {
      sink.send("error", outcome.error);
    }
    this.#running = undefined;
    sink.flush();
    if (storeHistory) this.history.add(count, code, output);

    if (outcome.status === "error") {
      if (c.stop_on_error !== false) await this.#abortQueuedExecutes();
      await this.#reply("shell", msg, "execute_reply", {
        status: "error",
        execution_count: count,
        ...outcome.error,
        payload,
        user_expressions: {},
      });
      return;
    }
    await this.#reply("shell", msg, "execute_reply", {
      status: "ok",
      execution_count: count,
      payload,
      user_expressions: userExpressions,
    });
  }

  async #runCell(code: string, ctx: CellContext, payload: Payload[]): Promise<CellOutcome> {
    let source = code;
    if (this.#cellHook) {
      const r = await this.#cellHook.preprocess(code, ctx);
      if (r.action === "handled") {
        for (const p of r.payload ?? []) if (typeof p.source === "string") payload.push(p as Payload);
        return r.outcome;
      }
      if (r.action === "rewrite") source = r.code;
    }
    if (source === code) {
      const page = parsePagerRequest(code);
      if (page) {
        const info = ctx.session.inspect(page.expression, page.expression.length, page.detailLevel);
        if (info.found) payload.push({ source: "page", data: info.data, start: 0 });
        else ctx.output.stream("stdout", `Object \`${page.expression}\` not found.\n`);
        return { status: "ok" };
      }
    }
    return untilInterrupted(ctx.session.execute(source, { signal: ctx.signal }), ctx.signal);
  }

  async #userExpressions(
    session: CodeSession,
    exprs: unknown,
    signal: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    if (typeof exprs !== "object" || exprs === null) return out;
    for (const [name, expr] of Object.entries(exprs as Record<string, unknown>)) {
      if (typeof expr !== "string") {
        out[name] = {
          status: "error",
          ename: "BadRequest",
          evalue: "user expressions must be strings",
          traceback: [],
        };
        continue;
      }
      let r: CellOutcome;
      try {
        r = await untilInterrupted(session.execute(expr, { signal }), signal);
      } catch (e) {
        r = { status: "error", error: errorContent(e) };
      }
      out[name] =
        r.status === "ok"
          ? { status: "ok", data: safeBundle(r.result?.value), metadata: {} }
          : { status: "error", ...r.error };
    }
    return out;
  }

  /**
   * stop_on_error: the execute requests that were already sent when the cell failed are
   * answered "aborted". Requests sent later run normally (tslab aborted everything for 200 ms).
   * The reply to the failed cell goes out after this, so nothing the client sends in response
   * to it can be caught here. Messages still in the socket buffer (the event loop was busy in
   * the cell) are pulled in first.
   */
  async #abortQueuedExecutes(): Promise<void> {
    // Requests the client sent before the failure may still be in flight: wait until nothing
    // new has arrived for 10 ms (at most 100 ms). A few event-loop turns were not enough when
    // the failing cell was quick.
    const quietMs = 10;
    const deadline = performance.now() + 100;
    let last = this.#queue.length;
    let quietSince = performance.now();
    while (performance.now() < deadline && performance.now() - quietSince < quietMs) {
      await new Promise((r) => setTimeout(r, 1));
      if (this.#queue.length !== last) {
        last = this.#queue.length;
        quietSince = performance.now();
      }
    }
    for (const m of this.#queue)
      if (m.header.msg_type === "execute_request") this.#aborting.add(m.header.msg_id);
  }

  // ---- other requests ------------------------------------------------------------------------

  async #complete(m: Message<"complete_request">): Promise<void> {
    const code = requireString(m.content.code, "complete_request content.code");
    const cursor = codePointsToUtf16(code, requireCursor(m.content.cursor_pos, code));
    const r = (await this.#startSession()).complete(code, cursor);
    const types = r.types?.map((t) => ({
      ...t,
      start: utf16ToCodePoints(code, t.start),
      end: utf16ToCodePoints(code, t.end),
    }));
    await this.#reply("shell", m, "complete_reply", {
      status: "ok",
      matches: r.matches,
      cursor_start: utf16ToCodePoints(code, r.cursorStart),
      cursor_end: utf16ToCodePoints(code, r.cursorEnd),
      metadata: types ? { _jupyter_types_experimental: types } : {},
    });
  }

  async #inspect(m: Message<"inspect_request">): Promise<void> {
    const code = requireString(m.content.code, "inspect_request content.code");
    const cursor = codePointsToUtf16(code, requireCursor(m.content.cursor_pos, code));
    const detail = m.content.detail_level === 1 ? 1 : 0;
    const r = (await this.#startSession()).inspect(code, cursor, detail);
    await this.#reply("shell", m, "inspect_reply", {
      status: "ok",
      found: r.found,
      data: r.found ? r.data : {},
      metadata: {},
    });
  }

  async #shutdown(channel: SendChannel, m: Message<"shutdown_request">): Promise<void> {
    const restart = m.content.restart === true;
    await this.#reply(channel, m, "shutdown_reply", { status: "ok", restart });
    this.#publish("shutdown_reply", { status: "ok", restart }, m);
    await this.stop();
  }

  /** Stops the running cell, closes the sockets and frees the session; `exited` then resolves with 0. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#publish("status", { execution_state: "idle" }, undefined);
    this.#stopped = true;
    this.#collector?.stop();
    this.#running?.controller.abort(new InterruptedError("the cell was interrupted"));
    process.off("SIGINT", this.#onSigint);
    process.off("uncaughtException", this.#onStray);
    process.off("unhandledRejection", this.#onStray);
    this.#router.current?.flush();
    this.#restoreStdio();
    await this.channels.close();
    try {
      this.#disposeSession();
    } catch (e) {
      kernelLog(`session dispose failed: ${String(e)}`);
    }
    this.#resolveExit(0);
  }
}

/** A failing formatter must not lose the result: fall back to String(). */
function safeBundle(value: unknown): Record<string, unknown> {
  try {
    return formatMimeBundle(value);
  } catch (e) {
    return { "text/plain": `<value that could not be formatted: ${String(e)}>` };
  }
}

/**
 * Ends the cell as soon as the user interrupts, even if the session is still waiting for a
 * promise that never settles (the promise is abandoned, as in every JS kernel).
 */
function untilInterrupted(run: Promise<CellOutcome>, signal: AbortSignal): Promise<CellOutcome> {
  return raceAbort(run, signal).catch((e: unknown) => {
    if (e instanceof InterruptedError) return interruptedOutcome();
    throw e;
  });
}

function interruptedOutcome(): CellOutcome {
  const error: CellError = {
    ename: "Interrupted",
    evalue: "the cell was interrupted",
    traceback: ["\u001b[31mInterrupted\u001b[0m: the cell was interrupted"],
  };
  return { status: "error", error };
}
