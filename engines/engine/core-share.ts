import { availableParallelism } from "node:os";
import { setThreadAdvisor } from "../../ndarray/linalg/thread-advisor.js";
import type { NativeAddon } from "../../ndarray/node/native-addon.js";
import { CoreBoard, type CoreBoardRef } from "../store/core-board.js";

/** Multiplies smaller than this (m·n·k) run on one thread: more would cost more than they give. */
const SHARE_MIN_WORK = 256 ** 3;
/** Multiplies from this size (≥ ~10 ms on one core) wait {@link SETTLE_MS} before taking idle cores. */
const SETTLE_MIN_WORK = 1024 ** 3;
const SETTLE_MS = 2;
/** Something to sleep on: Atomics.wait needs shared memory, and this never changes. */
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/**
 * An engine's share of its host's cores: it marks its slot of the core board while it runs a task,
 * and a large matrix multiply takes one thread plus one per idle core. A lone task (one block
 * product of a 2048² multiply) then uses the whole host; two engines busy on two cores keep one
 * thread each, as engines always did. The count is read when the multiply starts (a long one
 * looks twice, 2 ms apart), so an engine that starts a task during another's multiply waits on
 * shared cores until it ends.
 */
export class CoreShare {
  private constructor(
    private readonly board: CoreBoard,
    private readonly slot: number,
  ) {}

  /** Opens the board the controller named; undefined (one thread, as before) when it cannot. */
  static open(addon: NativeAddon, ref: CoreBoardRef, cpus = availableParallelism()): CoreShare | undefined {
    let board: CoreBoard;
    try {
      board = CoreBoard.open(addon, ref);
    } catch {
      return undefined;
    }
    const share = new CoreShare(board, ref.slot);
    const threads = () => Math.max(1, Math.min(cpus, cpus - board.busy() + 1));
    setThreadAdvisor((work) => {
      if (work < SHARE_MIN_WORK) return 1;
      const now = threads();
      if (now === 1 || work < SETTLE_MIN_WORK) return now;
      // Tasks handed to several engines at once start a moment apart: the first to look would
      // take the cores the others are about to need, and three threads would share two cores
      // for the whole multiply. A long multiply looks again after a moment.
      Atomics.wait(SLEEPER, 0, 0, SETTLE_MS);
      return Math.min(now, threads());
    });
    return share;
  }

  /** The engine started or finished running tasks. */
  busy(busy: boolean): void {
    this.board.setBusy(this.slot, busy);
  }

  close(): void {
    setThreadAdvisor(undefined);
    this.board.close();
  }
}
