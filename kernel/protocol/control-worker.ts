/**
 * Worker thread that owns the control and heartbeat sockets.
 *
 * User code that spins in a synchronous loop blocks the main thread's event loop, so sockets
 * there cannot answer. Here they can: heartbeats keep echoing, and an interrupt_request raises
 * SIGINT on the process (which breaks `breakOnSigint` scripts and aborts pending awaits on the
 * main thread) and is answered from this thread. Other control messages are forwarded to the
 * main thread, which answers through {@link ToWorker} "send".
 */
import { parentPort, workerData } from "node:worker_threads";
import { Router } from "zeromq";
import { IdleCollector } from "../../engines/idle-collector.js";
import { WireError } from "../../engines/wire/protocol/errors.js";
import { decodeMessage, encodeMessage, makeHeader } from "../../engines/wire/protocol/frames.js";
import { ReplayGuard } from "../../engines/wire/protocol/replay-guard.js";
import { Signer } from "../../engines/wire/protocol/signing.js";
import { SendQueue } from "../../engines/wire/transport/send-queue.js";
import { Heartbeat } from "./heartbeat.js";
import { kernelLog } from "./log.js";

/** What the main thread hands the worker at start. */
export interface ControlWorkerData {
  controlAddress: string;
  hbAddress: string;
  key: string;
  session: string;
}

/** Main thread → worker. */
export type ToWorker = { kind: "send"; frames: Uint8Array[] } | { kind: "close" };

/** Worker → main thread. */
export type FromWorker =
  | { kind: "ready" }
  | { kind: "bind-error"; message: string }
  | { kind: "control"; frames: Uint8Array[] }
  | { kind: "interrupted" }
  | { kind: "closed" };

const JUPYTER = { signBuffersBelow: 0 };

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * zeromq.js sends a buffer over 128 bytes without copying it and, once ZeroMQ's I/O thread is done
 * with it, hands it back to the addon instance of the thread that sent it. From a worker that is
 * about to end (the reply to shutdown_request is its last send) that can come after the worker's
 * instance is gone, which corrupted the heap at exit about once in 15 shutdowns (zeromq.js#411).
 * A string is copied into memory ZeroMQ owns and frees itself, so frames that are UTF-8 text (the
 * JSON frames and the signature of every Jupyter message) go as strings; short frames are copied
 * anyway.
 */
function ownedFrames(frames: readonly Uint8Array[]): (Uint8Array | string)[] {
  return frames.map((f) => {
    if (f.byteLength <= 128) return f;
    try {
      return utf8.decode(f);
    } catch {
      return f; // binary (a buffer on control is rare): sent as it is
    }
  });
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("control-worker.js must run as a worker thread");
  const data = workerData as ControlWorkerData;
  const post = (m: FromWorker) => port.postMessage(m);
  const signer = new Signer(data.key);
  const replays = new ReplayGuard();
  // This thread's heap is its own: the main thread's collections do not free what it received.
  // A received frame pins ZeroMQ's 8 KiB receive batch it came in until the frame is collected,
  // so 10,000 control messages left ~18 MB of batches held by garbage here.
  const collector = new IdleCollector({ rssGrowth: 1.25 });
  const control = new Router({ linger: 0 });
  const hb = new Heartbeat(data.hbAddress);
  try {
    await control.bind(data.controlAddress);
    await hb.bind();
  } catch (e) {
    post({ kind: "bind-error", message: (e as Error).message });
    control.close();
    hb.close();
    return;
  }
  const queue = new SendQueue({ send: (frames) => control.send(ownedFrames(frames)) }, (err) =>
    kernelLog(`control send failed: ${String(err)}`),
  );

  port.on("message", (m: ToWorker) => {
    if (m.kind === "send") {
      void queue.send(m.frames);
    } else if (m.kind === "close") {
      void queue.flush().then(() => {
        control.close();
        hb.close();
        post({ kind: "closed" });
        port.close();
      });
    }
  });

  void hb.run();

  post({ kind: "ready" });
  try {
    for await (const frames of control) {
      collector.saw();
      let msg: ReturnType<typeof decodeMessage>;
      try {
        msg = decodeMessage(frames, signer, JUPYTER);
      } catch (e) {
        const why = e instanceof WireError ? `${e.code}: ${e.message}` : String(e);
        kernelLog(`dropped a control message (${why})`);
        continue;
      }
      if (signer.enabled && replays.seen(frames[msg.identities.length + 1]!)) {
        kernelLog(`dropped a control ${msg.header.msg_type}: the same signed message came again (a replay)`);
        continue;
      }
      if (msg.header.msg_type === "interrupt_request") {
        // The main thread may be stuck in user code: signal the process, answer from here.
        process.kill(process.pid, "SIGINT");
        post({ kind: "interrupted" });
        const reply = encodeMessage(
          {
            identities: msg.identities,
            header: makeHeader("interrupt_reply", data.session),
            parent_header: msg.header,
            content: { status: "ok" },
          },
          signer,
          JUPYTER,
        );
        void queue.send(reply);
        continue;
      }
      post({ kind: "control", frames: frames.map((f) => new Uint8Array(f)) });
    }
  } catch (e) {
    if (!control.closed) kernelLog(`control socket stopped: ${String(e)}`);
  }
}

void main();
