import { setImmediate } from "node:timers";
import { type Batchable, MAX_BATCH, openPart, sendPacked } from "../wire/protocol/batch.js";
import type { MsgType } from "../wire/protocol/messages.js";
import type { SignedSocket } from "../wire/transport/signed-socket.js";

/** A received message: `raw` holds its signed frames, or nothing when it came inside a batch. */
export type Relayed = Batchable & { raw: readonly Buffer[] };

/**
 * Sends a message signed anew: one that came inside a batch (it has no frames of its own to
 * forward; its sealed part is opened first, for the header, parent and content in full), or one
 * its receiver may have had before. `mark` goes into its metadata; a receiver drops the same
 * signed frames when they come again (a replay), so a message sent to the same peer again must
 * carry a mark of its own. False when the part cannot be opened (nothing is sent).
 */
export function resign(
  sock: SignedSocket,
  identity: Buffer,
  msg: Relayed,
  mark?: Record<string, unknown>,
): boolean {
  const m = msg.sealed ? openPart(msg.sealed, []) : msg;
  if (!m) return false;
  void sock.send(m.header.msg_type as MsgType, m.content as never, {
    identities: [identity],
    header: m.header,
    parent: m.parent_header,
    metadata: mark ? { ...m.metadata, ...mark } : m.metadata,
    buffers: m.buffers,
  });
  return true;
}

/**
 * Sends task requests to engines (or replies to clients) the cheapest way that keeps their order
 * per peer: a message that arrived whole is forwarded as received (same signature) when nothing
 * is waiting for that peer; messages that arrived inside a batch are re-batched per peer at the
 * end of the event-loop turn, their sealed bytes copied unread, so a flood costs one signed
 * message per peer and turn.
 */
export class BatchingRelay {
  readonly #pending = new Map<string, { identity: Buffer; items: Relayed[] }>();
  #scheduled = false;

  constructor(
    private readonly sock: SignedSocket,
    private readonly batchType: "task_batch" | "reply_batch",
  ) {}

  send(identity: Buffer, msg: Relayed): void {
    const key = identity.toString("latin1");
    const waiting = this.#pending.get(key);
    if (!waiting && msg.raw.length) {
      void this.sock.forward(msg, [identity]);
      return;
    }
    if (waiting) waiting.items.push(msg);
    else this.#pending.set(key, { identity, items: [msg] });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  #flush(): void {
    this.#scheduled = false;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { identity, items } of pending) {
      let run: Relayed[] = [];
      const sendRun = () => {
        // A sealed part goes on as a batch even alone: re-signing it would mean parsing it.
        if (run.length)
          sendPacked(
            run,
            (m) => resign(this.sock, identity, m),
            (content, buffers) =>
              void this.sock.send(this.batchType, content, { identities: [identity], buffers }),
          );
        run = [];
      };
      for (const m of items) {
        if (m.raw.length) {
          sendRun();
          void this.sock.forward(m, [identity]);
        } else {
          run.push(m);
          if (run.length >= MAX_BATCH) sendRun();
        }
      }
      sendRun();
    }
  }
}
