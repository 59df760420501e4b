/**
 * A small Jupyter client over real ZeroMQ sockets, for tests: DEALER sockets for shell,
 * control and stdin (one routing id, as jupyter_client does), SUB for iopub, REQ for heartbeat.
 */
import { randomUUID } from "node:crypto";
import { Dealer, Request, Subscriber } from "zeromq";
import {
  decodeMessage,
  encodeMessage,
  makeHeader,
  type WireMessage,
} from "../../engines/wire/protocol/frames.js";
import { Signer } from "../../engines/wire/protocol/signing.js";
import { type ConnectionInfo, channelAddress } from "../../kernel/protocol/connection-file.js";

const JUPYTER = { signBuffersBelow: 0 };
type ClientChannel = "shell" | "control" | "stdin" | "iopub";

/** Messages received on one channel, with waiters for the next match. */
class Inbox {
  readonly messages: WireMessage[] = [];
  #waiters: { pred: (m: WireMessage) => boolean; resolve: (m: WireMessage) => void }[] = [];

  push(m: WireMessage): void {
    const i = this.#waiters.findIndex((w) => w.pred(m));
    if (i >= 0) {
      const [w] = this.#waiters.splice(i, 1);
      w!.resolve(m);
    } else {
      this.messages.push(m);
    }
  }

  take(pred: (m: WireMessage) => boolean, timeoutMs: number, what: string): Promise<WireMessage> {
    const i = this.messages.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.messages.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (m: WireMessage) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.#waiters.push(w);
    });
  }
}

/** A connected test client. Close it when done. */
export class JupyterClient {
  readonly session = randomUUID();
  readonly signer: Signer;
  readonly sockets: { shell: Dealer; control: Dealer; stdin: Dealer; iopub: Subscriber; hb: Request };
  readonly inbox: Record<ClientChannel, Inbox> = {
    shell: new Inbox(),
    control: new Inbox(),
    stdin: new Inbox(),
    iopub: new Inbox(),
  };
  /** Frames that failed to decode (should stay empty: the kernel signs everything). */
  readonly undecodable: Buffer[][] = [];

  constructor(readonly info: ConnectionInfo) {
    this.signer = new Signer(info.key);
    const id = Buffer.from(this.session);
    this.sockets = {
      shell: new Dealer({ routingId: id.toString(), linger: 0 }),
      control: new Dealer({ routingId: id.toString(), linger: 0 }),
      stdin: new Dealer({ routingId: id.toString(), linger: 0 }),
      iopub: new Subscriber({ linger: 0 }),
      hb: new Request({ linger: 0, receiveTimeout: 5000 }),
    };
    this.sockets.shell.connect(channelAddress(info, "shell"));
    this.sockets.control.connect(channelAddress(info, "control"));
    this.sockets.stdin.connect(channelAddress(info, "stdin"));
    this.sockets.iopub.connect(channelAddress(info, "iopub"));
    this.sockets.iopub.subscribe();
    this.sockets.hb.connect(channelAddress(info, "hb"));
    for (const ch of ["shell", "control", "stdin", "iopub"] as const) void this.#loop(ch);
  }

  async #loop(channel: ClientChannel): Promise<void> {
    try {
      for await (const frames of this.sockets[channel]) {
        try {
          this.inbox[channel].push(decodeMessage(frames, this.signer, JUPYTER));
        } catch {
          this.undecodable.push(frames);
        }
      }
    } catch {
      // socket closed
    }
  }

  /** Sends a request; returns its msg_id. */
  async send(
    channel: "shell" | "control" | "stdin",
    msgType: string,
    content: unknown,
    extra: {
      parent_header?: WireMessage["header"];
      buffers?: Uint8Array[];
      metadata?: Record<string, unknown>;
    } = {},
  ): Promise<string> {
    const header = makeHeader(msgType, this.session, "test");
    const frames = encodeMessage(
      {
        header,
        parent_header: extra.parent_header ?? {},
        metadata: extra.metadata ?? {},
        content,
        ...(extra.buffers ? { buffers: extra.buffers } : {}),
      },
      this.signer,
      JUPYTER,
    );
    await this.sockets[channel].send(frames);
    return header.msg_id;
  }

  /** Sends frames as they are (for malformed-message tests). */
  async sendRaw(channel: "shell" | "control" | "stdin", frames: (string | Uint8Array)[]): Promise<void> {
    await this.sockets[channel].send(frames);
  }

  /** The reply to `msgId` on `channel`. */
  reply(channel: "shell" | "control", msgId: string, timeoutMs = 15000): Promise<WireMessage> {
    return this.inbox[channel].take(
      (m) => (m.parent_header as { msg_id?: string }).msg_id === msgId,
      timeoutMs,
      `the ${channel} reply to ${msgId}`,
    );
  }

  /** The next message matching `pred` on `channel`. */
  next(channel: ClientChannel, pred: (m: WireMessage) => boolean, timeoutMs = 15000, what = "a message") {
    return this.inbox[channel].take(pred, timeoutMs, what);
  }

  /** IOPub messages for `msgId`, from busy to idle (both excluded). */
  async outputs(msgId: string, timeoutMs = 15000): Promise<WireMessage[]> {
    const forMsg = (m: WireMessage) => (m.parent_header as { msg_id?: string }).msg_id === msgId;
    await this.next(
      "iopub",
      (m) =>
        forMsg(m) &&
        m.header.msg_type === "status" &&
        (m.content as { execution_state: string }).execution_state === "busy",
      timeoutMs,
      `busy for ${msgId}`,
    );
    const out: WireMessage[] = [];
    for (;;) {
      const m = await this.next("iopub", forMsg, timeoutMs, `output of ${msgId}`);
      if (
        m.header.msg_type === "status" &&
        (m.content as { execution_state: string }).execution_state === "idle"
      ) {
        return out;
      }
      out.push(m);
    }
  }

  /** Runs `code`; returns the reply and the IOPub outputs. */
  async execute(
    code: string,
    options: Record<string, unknown> = {},
    timeoutMs = 15000,
  ): Promise<{ reply: WireMessage; outputs: WireMessage[]; msgId: string }> {
    const msgId = await this.send("shell", "execute_request", {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
      ...options,
    });
    const [reply, outputs] = await Promise.all([
      this.reply("shell", msgId, timeoutMs),
      this.outputs(msgId, timeoutMs),
    ]);
    return { reply, outputs, msgId };
  }

  /** Waits until the kernel answers kernel_info and its IOPub reaches us (subscriptions take a moment). */
  async ready(timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const id = await this.send("shell", "kernel_info_request", {});
      await this.reply("shell", id, Math.max(1, deadline - Date.now()));
      try {
        await this.next("iopub", (m) => (m.parent_header as { msg_id?: string }).msg_id === id, 500, "iopub");
        // Drop whatever else belongs to the probes.
        this.inbox.iopub.messages.length = 0;
        return;
      } catch {
        // subscription not there yet; ask again
      }
    }
    throw new Error("kernel did not become ready");
  }

  /** One heartbeat round trip. */
  async heartbeat(payload = "ping"): Promise<string> {
    await this.sockets.hb.send(payload);
    const [echo] = await this.sockets.hb.receive();
    return echo!.toString();
  }

  close(): void {
    for (const s of Object.values(this.sockets)) s.close();
  }
}
