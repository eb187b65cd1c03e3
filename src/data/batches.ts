// Minibatch assembly for training: gather images/labels in a (shuffled) index order into
// preallocated float buffers, and a small seeded RNG so that runs are reproducible.

// p/255 for every byte, rounded to float32 once, so batches equal tfjs' `x.div(255)` bit for bit.
const INV255 = new Float32Array(256).map((_, p) => p / 255);

type Indices = Int32Array | Uint32Array | readonly number[];

function checkRange(fn: string, indices: Indices, start: number, count: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 ||
      start + count > indices.length) {
    throw new Error(
      `${fn}: start ${start} and count ${count} must be non-negative integers with start + count <= ` +
        `indices.length (${indices.length})`,
    );
  }
}

function checkIndex(fn: string, idx: number, n: number, pos: number): void {
  if (!(idx >= 0 && idx < n) || !Number.isInteger(idx)) {
    throw new Error(`${fn}: indices[${pos}] = ${idx} is out of range 0..${n - 1}`);
  }
}

/**
 * Write images `indices[start .. start+count)` as floats in [0, 1] into `out` (NHWC with C = 1:
 * image b occupies out[b*pixelsPerImage ..]). Returns `out`.
 */
export function normalizeBatch(images: Uint8Array, indices: Indices, start: number, count: number,
  out: Float32Array, pixelsPerImage = 784): Float32Array {
  checkRange('normalizeBatch', indices, start, count);
  if (!Number.isInteger(pixelsPerImage) || pixelsPerImage <= 0 || images.length % pixelsPerImage !== 0) {
    throw new Error(
      `normalizeBatch: pixelsPerImage ${pixelsPerImage} must be a positive integer dividing images.length (${images.length})`,
    );
  }
  if (out.length < count * pixelsPerImage) {
    throw new Error(
      `normalizeBatch: out has ${out.length} floats, expected at least ${count * pixelsPerImage} (${count} x ${pixelsPerImage})`,
    );
  }
  const n = images.length / pixelsPerImage;
  for (let b = 0; b < count; b++) {
    const idx = indices[start + b]!;
    checkIndex('normalizeBatch', idx, n, start + b);
    const src = idx * pixelsPerImage;
    const dst = b * pixelsPerImage;
    for (let i = 0; i < pixelsPerImage; i++) out[dst + i] = INV255[images[src + i]!]!;
  }
  return out;
}

/** Copy labels `indices[start .. start+count)` into `out` (class ids). Returns `out`. */
export function gatherLabels<T extends Int32Array | Uint8Array | Float32Array>(labels: Uint8Array, indices: Indices,
  start: number, count: number, out: T): T {
  checkRange('gatherLabels', indices, start, count);
  if (out.length < count) throw new Error(`gatherLabels: out has ${out.length} elements, expected at least ${count}`);
  for (let b = 0; b < count; b++) {
    const idx = indices[start + b]!;
    checkIndex('gatherLabels', idx, labels.length, start + b);
    out[b] = labels[idx]!;
  }
  return out;
}

/** Write one-hot rows [count, numClasses] for labels `indices[start .. start+count)`. Returns `out`. */
export function oneHotLabels(labels: Uint8Array, indices: Indices, start: number, count: number,
  numClasses: number, out: Float32Array): Float32Array {
  checkRange('oneHotLabels', indices, start, count);
  if (out.length < count * numClasses) {
    throw new Error(`oneHotLabels: out has ${out.length} floats, expected at least ${count * numClasses}`);
  }
  out.fill(0, 0, count * numClasses);
  for (let b = 0; b < count; b++) {
    const idx = indices[start + b]!;
    checkIndex('oneHotLabels', idx, labels.length, start + b);
    const c = labels[idx]!;
    if (c >= numClasses) {
      throw new Error(`oneHotLabels: label ${c} of example ${idx} is out of range 0..${numClasses - 1}`);
    }
    out[b * numClasses + c] = 1;
  }
  return out;
}

/** A seeded generator: xoshiro128** (Blackman & Vigna), 128-bit state, period 2^128 - 1. */
export interface Rng {
  /** Uniform uint32. */
  nextU32(): number;
  /** Uniform in [0, 1) with 32 random bits. */
  nextFloat(): number;
  /** Uniform integer in [0, n), unbiased (rejection sampling); n in 1..2^32. */
  nextInt(n: number): number;
  /** Standard normal (Box–Muller). */
  nextNormal(): number;
}

/**
 * Create a reproducible RNG from an integer seed (any number; taken modulo 2^32). The state is
 * expanded with splitmix32 so nearby seeds give unrelated streams and the state is never all zero.
 */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new Error(`createRng: seed must be a finite number, got ${seed}`);
  let sm = Math.trunc(seed) >>> 0;
  const splitmix32 = (): number => {
    sm = (sm + 0x9e3779b9) | 0;
    let z = sm;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  return rngFromState(splitmix32(), splitmix32(), splitmix32(), splitmix32());
}

/** xoshiro128** from an explicit 128-bit state (not all zero); createRng is the usual entry point. */
export function rngFromState(s0: number, s1: number, s2: number, s3: number): Rng {
  let a = s0 | 0, b = s1 | 0, c = s2 | 0, d = s3 | 0;
  if ((a | b | c | d) === 0) throw new Error('rngFromState: the state must not be all zero');
  const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a; d ^= b; b ^= c; a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  let spare: number | undefined;
  return {
    nextU32,
    nextFloat: () => nextU32() / 4294967296,
    nextInt(n: number): number {
      if (!Number.isInteger(n) || n < 1 || n > 4294967296) {
        throw new Error(`Rng.nextInt: n must be an integer in 1..2^32, got ${n}`);
      }
      // Reject the top partial block of 2^32 so every residue is equally likely.
      const limit = 4294967296 - (4294967296 % n);
      for (;;) {
        const x = nextU32();
        if (x < limit) return x % n;
      }
    },
    nextNormal(): number {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      const u = (nextU32() + 1) / 4294967297; // (0, 1): log(0) never happens
      const v = nextU32() / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}

/** 0, 1, ..., n-1 as an Int32Array. */
export function range(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Shuffle in place (Fisher–Yates, uniform over permutations); same seed, same order. Returns `a`. */
export function shuffle<T extends Int32Array | Uint32Array | number[]>(a: T, rng: Rng): T {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}
