/**
 * Deterministic junk for fuzz tests: numbers from a seeded linear congruential generator, so a
 * run that fails can be repeated exactly, and the shapes hostile messages are made of.
 */
export class FuzzSource {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.#state = (this.#state * 1664525 + 1013904223) >>> 0;
    return this.#state / 2 ** 32;
  }

  /** One of `xs`. */
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }

  /** `n` random bytes. */
  bytes(n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => Math.floor(this.next() * 256)));
  }

  /** A JSON value of any shape (objects keyed by `keys`), to put where content belongs. */
  junkValue(keys: readonly string[], depth = 0): unknown {
    const r = this.next();
    if (depth > 2 || r < 0.2) return this.pick([null, 0, -1, 1e308, "", "x".repeat(50), true, [], {}]);
    if (r < 0.5)
      return Array.from({ length: Math.floor(this.next() * 4) }, () => this.junkValue(keys, depth + 1));
    return Object.fromEntries(
      Array.from({ length: Math.floor(this.next() * 4) }, () => [
        this.pick(keys),
        this.junkValue(keys, depth + 1),
      ]),
    );
  }
}
