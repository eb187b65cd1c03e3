// `simdcnn predict MODEL IMAGE` for image classifiers other than MNIST's: a layers model (folder or
// model.json) or an .onnx file, and a PNG or JPEG. The image is made into what the model takes:
//   decode → RGBA (EXIF orientation applied) → channels (alpha composited over white, as viewers
//   show it; 1 channel = luminance) → centre crop to the model's aspect ratio (a stretch would
//   distort shapes the model learned) → resize (area averaging when shrinking both sides, so a
//   photo several times the input size does not alias; else bilinear with half-pixel centres, the
//   PIL/OpenCV/PyTorch convention) → normalize → NHWC or NCHW.
// Output: the top K classes. A model that ends in softmax already gives probabilities; any other
// output (logits) gets a softmax here, and the report says which happened.

import { readFile } from 'node:fs/promises';
import type { LayersModel } from '../model/layers-model.js';
import { tensor, type Tensor } from '../tensor.js';
import { image } from '../image/ops.js';
import { decodePngRgba, resizeArea, type RgbaImage } from '../image/png.js';
import { decodeJpeg, isJpeg } from '../image/jpeg.js';
import { DEFAULT_TOP, type PredictCommand, type PredictNormalize } from './args.js';
import { CliError, jsonLine, pct, type CliIO } from './common.js';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];

export const isOnnxPath = (p: string) => /\.onnx$/i.test(p);

async function readUserFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `${path} does not exist (${what})` : `cannot read ${path}: ${(err as Error).message}`);
  }
}

/** The .onnx model, with --size filling in symbolic height and width. */
export async function loadOnnxModel(cmd: PredictCommand): Promise<LayersModel> {
  const bytes = await readUserFile(cmd.modelDir, 'the ONNX model');
  const mod = (await import('../import/load-onnx.js')) as Partial<typeof import('../import/load-onnx.js')>;
  if (typeof mod.loadOnnx !== 'function') throw new CliError(`${cmd.modelDir}: this simdcnn build has no ONNX import yet (loadOnnx is not exported)`);
  const layout = cmd.layout ?? 'nchw';
  let inputShapes: Record<string, number[]> | undefined;
  if (cmd.size !== undefined) {
    const { decodeModel } = await import('../import/onnx-proto.js');
    let graph: ReturnType<typeof decodeModel>['graph'];
    try {
      graph = decodeModel(bytes).graph;
    } catch (e) {
      throw new CliError(`${cmd.modelDir}: ${(e as Error).message}`);
    }
    const inits = new Set(graph.initializers.map((t) => t.name));
    const inputs = graph.inputs.filter((i) => !inits.has(i.name));
    const shape = inputs[0]?.shape;
    if (inputs.length !== 1 || !shape || shape.length !== 4) {
      throw new CliError(`${cmd.modelDir}: --size needs a model with one image input [batch, C, H, W] or [batch, H, W, C]; its inputs are ${inputs.map((i) => `${i.name} [${i.shape?.map((d) => d ?? '?') ?? '?'}]`).join(', ') || 'none'}`);
    }
    const [hAt, wAt, cAt] = layout === 'nchw' ? [2, 3, 1] : [1, 2, 3];
    const c = shape[cAt];
    if (typeof c !== 'number' || c < 1) throw new CliError(`${cmd.modelDir}: its input ${inputs[0]!.name} [${shape.map((d) => d ?? '?')}] has no fixed channel count at axis ${cAt} (--layout ${layout})`);
    for (const at of [hAt, wAt]) {
      const d = shape[at];
      if (typeof d === 'number' && d > 0 && d !== cmd.size) {
        throw new CliError(`--size ${cmd.size}: the model's input ${inputs[0]!.name} [${shape.map((x) => x ?? '?')}] fixes ${at === hAt ? 'height' : 'width'} at ${d}; leave --size out`);
      }
    }
    const dims = [0, 0, 0];
    dims[cAt - 1] = c;
    dims[hAt - 1] = cmd.size;
    dims[wAt - 1] = cmd.size;
    inputShapes = { [inputs[0]!.name]: dims };
  }
  try {
    return await mod.loadOnnx(bytes, inputShapes ? { inputShapes } : {});
  } catch (e) {
    const msg = (e as Error).message;
    throw new CliError(`${cmd.modelDir}: ${msg}${/symbolic/.test(msg) && cmd.size === undefined ? '; on the command line: --size N' : ''}`);
  }
}

export async function decodeImage(bytes: Uint8Array, file: string): Promise<{ img: RgbaImage; kind: 'png' | 'jpeg' }> {
  if (PNG_MAGIC.every((b, i) => bytes[i] === b)) return { img: await decodePngRgba(bytes, file), kind: 'png' };
  if (isJpeg(bytes)) {
    try {
      return { img: await decodeJpeg(bytes, file), kind: 'jpeg' };
    } catch (e) {
      throw new CliError((e as Error).message);
    }
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new CliError(`${file} is neither a PNG nor a JPEG image (it starts with ${head || 'no bytes'}); an image model reads those two`);
}

interface ImageInput { h: number; w: number; c: number; layout: 'nhwc' | 'nchw' }

/** The image the model takes, from its input shape and --layout. */
function modelInput(model: LayersModel, cmd: PredictCommand, onnx: boolean): ImageInput {
  if (model.inputs.length !== 1) throw new CliError(`the model in ${cmd.modelDir} has ${model.inputs.length} inputs; predict feeds one image`);
  const s = model.inputShape;
  const layout = cmd.layout ?? (onnx ? 'nchw' : 'nhwc');
  const okC = (c: number | undefined) => c === 1 || c === 3 || c === 4;
  if (s.length === 3) {
    const [h, w, c] = layout === 'nhwc' ? s : [s[1], s[2], s[0]];
    if (okC(c)) return { h: h!, w: w!, c: c!, layout };
    const other = layout === 'nhwc' ? 'nchw' : 'nhwc';
    const hint = okC(layout === 'nhwc' ? s[0] : s[2]) ? `; it looks like ${other}: pass --layout ${other}` : '';
    throw new CliError(`the model in ${cmd.modelDir} takes [${s}], which as ${layout} has ${c} channels; an image has 1, 3 or 4${hint}`);
  }
  throw new CliError(`the model in ${cmd.modelDir} takes inputs of shape [${s}]; predict needs an image input: [height, width, channels] (nhwc) or [channels, height, width] (nchw)`);
}

/** The pixels as c channels: RGB (or gray, by luminance) over white where transparent; RGBA as is. */
function toChannels(img: RgbaImage, c: number): Uint8Array {
  const n = img.width * img.height, d = img.data;
  if (c === 4) return d;
  const out = new Uint8Array(n * c);
  for (let i = 0; i < n; i++) {
    const a = d[i * 4 + 3]! / 255;
    const over = (v: number) => v * a + 255 * (1 - a);
    const r = over(d[i * 4]!), g = over(d[i * 4 + 1]!), b = over(d[i * 4 + 2]!);
    if (c === 3) {
      out[i * 3] = Math.round(r); out[i * 3 + 1] = Math.round(g); out[i * 3 + 2] = Math.round(b);
    } else {
      out[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    }
  }
  return out;
}

/** The largest centred region of the image with the target's aspect ratio. */
function centreCrop(w: number, h: number, tw: number, th: number): { x: number; y: number; w: number; h: number } {
  let cw = w, ch = h;
  if (w * th > h * tw) cw = Math.max(1, Math.round((h * tw) / th));
  else ch = Math.max(1, Math.round((w * th) / tw));
  return { x: Math.floor((w - cw) / 2), y: Math.floor((h - ch) / 2), w: cw, h: ch };
}

function crop(px: Uint8Array, w: number, c: number, r: { x: number; y: number; w: number; h: number }): Uint8Array {
  const out = new Uint8Array(r.w * r.h * c);
  for (let y = 0; y < r.h; y++) out.set(px.subarray(((r.y + y) * w + r.x) * c, ((r.y + y) * w + r.x + r.w) * c), y * r.w * c);
  return out;
}

/** True when the values already form a probability distribution (a softmax output). */
export function isDistribution(p: ArrayLike<number>): boolean {
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    if (!(p[i]! >= 0 && p[i]! <= 1)) return false;
    sum += p[i]!;
  }
  return Math.abs(sum - 1) <= 1e-3;
}

export function softmax(z: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < z.length; i++) m = Math.max(m, z[i]!);
  const e = Float64Array.from(z as ArrayLike<number>, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

const NORMALIZE_TEXT: Record<PredictNormalize, string> = { imagenet: "imagenet (x/255, torchvision's mean/std)", unit: 'unit (x/255)', none: 'none (0..255)' };

export async function runImagePredict(cmd: PredictCommand, io: CliIO, model: LayersModel, onnx: boolean): Promise<void> {
  const input = modelInput(model, cmd, onnx);
  const outShape = model.outputShape;
  const classes = outShape.reduce((a, b) => a * b, 1);
  if (outShape.filter((d) => d > 1).length > 1 || classes < 2) {
    throw new CliError(`the model in ${cmd.modelDir} outputs shape [${outShape}]; predict reads a vector of class scores`);
  }
  if (cmd.size !== undefined && !onnx && (cmd.size !== input.h || cmd.size !== input.w)) {
    throw new CliError(`--size ${cmd.size}: the model in ${cmd.modelDir} takes ${input.h}x${input.w} images (its input size is fixed); leave --size out`);
  }
  const normalize = cmd.normalize ?? (onnx ? 'imagenet' : 'none');
  if (normalize === 'imagenet' && input.c !== 3) {
    throw new CliError(`--normalize imagenet: the model takes ${input.c}-channel images, but the ImageNet statistics are for RGB (3 channels); use --normalize unit or none`);
  }
  const { img, kind } = await decodeImage(await readUserFile(cmd.file, 'the image'), cmd.file);
  const px = toChannels(img, input.c);
  const region = centreCrop(img.width, img.height, input.w, input.h);
  const cropped = region.w === img.width && region.h === img.height ? px : crop(px, img.width, input.c, region);
  const shrink = input.w <= region.w && input.h <= region.h;
  let x: Tensor;
  if (shrink) {
    x = tensor(resizeArea(cropped, region.w, region.h, input.w, input.h, input.c), [1, input.h, input.w, input.c]);
  } else {
    const t = tensor(cropped, [1, region.h, region.w, input.c]);
    x = image.resizeBilinear(t, [input.h, input.w], false, true);
    t.dispose();
  }
  const stats = normalize === 'imagenet' ? 'imagenet' as const : normalize === 'unit' ? { mean: 0, std: 255 } : undefined;
  if (stats) {
    const y = image.normalize(x, stats);
    x.dispose();
    x = y;
  }
  if (input.layout === 'nchw') {
    const y = image.toNCHW(x);
    x.dispose();
    x = y;
  }
  let out = model.predict(x, { batchSize: 1 });
  x.dispose();
  if (Array.isArray(out)) {
    for (const t of out.slice(1)) t.dispose();
    out = out[0]!;
  }
  const scores = await out.data();
  out.dispose();
  model.dispose();
  const already = isDistribution(scores);
  const probs = already ? Float64Array.from(scores) : softmax(scores);
  const k = Math.min(cmd.top ?? DEFAULT_TOP, classes);
  const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]! || a - b).slice(0, k);
  const round = (v: number) => Number(v.toFixed(6));
  const resize = shrink ? 'area' : 'bilinear';
  if (cmd.json) {
    jsonLine(io, {
      file: cmd.file, kind, width: img.width, height: img.height, model: onnx ? 'onnx' : 'layers',
      input: [input.h, input.w, input.c], layout: input.layout, crop: [region.w, region.h], resize, normalize,
      softmaxApplied: !already, classes, predicted: order[0], top: order.map((c) => ({ class: c, probability: round(probs[c]!) })),
    });
    return;
  }
  io.out(`${cmd.file}: class ${order[0]} (${pct(probs[order[0]!]!)})`);
  io.out(`  ${kind} ${img.width}x${img.height}, centre crop ${region.w}x${region.h}, ${resize} resize to ${input.w}x${input.h}x${input.c} ${input.layout}, normalize ${NORMALIZE_TEXT[normalize]}`);
  io.out(already ? `  the model's output is a probability distribution (${classes} classes)` : `  softmax applied to the model's ${classes} outputs (they are not a probability distribution)`);
  const width = 40, digits = String(classes - 1).length;
  order.forEach((c, i) => {
    const p = probs[c]!;
    io.out(`  ${String(i + 1).padStart(String(k).length)}. class ${String(c).padStart(digits)}  ${pct(p).padStart(7)}  ${'█'.repeat(Math.round(p * width))}`);
  });
}
