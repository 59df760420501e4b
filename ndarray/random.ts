/**
 * Seedable random numbers, shaped like `numpy.random`: a module-level generator behind `seed`,
 * `random`, `rand`, `uniform`, `randint`, `normal`, `standardNormal`, and independent generators
 * from `defaultRng(seed)`.
 *
 * The bit generator is xoshiro128** (32-bit state words, fast with `Math.imul`), seeded through
 * splitmix32. Streams are reproducible across platforms, but they are not numpy's streams.
 * @module
 */
import { allocate, type DTypeLike, isFloat, toDType } from "./dtype.js";
import { ValueError } from "./errors.js";
import { NDArray } from "./ndarray.js";
import { type ShapeLike, sizeOf, stridesFor, toShape } from "./shape.js";

/** A seedable random generator (xoshiro128**), like numpy's `Generator`. */
export class Generator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  /** A generator seeded with `seed` (an integer); without one, a seed is drawn from Math.random. */
  constructor(seed?: number) {
    this.seed(seed);
  }

  /** Re-seeds the generator; the same seed always yields the same stream. */
  seed(seed?: number): void {
    let x = seed === undefined ? Math.floor(Math.random() * 2 ** 32) : Math.floor(seed) >>> 0;
    // splitmix32 fills the four state words (never all zero).
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    this.spare = null;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** A double uniformly distributed in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A standard normal deviate (Marsaglia's polar method). */
  nextNormal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    for (;;) {
      const u = 2 * this.nextDouble() - 1;
      const v = 2 * this.nextDouble() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const f = Math.sqrt((-2 * Math.log(s)) / s);
        this.spare = v * f;
        return u * f;
      }
    }
  }

  private fillWith(shape: ShapeLike, dtype: DTypeLike, f: () => number): NDArray {
    const s = toShape(shape);
    const dt = toDType(dtype);
    const out = new NDArray(allocate(dt, sizeOf(s)), s, stridesFor(s), 0, dt);
    const d = out.data;
    for (let i = 0; i < d.length; i++) d[i] = f();
    return out;
  }

  /** Uniform floats in [0, 1) with the given shape (numpy's `random.random(size)`). */
  random(shape: ShapeLike = [], dtype: DTypeLike = "float64"): NDArray {
    if (!isFloat(toDType(dtype))) throw new ValueError("random: dtype must be float64 or float32");
    return this.fillWith(shape, dtype, () => this.nextDouble());
  }

  /** Uniform floats in [low, high). */
  uniform(low = 0, high = 1, shape: ShapeLike = []): NDArray {
    return this.fillWith(shape, "float64", () => low + (high - low) * this.nextDouble());
  }

  /** Uniform integers in [low, high); with one bound, in [0, low). */
  integers(low: number, high?: number, shape: ShapeLike = [], dtype: DTypeLike = "int32"): NDArray {
    const lo = high === undefined ? 0 : low;
    const hi = high === undefined ? low : high;
    if (!(hi > lo)) throw new ValueError(`randint: low >= high (${lo} >= ${hi})`);
    const span = Math.floor(hi) - Math.ceil(lo);
    return this.fillWith(shape, dtype, () => Math.ceil(lo) + Math.floor(this.nextDouble() * span));
  }

  /** Normal (Gaussian) samples with mean `loc` and standard deviation `scale`. */
  normal(loc = 0, scale = 1, shape: ShapeLike = []): NDArray {
    if (scale < 0) throw new ValueError("normal: scale must be non-negative");
    return this.fillWith(shape, "float64", () => loc + scale * this.nextNormal());
  }

  /** Standard normal samples (mean 0, standard deviation 1). */
  standardNormal(shape: ShapeLike = []): NDArray {
    return this.normal(0, 1, shape);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A new independent generator, like `numpy.random.default_rng(seed)`. */
export function defaultRng(seed?: number): Generator {
  return new Generator(seed);
}

const global = new Generator();

/** Seeds the module-level generator used by the functions below (numpy's `np.random.seed`). */
export function seed(value: number): void {
  global.seed(value);
}

/** Uniform floats in [0, 1) with the given shape: `random.random([3, 3])`. */
export function random(shape: ShapeLike = [], dtype: DTypeLike = "float64"): NDArray {
  return global.random(shape, dtype);
}

/** Uniform floats in [0, 1), shape given as separate lengths: `random.rand(3, 3)`. */
export function rand(...shape: number[]): NDArray {
  return global.random(shape);
}

/** Uniform floats in [low, high) with the given shape. */
export function uniform(low = 0, high = 1, shape: ShapeLike = []): NDArray {
  return global.uniform(low, high, shape);
}

/** Uniform integers in [low, high) (or [0, low) with one bound), int32 by default: `randint(0, 10, [5])`. */
export function randint(
  low: number,
  high?: number,
  shape: ShapeLike = [],
  dtype: DTypeLike = "int32",
): NDArray {
  return global.integers(low, high, shape, dtype);
}

/** Normal samples with mean `loc` and standard deviation `scale`. */
export function normal(loc = 0, scale = 1, shape: ShapeLike = []): NDArray {
  return global.normal(loc, scale, shape);
}

/** Standard normal samples, shape given as separate lengths: `random.randn(3, 3)`. */
export function randn(...shape: number[]): NDArray {
  return global.standardNormal(shape);
}

/** Standard normal samples with the given shape. */
export function standardNormal(shape: ShapeLike = []): NDArray {
  return global.standardNormal(shape);
}
