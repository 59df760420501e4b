import type { SignedSocket } from "../wire/transport/signed-socket.js";
import type { EngineRecord, EngineRegistry } from "./engine-registry.js";

/** Heartbeat timing. Death is declared after `interval * maxMissed` ms without an echo. */
export interface HeartbeatOptions {
  interval: number;
  maxMissed: number;
}

export const DEFAULT_HEARTBEAT: HeartbeatOptions = { interval: 500, maxMissed: 6 };

/**
 * Publishes a ping to every engine's heart and declares an engine dead when its heart stops
 * echoing. Hearts echo from a native thread, so a busy engine is not mistaken for a dead one.
 */
export class HeartbeatMonitor {
  #seq = 0;
  #lastTick = Date.now();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly pings: SignedSocket,
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
    // When this event loop was blocked (e.g. verifying a 512 MiB message), echoes sat unread in
    // the socket: our own stall is not the engines' silence.
    const gap = now - this.#lastTick;
    this.#lastTick = now;
    if (gap > 2 * this.opts.interval)
      for (const rec of this.registry.alive()) rec.lastPong += gap - this.opts.interval;
    for (const rec of this.registry.alive())
      if (!rec.paused && now - rec.lastPong > limit)
        this.onDead(rec, `no heartbeat for ${now - rec.lastPong} ms`);
    void this.pings.send("heartbeat_ping", { seq: ++this.#seq });
  }

  /**
   * Records an echo of ping `seq` from the heart with routing id `heart`. Only an echo of one of
   * the last pings counts: an old echo sent again (anyone may resend what they saw) must not keep
   * a silent engine alive.
   */
  echo(heart: string, seq: unknown): void {
    if (typeof seq !== "number" || seq > this.#seq || seq <= this.#seq - this.opts.maxMissed) return;
    const rec = this.registry.byHeart(heart);
    if (rec) rec.lastPong = Date.now();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
