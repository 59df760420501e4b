/** The part of a zeromq.js v6 socket that sends. */
export interface FrameSink {
  send(frames: readonly Uint8Array[]): Promise<void>;
}

/**
 * Serialises sends on one socket.
 *
 * zeromq.js v6 allows a single pending `send` per socket (a second one fails with EBUSY), so
 * every sender goes through a queue. Sends complete in the order they were made.
 */
export class SendQueue {
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;

  constructor(
    private readonly sink: FrameSink,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Number of messages waiting to be handed to the socket. */
  get pending(): number {
    return this.#pending;
  }

  /** Queues `frames`; the promise settles when the socket has accepted them. */
  send(frames: readonly Uint8Array[]): Promise<void> {
    // Idle socket: hand the frames over now rather than a microtask later (the common case).
    const send = (): Promise<void> => {
      try {
        return this.sink.send(frames);
      } catch (err) {
        return Promise.reject(err);
      }
    };
    const done = this.#pending === 0 ? send() : this.#tail.then(send);
    this.#pending++;
    this.#tail = done.then(
      () => {
        this.#pending--;
      },
      (err) => {
        this.#pending--;
        this.onError(err);
      },
    );
    return done;
  }

  /** Resolves when everything queued so far has been sent (or failed). */
  flush(): Promise<void> {
    return this.#tail;
  }
}
