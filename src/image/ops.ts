// sc.image: tfjs' resizeBilinear and resizeNearestNeighbor with its exact coordinate modes, plus
// per-channel normalization and NHWC → NCHW for models imported from PyTorch.
//
// The resizes run in TypeScript over the heap rather than in the UpSampling2D kernel
// (assembly/shape.ts), which covers integer factors with asymmetric coordinates only: a resize to
// an arbitrary size with alignCorners or halfPixelCenters needs fractional source coordinates per
// output row and column. They are memory-bound and touch each output once (a 224×224×3 image is
// 150k values), and they are the same float64 arithmetic as tfjs' CPU kernel, rounded to float32
// once, so the results are tfjs' to the bit.

import { runtime } from '../backend/runtime.js';
import { argError } from '../errors.js';
import { allocTensor, Tensor } from '../tensor.js';
import { transpose } from '../ops/transpose.js';

type Size = [number, number];

const NHWC = '[height, width, channels] or rank 4 [batch, height, width, channels]';

interface Geometry {
  n: number; h: number; w: number; c: number; outH: number; outW: number;
  /** Input rank 3: the output drops the batch axis again. */
  rank3: boolean;
}

function checkResize(op: string, images: Tensor, size: Size, alignCorners: boolean, halfPixelCenters: boolean): Geometry {
  if (!(images instanceof Tensor)) throw argError(op, 'images', images, `a Tensor of rank 3 ${NHWC}`);
  images.check(op);
  if (images.rank !== 3 && images.rank !== 4) throw argError(op, 'images', images, `rank 3 ${NHWC}`);
  const rank3 = images.rank === 3;
  const [n, h, w, c] = rank3 ? [1, ...images.shape] : images.shape;
  if (!(h! >= 1 && w! >= 1 && c! >= 1)) throw argError(op, 'images', images, 'height, width and channels of at least 1');
  if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => Number.isInteger(d) && d >= 1)) {
    throw argError(op, 'size', size, '[newHeight, newWidth], two positive integers');
  }
  if (typeof alignCorners !== 'boolean') throw argError(op, 'alignCorners', alignCorners, 'a boolean');
  if (typeof halfPixelCenters !== 'boolean') throw argError(op, 'halfPixelCenters', halfPixelCenters, 'a boolean');
  if (alignCorners && halfPixelCenters) {
    throw new Error(`${op}: alignCorners and halfPixelCenters are both true; they are exclusive (tfjs: "If halfPixelCenters is true, alignCorners must be false")`);
  }
  return { n: n!, h: h!, w: w!, c: c!, outH: size[0], outW: size[1], rank3 };
}

/** in/out size ratio of one axis as TensorFlow computes it (alignCorners maps corner centres onto each other). */
const ratio = (inSize: number, outSize: number, alignCorners: boolean) =>
  alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;

function output(g: Geometry): Tensor {
  return allocTensor(g.rank3 ? [g.outH, g.outW, g.c] : [g.n, g.outH, g.outW, g.c]);
}

/**
 * tf.image.resizeBilinear(images, [newHeight, newWidth], alignCorners = false, halfPixelCenters =
 * false): images [h, w, c] or [batch, h, w, c] (NHWC). Source coordinate of output row r: r·ratio,
 * or (r + ½)·ratio − ½ with halfPixelCenters (OpenCV's, PIL's and PyTorch's align_corners=False
 * convention), ratio = h/newHeight, or (h − 1)/(newHeight − 1) with alignCorners.
 */
export function resizeBilinear(images: Tensor, size: Size, alignCorners = false, halfPixelCenters = false): Tensor {
  const g = checkResize('resizeBilinear', images, size, alignCorners, halfPixelCenters);
  const { n, h, w, c, outH, outW } = g;
  const rr = ratio(h, outH, alignCorners), cr = ratio(w, outW, alignCorners);
  // Per output column: the two source columns (as float offsets in a row) and the weight.
  const c0 = new Int32Array(outW), c1 = new Int32Array(outW), cf = new Float64Array(outW);
  for (let q = 0; q < outW; q++) {
    const src = halfPixelCenters ? cr * (q + 0.5) - 0.5 : cr * q;
    const lo = Math.max(0, Math.floor(src));
    c0[q] = lo * c;
    c1[q] = Math.min(w - 1, Math.ceil(src)) * c;
    cf[q] = src - lo;
  }
  const out = output(g);
  const f = runtime().heap.f32;
  const xb = images.ptr >>> 2;
  let o = out.ptr >>> 2;
  for (let b = 0; b < n; b++) {
    const img = xb + b * h * w * c;
    for (let r = 0; r < outH; r++) {
      const src = halfPixelCenters ? rr * (r + 0.5) - 0.5 : rr * r;
      const lo = Math.max(0, Math.floor(src));
      const fy = src - lo;
      const top = img + lo * w * c, bot = img + Math.min(h - 1, Math.ceil(src)) * w * c;
      for (let q = 0; q < outW; q++) {
        const fx = cf[q]!, tl = top + c0[q]!, tr = top + c1[q]!, bl = bot + c0[q]!, br = bot + c1[q]!;
        for (let k = 0; k < c; k++) {
          const t = f[tl + k]! + (f[tr + k]! - f[tl + k]!) * fx;
          const u = f[bl + k]! + (f[br + k]! - f[bl + k]!) * fx;
          f[o++] = t + (u - t) * fy;
        }
      }
    }
  }
  return out;
}

/**
 * tf.image.resizeNearestNeighbor(images, [newHeight, newWidth], alignCorners = false,
 * halfPixelCenters = false): as resizeBilinear, each output pixel copying the source pixel at
 * ⌊coordinate⌋ (rounded instead with alignCorners; with halfPixelCenters the coordinate is
 * (r + ½)·ratio, as TensorFlow has it).
 */
export function resizeNearestNeighbor(images: Tensor, size: Size, alignCorners = false, halfPixelCenters = false): Tensor {
  const g = checkResize('resizeNearestNeighbor', images, size, alignCorners, halfPixelCenters);
  const { n, h, w, c, outH, outW } = g;
  const rr = ratio(h, outH, alignCorners), cr = ratio(w, outW, alignCorners);
  const nearest = (i: number, r: number, size: number) => {
    const src = halfPixelCenters ? r * (i + 0.5) : r * i;
    const j = Math.min(size - 1, alignCorners ? Math.round(src) : Math.floor(src));
    return halfPixelCenters ? Math.max(0, j) : j;
  };
  const cols = Int32Array.from({ length: outW }, (_, q) => nearest(q, cr, w) * c);
  const out = output(g);
  const f = runtime().heap.f32;
  const xb = images.ptr >>> 2;
  let o = out.ptr >>> 2;
  for (let b = 0; b < n; b++) {
    for (let r = 0; r < outH; r++) {
      const row = xb + (b * h + nearest(r, rr, h)) * w * c;
      for (let q = 0; q < outW; q++) {
        const s = row + cols[q]!;
        f.copyWithin(o, s, s + c);
        o += c;
      }
    }
  }
  return out;
}

/** Per-channel statistics: one number for every channel, or one per channel. */
export interface NormalizeStats {
  mean: number | number[];
  std: number | number[];
}

/**
 * torchvision's ImageNet statistics, on pixels scaled to 0..1 (transforms.ToTensor then
 * transforms.Normalize). normalize(x, 'imagenet') applies them to 0..255 pixels (what fromPixels
 * and the image decoders give), dividing by 255 first.
 */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

function perChannel(what: 'mean' | 'std', v: unknown, c: number): Float64Array {
  const list = typeof v === 'number' ? new Array<number>(c).fill(v) : v;
  const ok = Array.isArray(list) && list.length === c && list.every((x) => typeof x === 'number' && Number.isFinite(x) && (what === 'mean' || x > 0));
  if (!ok) {
    throw argError('normalize', what, v, `${what === 'std' ? 'a positive number' : 'a finite number'} or an array of ${c} (one per channel: the images' last axis has ${c})`);
  }
  return Float64Array.from(list as number[]);
}

/**
 * (x·scale − mean[ch]) / std[ch] along the last axis (channels, NHWC). `stats` is {mean, std} in
 * the units of `images` (scale 1), or 'imagenet': torchvision's [0.485, 0.456, 0.406] /
 * [0.229, 0.224, 0.225] for RGB pixels 0..255 (scale 1/255), so the result is what
 * ToTensor + Normalize give a PyTorch model.
 */
export function normalize(images: Tensor, stats: NormalizeStats | 'imagenet'): Tensor {
  if (!(images instanceof Tensor)) throw argError('normalize', 'images', images, 'a Tensor whose last axis is the channels');
  images.check('normalize');
  if (images.rank < 1) throw argError('normalize', 'images', images, 'a tensor of rank 1 or more (the last axis is the channels)');
  const c = images.shape[images.rank - 1]!;
  let scale = 1, mean: Float64Array, std: Float64Array;
  if (stats === 'imagenet') {
    if (c !== 3) throw argError('normalize', 'images', images, "RGB images (3 channels on the last axis) for the 'imagenet' statistics");
    scale = 1 / 255;
    mean = Float64Array.from(IMAGENET_MEAN);
    std = Float64Array.from(IMAGENET_STD);
  } else if (stats !== null && typeof stats === 'object' && !Array.isArray(stats)) {
    mean = perChannel('mean', stats.mean, c);
    std = perChannel('std', stats.std, c);
  } else {
    throw argError('normalize', 'stats', stats, `'imagenet' or {mean, std} (each a number or ${c} numbers, one per channel)`);
  }
  const out = allocTensor(images.shape);
  const f = runtime().heap.f32;
  const x = images.ptr >>> 2, y = out.ptr >>> 2;
  for (let i = 0, k = 0; i < images.size; i++, k = k + 1 === c ? 0 : k + 1) f[y + i] = (f[x + i]! * scale - mean[k]!) / std[k]!;
  return out;
}

/**
 * NHWC → NCHW: [batch, h, w, c] → [batch, c, h, w] (or [h, w, c] → [c, h, w]), the layout models
 * exported from PyTorch take. The same as tf.transpose(images, [0, 3, 1, 2]).
 */
export function toNCHW(images: Tensor): Tensor {
  if (!(images instanceof Tensor) || (images.rank !== 3 && images.rank !== 4)) {
    throw argError('toNCHW', 'images', images, `a tensor of rank 3 ${NHWC}`);
  }
  return transpose(images, images.rank === 4 ? [0, 3, 1, 2] : [2, 0, 1]);
}

/** tf.image's namespace (sc.image.resizeBilinear, …). */
export const image = { resizeBilinear, resizeNearestNeighbor, normalize, toNCHW, IMAGENET_MEAN, IMAGENET_STD };
