// A synthetic, learnable K-class image set, so the example runs without a download.
// Class k = one object: a red disc, a green square, a blue horizontal bar or a yellow triangle, at
// a random position and size, its colour jittered, on a random grey background with pixel noise.
// The committed fixtures have random weights, and random conv features keep colour far better than
// shape, so colour is part of each class here; a pretrained backbone separates the shapes as well.
// Plain arrays, no simdcnn import: the caller normalizes them as its model expects.

export const K = 4;
const HUES = [[0.9, 0.15, 0.1], [0.15, 0.8, 0.2], [0.15, 0.25, 0.9], [0.9, 0.85, 0.1]];

function inside(k, u, v) {
  // u, v: the pixel relative to the object's centre, in units of its size.
  if (k === 0) return u * u + v * v < 1;
  if (k === 1) return Math.abs(u) < 0.8 && Math.abs(v) < 0.8;
  if (k === 2) return Math.abs(u) < 1.2 && Math.abs(v) < 0.35;
  return v < 0.8 && v > -1 + 2 * Math.abs(u);
}

/** n images (classes in turn) as NHWC RGB in [0, 1], and their labels. */
export function shapes(n, H, W, rand) {
  const rgb = new Float32Array(n * H * W * 3), labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % K, r = (0.2 + 0.15 * rand()) * Math.min(H, W);
    const cx = r + (W - 2 * r) * rand(), cy = r + (H - 2 * r) * rand();
    const col = HUES[k].map((c) => c + 0.2 * (rand() - 0.5)), bg = 0.2 + 0.6 * rand();
    labels[i] = k;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const on = inside(k, (x - cx) / r, (y - cy) / r), o = ((i * H + y) * W + x) * 3;
      for (let c = 0; c < 3; c++) rgb[o + c] = Math.min(1, Math.max(0, (on ? col[c] : bg) + 0.15 * (rand() - 0.5)));
    }
  }
  return { rgb, labels };
}

/** A small seeded generator (mulberry32): the same seed gives the same images. */
export function mulberry32(seed) {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
