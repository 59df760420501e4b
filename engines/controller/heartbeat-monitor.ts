import type { Message } from "../wire/messages.js";
import type { SignedSocket } from "../wire/signed-socket.js";
import type { EngineRecord, EngineRegistry } from "./engine-registry.js";

/** Heartbeat timing. Death is declared after `interval * maxMissed` ms without a pong. */
export interface HeartbeatOptions {
  interval: number;
  maxMissed: number;
}

export const DEFAULT_HEARTBEAT: HeartbeatOptions = { interval: 500, maxMissed: 6 };

/**
 * Pings every engine's heart thread and declares an engine dead when it stops answering.
 * Hearts answer from a worker thread, so a busy engine is not mistaken for a dead one.
 */
export class HeartbeatMonitor {
  #seq = 0;
  #lastTick = Date.now();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly sock: SignedSocket,
    private readonly registry: EngineRegistry,
    private readonly onDead: (rec: EngineRecord, reason: string) => void,
    readonly opts: HeartbeatOptions = DEFAULT_HEARTBEAT,
  ) {
    this.#timer = setInterval(() => this.#tick(), opts.interval);
    this.#timer.unref();
  }

  #tick(): void {
    const now = Date.now();
    const limit = this.opts.interval * this.opts.maxMissed;
    // When this event loop was blocked (e.g. verifying a 512 MiB message), pongs sat unread in the
    // socket: our own stall is not the engines' silence.
    const gap = now - this.#lastTick;
    this.#lastTick = now;
    if (gap > 2 * this.opts.interval)
      for (const rec of this.registry.alive()) rec.lastPong += gap - this.opts.interval;
    this.#seq++;
    for (const rec of this.registry.alive()) {
      if (now - rec.lastPong > limit) {
        this.onDead(rec, `no heartbeat for ${now - rec.lastPong} ms`);
        continue;
      }
      void this.sock.send("heartbeat_ping", { seq: this.#seq }, { identities: [rec.heart] });
    }
  }

  /** Records a pong and the status it carries. */
  pong(msg: Message<"heartbeat_pong">): void {
    const rec = this.registry.byHeart(msg.identities[0]?.toString() ?? "");
    if (!rec) return;
    rec.lastPong = Date.now();
    const { busy, queued, rss } = msg.content;
    rec.status = { busy, queued, rss };
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
