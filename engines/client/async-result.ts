import { type CancelOptions, checkTimeout, withinLimits } from "../cancellation.js";
import type { AnyMessage, EngineId, Message, ReplyMetadata, ReplyStatus } from "../wire/protocol/messages.js";
import { arrayBytes, type DecodeOptions, decodeInline, decodeValue } from "../wire/values/serialize.js";
import { ClusterError, CompositeError, remoteErrorFor, TaskAborted } from "./errors.js";
import type { TaskListener } from "./outgoing-task.js";
import { showProgressUntilReady } from "./progress-line.js";

/** One rich output (display() or an execute result) of a task. */
export interface DisplayOutput {
  engineId: EngineId;
  type: "display_data" | "execute_result";
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** Stream text or a rich output, as it arrives. */
export type LiveOutput = DisplayOutput | { engineId: EngineId; type: "stdout" | "stderr"; text: string };

/** What is known about one message of an AsyncResult (ipyparallel's `ar.metadata[i]`). */
export interface TaskInfo {
  msgId: string;
  /** The engine it ran on (-1 until a load-balanced task is answered). */
  engineId: EngineId;
  status: "pending" | "ok" | "error" | "aborted";
  /** Epoch milliseconds. */
  submitted: number;
  started?: number;
  completed?: number;
  received?: number;
  stdout: string;
  stderr: string;
  outputs: DisplayOutput[];
}

/** How the per-message values become the result. */
export type ResultShape = "single" | "list" | "map";

interface TaskSlot {
  info: TaskInfo;
  value?: unknown;
  error?: Error;
  /** Who waits for this message alone (`for await`); made only when someone does. */
  waiters?: (() => void)[];
}

/** What {@link AsyncResult.track} gives a view for one message. */
export interface TrackedMessage {
  /** Pass to `submit`: receives the message's outputs and reply. */
  readonly listener: TaskListener;
  /** Records the msg_id the message was sent with. */
  bind(msgId: string): void;
}

/** The order `for await` yields items in. */
export interface AsyncResultOptions {
  shape: ResultShape;
  /** For `map`: yield chunks as they arrive instead of in order. */
  ordered?: boolean;
  /** Called once every message is answered (the client's outstanding set). */
  onDone?: (ar: AsyncResult) => void;
  /** How `abort()` reaches the controller. */
  abort?: (msgIds: string[]) => Promise<unknown>;
  /** Post-processing of the combined value (gather concatenation). */
  combine?: (values: unknown[]) => unknown;
  /** Async preparation `combine` needs (e.g. loading NDArray concatenation). */
  prepare?: (values: unknown[]) => Promise<void>;
  /** Called as message `index` is answered or fails. */
  onMessageDone?: (index: number) => void;
  /** How replies' arrays in an engine's store are mapped (see TaskRouter.decoding). */
  decode?: DecodeOptions;
}

/**
 * The handle of submitted work. It is `PromiseLike`: `await view.apply(f)` gives the value,
 * while the bare call gives this handle with `msgIds`, progress, outputs and timings.
 *
 * Times are milliseconds. `get`/`wait` take `{ timeout, signal }` (a timeout in milliseconds; omit it
 * to wait as long as it takes).
 */
export class AsyncResult<T = unknown> implements PromiseLike<T>, AsyncIterable<unknown> {
  readonly #slots: TaskSlot[] = [];
  readonly #arrivals: number[] = [];
  #arrivalWaiters: (() => void)[] = [];
  #remaining = 0;
  /** Settles once every message is answered; made when first awaited (a flood awaits few). */
  #all: Promise<void> | undefined;
  #allSettle: (() => void) | undefined;
  #sealed = false;
  #payloadBytes = 0;

  constructor(readonly options: AsyncResultOptions) {}

  /**
   * One object per message that is its listener (no closures: a flood keeps thousands of these
   * alive at once, and every object in flight is work for the garbage collector).
   */
  static readonly #Tracked = class implements TrackedMessage, TaskListener {
    constructor(
      readonly ar: AsyncResult,
      readonly slot: TaskSlot,
      readonly index: number,
    ) {}
    get listener(): TaskListener {
      return this;
    }
    bind(msgId: string): void {
      this.slot.info.msgId = msgId;
    }
    output(msg: AnyMessage): void {
      this.ar.#output(this.slot, msg);
    }
    reply(msg: AnyMessage): void {
      this.ar.#reply(this.slot, this.index, msg);
    }
    lost(err: Error): void {
      this.ar.#finish(this.slot, this.index, undefined, err);
    }
  };

  /** @internal Adds one message; returns its listener (to pass to `submit`) and msg_id binder. */
  track(engineId: EngineId): TrackedMessage {
    const slot: TaskSlot = {
      info: {
        msgId: "",
        engineId,
        status: "pending",
        submitted: Date.now(),
        stdout: "",
        stderr: "",
        outputs: [],
      },
    };
    const index = this.#slots.length;
    this.#slots.push(slot);
    this.#remaining++;
    return new AsyncResult.#Tracked(this as AsyncResult, slot, index);
  }

  /** @internal No more messages will be added. */
  seal(): this {
    this.#sealed = true;
    if (this.#remaining === 0) this.#complete();
    return this;
  }

  /** @internal Fails a message before it was sent (e.g. a bad target). */
  failSlot(index: number, err: Error): void {
    const slot = this.#slots[index];
    if (slot) this.#finish(slot, index, undefined, err);
  }

  readonly #outputListeners = new Set<(output: LiveOutput) => void>();

  /**
   * Calls `listener` with each output as it arrives (live streaming, e.g. `%px --stream`);
   * returns a function that stops the calls.
   */
  onOutput(listener: (output: LiveOutput) => void): () => void {
    this.#outputListeners.add(listener);
    return () => this.#outputListeners.delete(listener);
  }

  #output(slot: TaskSlot, msg: AnyMessage): void {
    let live: LiveOutput | undefined;
    switch (msg.header.msg_type) {
      case "stream": {
        const c = (msg as Message<"stream">).content;
        slot.info[c.name] += c.text;
        live = { engineId: slot.info.engineId, type: c.name, text: c.text };
        break;
      }
      case "display_data":
      case "execute_result": {
        const c = (msg as Message<"display_data">).content;
        const out: DisplayOutput = {
          engineId: slot.info.engineId,
          type: msg.header.msg_type,
          data: c.data,
          metadata: c.metadata,
        };
        slot.info.outputs.push(out);
        live = out;
        break;
      }
    }
    if (live) for (const l of this.#outputListeners) l(live);
  }

  #reply(slot: TaskSlot, index: number, msg: AnyMessage): void {
    const status = msg.content as ReplyStatus;
    const meta = msg.metadata as Partial<ReplyMetadata>;
    if (typeof meta.engine_id === "number" && meta.engine_id >= 0) slot.info.engineId = meta.engine_id;
    slot.info.started = meta.started || undefined;
    slot.info.completed = meta.completed;
    const eid = slot.info.engineId;
    if (status.status === "ok") {
      for (const b of msg.buffers) this.#payloadBytes += b.byteLength;
      const failed = (e: unknown) => this.#finish(slot, index, undefined, e as Error);
      try {
        // A value in one frame decodes at once; arrays (Arrow frames) may need a module loaded.
        const inline = msg.buffers.length ? decodeInline(msg.buffers) : { value: undefined };
        if (inline) this.#finish(slot, index, inline.value, undefined);
        else
          decodeValue(msg.buffers, this.options.decode).then((v) => {
            // Arrays mapped from an engine's store are not in the message's bytes: count them too.
            if (this.options.decode) this.#payloadBytes += arrayBytes(v);
            this.#finish(slot, index, v, undefined);
          }, failed);
      } catch (e) {
        failed(e);
      }
    } else if (status.status === "aborted") {
      this.#finish(
        slot,
        index,
        undefined,
        new TaskAborted(eid, "TaskAborted", "the task was aborted before it ran"),
      );
    } else {
      this.#finish(
        slot,
        index,
        undefined,
        remoteErrorFor(status.engine_id ?? eid, status.ename, status.evalue, status.traceback),
      );
    }
  }

  #finish(slot: TaskSlot, index: number, value: unknown, error: Error | undefined): void {
    if (slot.info.status !== "pending") return;
    slot.info.received = Date.now();
    slot.info.status = error ? (error instanceof TaskAborted ? "aborted" : "error") : "ok";
    slot.value = value;
    slot.error = error;
    if (slot.waiters) for (const w of slot.waiters) w();
    slot.waiters = undefined;
    this.#arrivals.push(index);
    this.options.onMessageDone?.(index);
    for (const w of this.#arrivalWaiters.splice(0)) w();
    if (--this.#remaining === 0 && this.#sealed) this.#complete();
  }

  #complete(): void {
    this.#allSettle?.();
    this.options.onDone?.(this as AsyncResult);
  }

  /** @internal Bytes of array data this result's values hold (what remembering it costs). */
  get payloadBytes(): number {
    return this.#payloadBytes;
  }

  /** The msg_ids of the messages this result waits for. */
  get msgIds(): string[] {
    return this.#slots.map((s) => s.info.msgId);
  }

  /** Per-message metadata: engine, status, timestamps, captured output. */
  get metadata(): TaskInfo[] {
    return this.#slots.map((s) => s.info);
  }

  /** Engine of each message (known for load-balanced tasks once answered). */
  get engineIds(): EngineId[] {
    return this.#slots.map((s) => s.info.engineId);
  }

  /** True when every message has been answered. */
  ready(): boolean {
    return this.#sealed && this.#remaining === 0;
  }

  /** True when every message succeeded; throws if not ready yet. */
  successful(): boolean {
    if (!this.ready())
      throw new ClusterError("WAIT_TIMEOUT", "the result is not ready yet: await ar.wait() first");
    return this.#slots.every((s) => !s.error);
  }

  /** Messages answered so far. */
  get progress(): number {
    return this.#slots.length - this.#remaining;
  }

  /** Number of messages. */
  get length(): number {
    return this.#slots.length;
  }

  /** Captured stdout, one string per message. */
  get stdout(): string[] {
    return this.#slots.map((s) => s.info.stdout);
  }

  /** Captured stderr, one string per message. */
  get stderr(): string[] {
    return this.#slots.map((s) => s.info.stderr);
  }

  /** Rich outputs (display() calls and execute results), one list per message. */
  get outputs(): DisplayOutput[][] {
    return this.#slots.map((s) => s.info.outputs);
  }

  /**
   * All outputs in ipyparallel's grouping by engine: `[stdout:N]`, `[stderr:N]`, then rich
   * outputs, as one list the kernel can render.
   */
  displayOutputs(): ({ engineId: EngineId; type: "stdout" | "stderr"; text: string } | DisplayOutput)[] {
    const out: ({ engineId: EngineId; type: "stdout" | "stderr"; text: string } | DisplayOutput)[] = [];
    for (const s of this.#slots) {
      if (s.info.stdout) out.push({ engineId: s.info.engineId, type: "stdout", text: s.info.stdout });
      if (s.info.stderr) out.push({ engineId: s.info.engineId, type: "stderr", text: s.info.stderr });
      out.push(...s.info.outputs);
    }
    return out;
  }

  /** Milliseconds since submission (until the last reply once ready). */
  get elapsed(): number {
    const first = Math.min(...this.#slots.map((s) => s.info.submitted));
    const end = this.ready() ? Math.max(...this.#slots.map((s) => s.info.received ?? 0)) : Date.now();
    return end - first;
  }

  /** Sum of engine-side run times in ms (ipyparallel's `serial_time`). */
  get serialTime(): number {
    return this.#slots.reduce(
      (n, s) => n + (s.info.completed && s.info.started ? s.info.completed - s.info.started : 0),
      0,
    );
  }

  /** First submission to last reply in ms (ipyparallel's `wall_time`); `serialTime / wallTime` is the speedup. */
  get wallTime(): number {
    return this.elapsed;
  }

  /**
   * Waits like {@link wait} while showing a progress line that updates in place (in the
   * tsparallel kernel, one output under the cell; elsewhere on stderr).
   */
  waitInteractive(opts: CancelOptions & { interval?: number } = {}): Promise<boolean> {
    return showProgressUntilReady(this, (o) => this.wait(o), opts);
  }

  /** Settles once every message is answered. */
  #settled(): Promise<void> {
    if (this.ready()) return Promise.resolve();
    this.#all ??= new Promise((r) => {
      this.#allSettle = r;
    });
    return this.#all;
  }

  /**
   * Waits until ready; resolves true, or false when `timeout` (ms) passed first. Never throws task
   * errors; rejects with InterruptedError when `signal` aborts (the tasks keep running).
   */
  async wait(opts: CancelOptions = {}): Promise<boolean> {
    checkTimeout(opts.timeout);
    if (this.ready()) return true;
    return withinLimits(
      this.#settled().then(() => true as const),
      opts,
      () => false as const,
    );
  }

  /**
   * The value (throws the remote error); rejects with `WAIT_TIMEOUT` after `timeout` (ms), and
   * with InterruptedError when `signal` aborts. The tasks keep running either way.
   */
  async get(opts: CancelOptions = {}): Promise<T> {
    if (!(await this.wait(opts))) {
      throw new ClusterError(
        "WAIT_TIMEOUT",
        `the result was not ready within ${opts.timeout} ms (${this.progress}/${this.length} done); it keeps running: call get() again later`,
      );
    }
    this.#throwErrors();
    await this.options.prepare?.(this.#slots.map((s) => s.value));
    return this.#value();
  }

  /** Throws the remote error(s) of a ready result, if any. */
  #throwErrors(): void {
    const errors = this.#slots.filter((s) => s.error).map((s) => s.error!);
    if (errors.length === 1 && this.#slots.length === 1) throw errors[0];
    if (errors.length) throw new CompositeError(errors);
  }

  /** The value of a ready result, or its error thrown. */
  #outcome(): T {
    this.#throwErrors();
    return this.#value();
  }

  #value(): T {
    const values = this.#slots.map((s) => s.value);
    let v: unknown;
    if (this.options.shape === "single") v = values[0];
    else if (this.options.shape === "map") v = values.flatMap((x) => x as unknown[]);
    else v = values;
    return (this.options.combine ? this.options.combine(values) : v) as T;
  }

  // biome-ignore lint/suspicious/noThenProperty: AsyncResult is deliberately thenable (`await ar`).
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    if (this.options.prepare) return this.get().then(onfulfilled, onrejected);
    // get() without its two async frames: `await ar` is how most results are read.
    return this.#settled()
      .then(() => this.#outcome())
      .then(onfulfilled, onrejected);
  }

  /** Like `Promise#catch`: an AsyncResult can stand wherever a Promise is expected. */
  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.get().catch(onrejected);
  }

  /** Like `Promise#finally`. */
  finally(onfinally?: (() => void) | null): Promise<T> {
    return this.get().finally(onfinally);
  }

  get [Symbol.toStringTag](): string {
    return "AsyncResult";
  }

  /** How Jupyter shows the handle: `<AsyncResult: pending, 1/2 done>`. */
  [Symbol.for("Jupyter.display")](): Record<string, string> {
    const state = this.ready() ? (this.#slots.every((s) => !s.error) ? "finished" : "failed") : "pending";
    return {
      "text/plain": `<AsyncResult: ${state}, ${this.progress}/${this.length} done, msgIds ${this.msgIds.map((m) => m.slice(0, 8)).join(", ")}>`,
    };
  }

  /** Aborts the messages that have not started yet. */
  async abort(): Promise<void> {
    await this.options.abort?.(this.msgIds.filter((_, i) => this.#slots[i]!.info.status === "pending"));
  }

  /**
   * Yields results as they arrive: per message for apply/execute, per item for map (in order,
   * unless the map was submitted with `ordered: false`). A failed message throws at its turn.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<unknown> {
    const ordered = this.options.ordered !== false;
    const emit = (s: TaskSlot): unknown[] => {
      if (s.error) throw s.error;
      return this.options.shape === "map" ? (s.value as unknown[]) : [s.value];
    };
    if (ordered) {
      for (const s of this.#slots) {
        if (s.info.status === "pending")
          await new Promise<void>((r) => {
            s.waiters ??= [];
            s.waiters.push(r);
          });
        yield* emit(s);
      }
      return;
    }
    for (let seen = 0; seen < this.#slots.length; seen++) {
      while (this.#arrivals.length <= seen) await new Promise<void>((r) => this.#arrivalWaiters.push(r));
      yield* emit(this.#slots[this.#arrivals[seen]!]!);
    }
  }
}
