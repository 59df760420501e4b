import { setTimeout as sleep } from "node:timers/promises";
import { Router } from "zeromq";
import { kernelLog } from "./log.js";

/** How long to wait between attempts to bind a heartbeat socket again. */
const REBIND_EVERY_MS = 200;

/**
 * The kernel's heartbeat channel: echoes whatever a client sends, from the control thread (see
 * control-worker.ts), so it answers while user code blocks the main thread.
 *
 * It is a ROUTER, as ipykernel's is, not a REP. A REP socket keeps a request/reply state: one
 * peer that sent a request and vanished before the reply (anyone who can connect can send a
 * ZMTP/1.0 greeting and a message) left the reply unsendable, the loop ended, and Jupyter took
 * the kernel for dead. A ROUTER echoes `[identity, …frames]` to that identity and drops what it
 * cannot route. Should the socket fail anyway, it is closed and bound again: no bytes may stop
 * the heartbeat.
 */
export class Heartbeat {
  #socket = Heartbeat.#open();
  #closed = false;

  constructor(readonly address: string) {}

  static #open(): Router {
    // A send never waits: an echo that cannot leave at once is dropped.
    const socket = new Router({ linger: 0, sendTimeout: 0 });
    socket.mandatory = false;
    return socket;
  }

  /** Binds the channel's address. */
  bind(): Promise<void> {
    return this.#socket.bind(this.address);
  }

  /** Echoes until {@link close}; a failed socket is replaced. */
  async run(): Promise<void> {
    while (!this.#closed) {
      const socket = this.#socket;
      try {
        for await (const frames of socket) {
          try {
            await socket.send(frames);
          } catch {
            // The peer went away or its queue is full: its echo is dropped, the loop goes on.
          }
        }
      } catch (e) {
        if (!this.#closed) kernelLog(`heartbeat socket failed (${String(e)}); binding it again`);
      }
      if (!this.#closed) await this.#rebind();
    }
  }

  /** Replaces the socket by a fresh one on the same address (retried while the port is busy). */
  async #rebind(): Promise<void> {
    this.#socket.close();
    while (!this.#closed) {
      const socket = Heartbeat.#open();
      try {
        await socket.bind(this.address);
        this.#socket = socket;
        return;
      } catch (e) {
        socket.close();
        kernelLog(`heartbeat cannot bind ${this.address} again yet: ${String(e)}`);
        await sleep(REBIND_EVERY_MS);
      }
    }
  }

  /** Stops echoing and closes the socket. */
  close(): void {
    this.#closed = true;
    this.#socket.close();
  }
}
