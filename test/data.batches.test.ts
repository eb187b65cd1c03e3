import { describe, expect, it } from 'vitest';
import { createRng, rngFromState, gatherLabels, normalizeBatch, oneHotLabels, range, shuffle } from '../src/data/batches.js';

describe('normalizeBatch / labels', () => {
  // 4 images of 2x3 pixels: image k has pixels 10k .. 10k+5 (image 3 has 250..255).
  const images = new Uint8Array(24).map((_, i) => (Math.floor(i / 6) === 3 ? 250 + (i % 6) : Math.floor(i / 6) * 10 + (i % 6)));
  const labels = new Uint8Array([7, 0, 9, 3]);

  it('gathers the indexed images in order, scaled by 1/255', () => {
    const out = new Float32Array(12).fill(-1);
    normalizeBatch(images, [5, 3, 0, 9], 1, 2, out, 6);
    expect(Array.from(out.subarray(0, 6))).toEqual([250, 251, 252, 253, 254, 255].map((p) => Math.fround(p / 255)));
    expect(Array.from(out.subarray(6))).toEqual([0, 1, 2, 3, 4, 5].map((p) => Math.fround(p / 255)));
    expect(out[11]).toBe(Math.fround(5 / 255));
    expect(out[5]).toBe(1);
  });

  it('gathers labels and one-hot rows', () => {
    const idx = new Int32Array([2, 1, 3]);
    expect(Array.from(gatherLabels(labels, idx, 0, 3, new Int32Array(3)))).toEqual([9, 0, 3]);
    const oh = oneHotLabels(labels, idx, 1, 2, 10, new Float32Array(20).fill(5));
    expect(Array.from(oh)).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  });

  it('rejects bad ranges, indices and buffers with the values', () => {
    expect(() => normalizeBatch(images, [0, 1], 1, 2, new Float32Array(12), 6)).toThrow(
      'normalizeBatch: start 1 and count 2 must be non-negative integers with start + count <= indices.length (2)',
    );
    expect(() => normalizeBatch(images, [0, 4], 0, 2, new Float32Array(12), 6)).toThrow(
      'normalizeBatch: indices[1] = 4 is out of range 0..3',
    );
    expect(() => normalizeBatch(images, [0, 1], 0, 2, new Float32Array(11), 6)).toThrow(
      'normalizeBatch: out has 11 floats, expected at least 12 (2 x 6)',
    );
    expect(() => normalizeBatch(images, [0], 0, 1, new Float32Array(784))).toThrow(
      /pixelsPerImage 784 must be a positive integer dividing images.length \(24\)/,
    );
    expect(() => gatherLabels(labels, [-1], 0, 1, new Int32Array(1))).toThrow('indices[0] = -1 is out of range 0..3');
    expect(() => oneHotLabels(labels, [0], 0, 1, 5, new Float32Array(5))).toThrow(
      'oneHotLabels: label 7 of example 0 is out of range 0..4',
    );
  });
});

describe('createRng / shuffle', () => {
  it('matches the xoshiro128** reference output and is seeded deterministically', () => {
    // Vigna's xoshiro128starstar.c from state {1, 2, 3, 4}.
    const ref = rngFromState(1, 2, 3, 4);
    expect(Array.from({ length: 6 }, () => ref.nextU32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
    expect(() => rngFromState(0, 0, 0, 0)).toThrow(/must not be all zero/);
    const a = createRng(42), b = createRng(42), c = createRng(43);
    const sa = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(sa);
    for (const x of sa) expect(Number.isInteger(x) && x >= 0 && x < 2 ** 32).toBe(true);
  });

  it('is roughly uniform and nextInt is in range', () => {
    const r = createRng(1);
    const hist = new Array(10).fill(0);
    let mean = 0;
    for (let i = 0; i < 100000; i++) {
      hist[r.nextInt(10)]++;
      mean += r.nextFloat();
    }
    for (const h of hist) expect(Math.abs(h - 10000)).toBeLessThan(500); // > 5 sigma
    expect(mean / 100000).toBeCloseTo(0.5, 2);
    expect(() => r.nextInt(0)).toThrow('Rng.nextInt: n must be an integer in 1..2^32, got 0');
    let s = 0, s2 = 0;
    for (let i = 0; i < 100000; i++) { const z = r.nextNormal(); s += z; s2 += z * z; }
    expect(Math.abs(s / 100000)).toBeLessThan(0.02);
    expect(s2 / 100000).toBeCloseTo(1, 1);
  });

  it('shuffles reproducibly into a permutation, each position uniformly', () => {
    const p1 = shuffle(range(1000), createRng(7));
    const p2 = shuffle(range(1000), createRng(7));
    const p3 = shuffle(range(1000), createRng(8));
    expect(Array.from(p1)).toEqual(Array.from(p2));
    expect(Array.from(p1)).not.toEqual(Array.from(p3));
    expect(Array.from(p1).sort((x, y) => x - y)).toEqual(Array.from(range(1000)));
    // Where does element 0 land over many shuffles of 4? Each of 4 places ~ 1/4.
    const rng = createRng(3);
    const where = [0, 0, 0, 0];
    for (let t = 0; t < 40000; t++) where[shuffle([0, 1, 2, 3], rng).indexOf(0)]! += 1;
    for (const w of where) expect(Math.abs(w - 10000)).toBeLessThan(450);
    expect(() => createRng(NaN)).toThrow('createRng: seed must be a finite number, got NaN');
  });
});
