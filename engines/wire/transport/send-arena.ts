import { Buffer } from "node:buffer";
import { totalmem } from "node:os";
import process from "node:process";
import { clearTimeout, setTimeout } from "node:timers";

/** Memory leased for one outgoing frame; give it back once the transport is done with it. */
export interface Lease {
  readonly bytes: Buffer;
  release(): void;
}

/** How long idle memory is kept for the next large send. */
const IDLE_MS = 30_000;
/**
 * At most this many idle buffers are kept (a burst of 64 blocked-multiply tasks copies 128
 * panels when it is submitted; keeping them all makes the next burst's copies cheap) …
 */
const KEEP = 128;
/**
 * … holding at most this much memory: 1 GiB, or an eighth of the memory this process may use if
 * that is less.
 * A scatter of 512 MiB over two engines leases two blocks of 256 MiB plus their Arrow headers;
 * with the cap at exactly 512 MiB one of them was dropped every time, and the next scatter spent
 * ~0.8 s of system time faulting fresh memory in for it (0.5 → ~1 GB/s once both were kept).
 */
const KEEP_BYTES = Math.min(1024 * 1024 * 1024, Math.floor(machineMemory() / 8));

/** Memory this process may use: the container's limit when there is one, else the machine's. */
function machineMemory(): number {
  const limit = process.constrainedMemory?.();
  return limit ? Math.min(limit, totalmem()) : totalmem();
}

/**
 * Reused memory for the copies that make large sends safe.
 *
 * A large array is copied once before it is sent, so the sender may go on changing it. On this VM
 * writing to freshly allocated memory costs ~0.6–1 ms per MiB in page faults, ten times a copy
 * into memory already touched; an engine answering `pull`s of the same big array paid ~0.5 s per
 * 512 MiB for that alone. The arena keeps the memory of finished sends (up to 128 buffers and
 * 1 GiB, for 30 s of idleness) and lends it to the next copy that fits. Only a sender that
 * knows when the transport has let go of a frame (a lane's write callback) may use it.
 */
export class SendArena {
  #idle: Buffer[] = [];
  #timer: NodeJS.Timeout | undefined;

  /** `size` bytes: idle memory that fits (not more than twice as large), else fresh memory. */
  lease(size: number): Lease {
    const i = this.#idle.findLastIndex((b) => b.length >= size && b.length <= 2 * size);
    const block = i >= 0 ? this.#idle.splice(i, 1)[0]! : Buffer.allocUnsafeSlow(size);
    let released = false;
    return {
      bytes: block.subarray(0, size),
      release: () => {
        if (released) return;
        released = true;
        this.#keep(block);
      },
    };
  }

  #keep(block: Buffer): void {
    // Least recently used first out when over the limits: a burst of panel copies displaces a
    // big block from an earlier push, and the other way round.
    this.#idle.push(block);
    let bytes = this.idleBytes;
    while (this.#idle.length > 1 && (this.#idle.length > KEEP || bytes > KEEP_BYTES))
      bytes -= this.#idle.shift()!.length;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#idle = [];
    }, IDLE_MS);
    this.#timer.unref();
  }

  /** Bytes held for reuse. */
  get idleBytes(): number {
    return this.#idle.reduce((n, b) => n + b.length, 0);
  }
}
