// sc.browser.fromPixels: tfjs' image → tensor [height, width, numChannels] of the values 0..255.
// Pixel data ({data, width, height}, ImageData) is read as it is; anything drawable (image, canvas,
// video, ImageBitmap, OffscreenCanvas, VideoFrame) is drawn at its size onto a scratch 2D canvas and
// read back with getImageData, as tfjs' CPU path does. Drawing, rather than calling getContext('2d')
// on a canvas the caller passed, leaves the caller's canvas without a context it did not ask for
// (a 2D context would stop it from ever getting a WebGL one) and also reads WebGL canvases.

import { runtime } from '../backend/runtime.js';
import { argError } from '../errors.js';
import { allocTensor, type Tensor } from '../tensor.js';

/** RGBA bytes, 4 per pixel, row-major (ImageData's layout; tfjs' PixelData). */
export interface PixelData {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}

export type FromPixelsInput = PixelData | ImageData | HTMLImageElement | HTMLCanvasElement | HTMLVideoElement |
  ImageBitmap | OffscreenCanvas | VideoFrame;

type Ctx2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;
let scratch: Ctx2D | undefined;

const ACCEPTED = 'ImageData, an HTMLImageElement, HTMLCanvasElement, HTMLVideoElement, ImageBitmap, OffscreenCanvas, VideoFrame, ' +
  'or {data: Uint8Array | Uint8ClampedArray (RGBA), width, height}';
const g = globalThis as Record<string, unknown>;
const isA = (v: object, name: string) => typeof g[name] === 'function' && v instanceof (g[name] as new () => object);

function scratchContext(what: string): Ctx2D {
  if (scratch) return scratch;
  let ctx: Ctx2D | null = null;
  if (typeof g['OffscreenCanvas'] === 'function') ctx = new OffscreenCanvas(1, 1).getContext('2d', { willReadFrequently: true });
  else if (typeof document !== 'undefined') ctx = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
  else {
    throw new Error(`fromPixels: reading a ${what} needs a canvas 2D context (OffscreenCanvas or a document), which this runtime lacks; ` +
      'outside a browser pass {data, width, height} with RGBA bytes (4 per pixel), e.g. from a PNG or JPEG decoder');
  }
  if (!ctx) throw new Error(`fromPixels: reading a ${what}: this runtime refused a 2D canvas context`);
  return (scratch = ctx);
}

/** Width, height and a name for the drawable kinds fromPixels takes; undefined for anything else. */
function drawableSize(p: object): { width: number; height: number; what: string } | undefined {
  if (isA(p, 'HTMLVideoElement')) {
    const v = p as HTMLVideoElement;
    // HAVE_CURRENT_DATA: before it there is no frame to draw (drawImage would draw nothing).
    if (v.readyState < 2) throw new Error(`fromPixels: the <video> has no frame yet (readyState ${v.readyState}, expected at least 2, HAVE_CURRENT_DATA); wait for its 'loadeddata' event`);
    return { width: v.videoWidth, height: v.videoHeight, what: 'HTMLVideoElement' };
  }
  if (isA(p, 'HTMLImageElement')) {
    const im = p as HTMLImageElement;
    if (!im.complete || im.naturalWidth === 0) throw new Error(`fromPixels: the <img> ${im.src ? `(${im.src.slice(0, 80)}) ` : ''}has not loaded (or failed to); wait for its 'load' event or await img.decode()`);
    // width/height, as tfjs: the displayed size (its natural size unless set), drawn scaled to it.
    return { width: im.width, height: im.height, what: 'HTMLImageElement' };
  }
  if (isA(p, 'VideoFrame')) {
    const f = p as VideoFrame;
    return { width: f.displayWidth, height: f.displayHeight, what: 'VideoFrame' };
  }
  for (const what of ['HTMLCanvasElement', 'OffscreenCanvas', 'ImageBitmap']) {
    if (isA(p, what)) return { width: (p as HTMLCanvasElement).width, height: (p as HTMLCanvasElement).height, what };
  }
  return undefined;
}

function rgbaOf(pixels: unknown): { data: ArrayLike<number>; width: number; height: number } {
  if (pixels === null || typeof pixels !== 'object') {
    throw argError('fromPixels', 'pixels', pixels, ACCEPTED);
  }
  const p = pixels as Partial<PixelData>;
  if (p.data instanceof Uint8Array || p.data instanceof Uint8ClampedArray) {
    const { data, width, height } = p as PixelData;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw argError('fromPixels', 'pixels.width/height', [width, height], 'two positive integers');
    }
    if (data.length !== width * height * 4) {
      throw new Error(`fromPixels: pixels.data must be RGBA bytes, 4 per pixel: ${width}·${height}·4 = ${width * height * 4}, got ${data.length} bytes`);
    }
    return { data, width, height };
  }
  const d = drawableSize(pixels);
  if (!d) {
    const name = (pixels as object).constructor?.name ?? 'object';
    const data = p.data as unknown;
    const dataKind = data === null || typeof data !== 'object' ? typeof data : data.constructor?.name ?? 'object';
    throw new Error(`fromPixels: pixels must be ${ACCEPTED}, got a ${name}${'data' in p ? ` whose data is ${dataKind}` : ''}`);
  }
  if (!(d.width >= 1 && d.height >= 1)) throw new Error(`fromPixels: pixels must be a non-empty image, got a ${d.what} of size ${d.width}×${d.height}`);
  const ctx = scratchContext(d.what);
  ctx.canvas.width = d.width;
  ctx.canvas.height = d.height;
  ctx.drawImage(pixels as CanvasImageSource, 0, 0, d.width, d.height);
  return { data: ctx.getImageData(0, 0, d.width, d.height).data, width: d.width, height: d.height };
}

/**
 * tf.browser.fromPixels(pixels, numChannels = 3): a tensor [height, width, numChannels] of the
 * pixel values 0..255. numChannels 4 keeps RGBA, 3 drops alpha, 1 keeps the red channel (as tfjs:
 * convert to grayscale yourself if that is what you want). tfjs' tensor is int32; simdcnn's tensors
 * are float32, holding the same integers. In Node there is no canvas: pass {data, width, height}.
 */
export function fromPixels(pixels: FromPixelsInput, numChannels = 3): Tensor {
  if (numChannels !== 1 && numChannels !== 3 && numChannels !== 4) {
    throw argError('fromPixels', 'numChannels', numChannels, '1 (red), 3 (RGB) or 4 (RGBA)');
  }
  const { data, width, height } = rgbaOf(pixels);
  const out = allocTensor([height, width, numChannels]);
  const f = runtime().heap.f32;
  const o = out.ptr >>> 2, n = width * height;
  if (numChannels === 4) f.set(data as Uint8Array, o);
  else for (let i = 0; i < n; i++) for (let k = 0; k < numChannels; k++) f[o + i * numChannels + k] = data[i * 4 + k]!;
  return out;
}

/** tf.browser's namespace. */
export const browser = { fromPixels };
