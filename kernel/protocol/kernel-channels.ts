import { Worker } from "node:worker_threads";
import { Publisher, Router } from "zeromq";
import { WireError } from "../../engines/wire/protocol/errors.js";
import {
  decodeMessage,
  encodeMessage,
  type OutgoingMessage,
  type WireMessage,
} from "../../engines/wire/protocol/frames.js";
import { ReplayGuard } from "../../engines/wire/protocol/replay-guard.js";
import { Signer } from "../../engines/wire/protocol/signing.js";
import { type FrameSink, SendQueue } from "../../engines/wire/transport/send-queue.js";
import { type ConnectionInfo, channelAddress } from "./connection-file.js";
import type { ControlWorkerData, FromWorker, ToWorker } from "./control-worker.js";
import { kernelLog } from "./log.js";

/** Channels on which the kernel receives requests. */
export type RequestChannel = "shell" | "control" | "stdin";

/** Channels on which the kernel sends. */
export type SendChannel = RequestChannel | "iopub";

/** Called for every well-formed, correctly signed message. */
export type MessageListener = (channel: RequestChannel, msg: WireMessage) => void;

const JUPYTER = { signBuffersBelow: 0 };

/** zeromq.js takes a mutable array; our queues hand out read-only ones. */
export function frameSink(socket: { send(frames: Uint8Array[]): Promise<void> }): FrameSink {
  return { send: (frames) => socket.send([...frames]) };
}

/**
 * The kernel's five ZeroMQ sockets. Shell, stdin and iopub live on the main thread; control
 * and heartbeat live in a worker thread (see control-worker.ts) so they answer while user code
 * blocks the main thread. Messages that fail framing or the HMAC check are logged and dropped.
 */
export class KernelChannels {
  readonly #signer: Signer;
  /** Signatures of messages accepted lately, on every channel of this thread (control has its own). */
  readonly #replays = new ReplayGuard();
  readonly #shell = new Router({ linger: 1000 });
  readonly #stdin = new Router({ linger: 0 });
  readonly #iopub = new Publisher({ linger: 1000 });
  readonly #queues: Record<"shell" | "stdin" | "iopub", SendQueue>;
  #worker: Worker | undefined;
  #listener: MessageListener = () => {};
  #closed = false;

  constructor(
    readonly info: ConnectionInfo,
    /** The kernel's session id, written into every header it sends. */
    readonly session: string,
  ) {
    this.#signer = new Signer(info.key, info.signature_scheme);
    const onError = (channel: string) => (err: unknown) =>
      kernelLog(`${channel} send failed: ${String(err)}`);
    this.#queues = {
      shell: new SendQueue(frameSink(this.#shell), onError("shell")),
      stdin: new SendQueue(frameSink(this.#stdin), onError("stdin")),
      iopub: new SendQueue(frameSink(this.#iopub), onError("iopub")),
    };
  }

  /** Binds shell, stdin and iopub and starts receiving on them (control: {@link startControl}). */
  async bind(listener: MessageListener): Promise<void> {
    this.#listener = listener;
    await this.#shell.bind(channelAddress(this.info, "shell"));
    await this.#stdin.bind(channelAddress(this.info, "stdin"));
    await this.#iopub.bind(channelAddress(this.info, "iopub"));
    void this.#loop("shell", this.#shell);
    void this.#loop("stdin", this.#stdin);
  }

  /**
   * Starts the thread that owns control and heartbeat; resolves once their sockets are bound.
   * The thread takes ~0.1 s to start (ZeroMQ loads again in its isolate): shell answers
   * meanwhile, and a client's control messages wait in ZeroMQ's queues. `onInterrupt` runs on
   * the main thread after the control thread has answered an interrupt_request (see below).
   */
  async startControl(onInterrupt: () => void = () => {}): Promise<void> {
    const data: ControlWorkerData = {
      controlAddress: channelAddress(this.info, "control"),
      hbAddress: channelAddress(this.info, "hb"),
      key: this.info.key,
      session: this.session,
    };
    const worker = new Worker(new URL("./control-worker.js", import.meta.url), { workerData: data });
    this.#worker = worker;
    await new Promise<void>((resolve, reject) => {
      worker.on("error", (e) => {
        kernelLog(`control worker failed: ${e.stack ?? String(e)}`);
        reject(e);
      });
      worker.on("message", (m: FromWorker) => {
        if (m.kind === "ready") resolve();
        // The control thread also raises SIGINT, but Node drops a SIGINT that arrives while the
        // main thread is busy (compiling a cell) once a `breakOnSigint` script runs before the
        // event loop has seen it; this message is not dropped.
        else if (m.kind === "interrupted") onInterrupt();
        else if (m.kind === "bind-error") reject(new Error(`cannot bind control/heartbeat: ${m.message}`));
        else if (m.kind === "control")
          this.#receive(
            "control",
            m.frames.map((f) => Buffer.from(f)),
          );
      });
    });
  }

  async #loop(channel: "shell" | "stdin", socket: Router): Promise<void> {
    try {
      for await (const frames of socket) this.#receive(channel, frames);
    } catch (e) {
      if (!this.#closed) kernelLog(`${channel} socket stopped: ${String(e)}`);
    }
  }

  #receive(channel: RequestChannel, frames: Buffer[]): void {
    let msg: WireMessage;
    try {
      msg = decodeMessage(frames, this.#signer, JUPYTER);
    } catch (e) {
      const why = e instanceof WireError ? `${e.code}: ${e.message}` : String(e);
      kernelLog(`dropped a ${channel} message (${why})`);
      return;
    }
    // The same signed frames again (jupyter_client keeps such a digest history too): not run twice.
    if (this.#signer.enabled && this.#replays.seen(frames[msg.identities.length + 1]!)) {
      kernelLog(`dropped a ${channel} ${msg.header.msg_type}: the same signed message came again (a replay)`);
      return;
    }
    try {
      this.#listener(channel, msg);
    } catch (e) {
      kernelLog(`handling ${msg.header.msg_type} on ${channel} failed: ${(e as Error).stack ?? String(e)}`);
    }
  }

  /** Signs and sends `msg` on `channel`; resolves when the socket has taken it. */
  send(channel: SendChannel, msg: OutgoingMessage): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const frames = encodeMessage(msg, this.#signer, JUPYTER);
    if (channel === "control") {
      this.#worker?.postMessage({ kind: "send", frames } satisfies ToWorker);
      return Promise.resolve();
    }
    return this.#queues[channel].send(frames);
  }

  /** Flushes pending sends, then closes every socket and stops the worker. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(Object.values(this.#queues).map((q) => q.flush()));
    // The main thread's sockets go first, then the worker's (its thread ends with them).
    this.#shell.close();
    this.#stdin.close();
    this.#iopub.close();
    const worker = this.#worker;
    if (worker) {
      // Wait for the worker thread to end, not just to close its sockets: exiting the process
      // while a thread still tears down its ZeroMQ context corrupts the heap.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => void worker.terminate().then(() => resolve()), 3000);
        worker.on("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        worker.postMessage({ kind: "close" } satisfies ToWorker);
      });
    }
  }
}
