// `simdcnn predict MODEL IMAGE` for image classifiers, end to end on the built CLI (node
// dist/cli.js): layers models and .onnx files, PNG (opaque and transparent) and JPEG (made with
// jpeg-js' encoder), each preprocessing step against a reference computed here (crop, area and
// bilinear resizes, luminance, normalization, NCHW, softmax), --size for symbolic ONNX dims, and
// the user errors, including a missing jpeg-js (Node's resolver made to look where it is not).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import jpegJs from 'jpeg-js';
import * as sc from '../src/index.js';
import { encodePng } from '../src/image/png.js';
import { ProtoWriter } from '../src/export/protobuf.js';
import { rng } from './helpers/random.js';
import { hidePackages } from './helpers/hide-package.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

interface Run { code: number; stdout: string; stderr: string }
function run(nodeArgs: string[], ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...nodeArgs, CLI, ...args], { env: { ...process.env, SIMDCNN_DEBUG: '' }, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}
const cli = (...args: string[]) => run([], ...args);
const json = async (...args: string[]) => {
  const r = await cli(...args, '--json');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout.trim());
};

let work: string;
const path = (name: string) => join(work, name);

/** HWC pixels from a function of (x, y, channel). */
function pixels(w: number, h: number, c: number, f: (x: number, y: number, k: number) => number): Uint8Array {
  return Uint8Array.from({ length: w * h * c }, (_, i) => f(Math.floor(i / c) % w, Math.floor(i / c / w), i % c));
}
const r = rng(42);
const noise = (w: number, h: number, c: number) => pixels(w, h, c, () => Math.floor(r() * 256));

function probsOf(model: sc.LayersModel, x: sc.Tensor, softmax: boolean): number[] {
  const y = (model.predict(x) as sc.Tensor).dataSync();
  if (!softmax) return Array.from(y);
  const m = Math.max(...y), e = Array.from(y, (v) => Math.exp(v - m)), s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** The CLI's top list must be the reference's classes in order, with the reference's probabilities. */
function expectTop(res: { top: { class: number; probability: number }[] }, ref: number[], k: number): void {
  const order = ref.map((_, i) => i).sort((a, b) => ref[b]! - ref[a]! || a - b).slice(0, k);
  expect(res.top.map((t) => t.class)).toEqual(order);
  res.top.forEach((t, i) => expect(Math.abs(t.probability - ref[order[i]!]!), `class ${t.class}`).toBeLessThanOrEqual(2e-6));
}

// A tiny NCHW ONNX classifier written here: GlobalAveragePool → Flatten → Gemm, input
// [N, 3, 'H', 'W'] (symbolic image size, so it needs --size) — its output is computable by hand.
const GEMM_W = [[0.8, -0.3, 0.1], [-0.5, 0.9, 0.2], [0.05, 0.1, -0.7], [0.3, 0.3, 0.3]];
const GEMM_B = [0.1, -0.2, 0.05, 0];
function symbolicOnnx(): Uint8Array {
  const vi = (name: string, dims: (number | string)[]) => {
    const shape = new ProtoWriter();
    for (const d of dims) shape.message(1, typeof d === 'string' ? new ProtoWriter().string(2, d) : new ProtoWriter().int(1, d));
    return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, new ProtoWriter().int(1, 1).message(2, shape)));
  };
  const node = (op: string, inputs: string[], outputs: string[]) => {
    const n = new ProtoWriter();
    for (const i of inputs) n.string(1, i);
    for (const o of outputs) n.string(2, o);
    return n.string(3, op).string(4, op);
  };
  const init = (name: string, dims: number[], v: number[]) => new ProtoWriter().packedInts(1, dims).int(2, 1).string(8, name).bytes(9, new Uint8Array(new Float32Array(v).buffer));
  const g = new ProtoWriter()
    .message(1, node('GlobalAveragePool', ['image'], ['p']))
    .message(1, node('Flatten', ['p'], ['f']))
    .message(1, node('Gemm', ['f', 'W', 'B'], ['logits']).message(5, new ProtoWriter().string(1, 'transB').int(20, 2).int(3, 1)))
    .string(2, 'tiny')
    .message(5, init('W', [4, 3], GEMM_W.flat()))
    .message(5, init('B', [4], GEMM_B))
    .message(11, vi('image', ['N', 3, 'H', 'W']))
    .message(12, vi('logits', ['N', 4]));
  return new ProtoWriter().int(1, 7).string(2, 'simdcnn-test').message(7, g).message(8, new ProtoWriter().string(1, '').int(2, 13)).finish();
}

let rgb: sc.LayersModel, logits: sc.LayersModel, gray: sc.LayersModel;
// Models fed 0..255 scale it inside (a Rescaling layer): a softmax of raw 0..255 pixels saturates to
// one-hot, and the probabilities would then not show a preprocessing mistake.
const classifier = (inputShape: number[], units: number, activation: 'softmax' | 'linear', seed: number, rescale: boolean) => sc.sequential({ seed, layers: [
  ...(rescale ? [sc.layers.rescaling({ scale: 1 / 255, inputShape })] : []),
  sc.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', ...(rescale ? {} : { inputShape }) }),
  sc.layers.flatten(),
  sc.layers.dense({ units, activation }),
] });

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it)`);
  await tf.setBackend('cpu');
  work = await mkdtemp(join(tmpdir(), 'simdcnn-predict-image-'));
  rgb = classifier([8, 8, 3], 6, 'softmax', 1, true);
  logits = classifier([8, 8, 3], 6, 'linear', 2, false);
  gray = classifier([6, 6, 1], 3, 'softmax', 3, true);
  await rgb.save(`file://${path('rgb')}`);
  await logits.save(`file://${path('logits')}`);
  await gray.save(`file://${path('gray')}`);
  await writeFile(path('logits-nhwc.onnx'), await logits.toONNX());
  await writeFile(path('symbolic.onnx'), symbolicOnnx());
  const mnist = sc.sequential({ seed: 4, layers: [sc.layers.flatten({ inputShape: [28, 28, 1] }), sc.layers.dense({ units: 10, activation: 'softmax' })] });
  await mnist.save(`file://${path('mnist')}`);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('simdcnn predict: image classifiers', () => {
  it('a PNG of the input size goes in as is (no crop, identity resize), probabilities as the model gives them', async () => {
    const px = noise(8, 8, 3);
    await writeFile(path('a.png'), encodePng(px, 8, 8, 3));
    const res = await json('predict', path('rgb'), path('a.png'));
    expect(res).toMatchObject({ kind: 'png', width: 8, height: 8, model: 'layers', input: [8, 8, 3], layout: 'nhwc', crop: [8, 8], resize: 'area', normalize: 'none', softmaxApplied: false, classes: 6 });
    expect(res.top).toHaveLength(5);
    expectTop(res, probsOf(rgb, sc.tensor(px, [1, 8, 8, 3]), false), 5);
    expect(res.predicted).toBe(res.top[0].class);
  });

  it('wider RGBA: centre crop to the aspect ratio, transparency over white; --top', async () => {
    const px = pixels(16, 8, 4, (x, y, k) => (k === 3 ? (x + y) % 3 === 0 ? 0 : 255 : (x * 31 + y * 17 + k * 70) % 256));
    await writeFile(path('wide.png'), encodePng(px, 16, 8, 4));
    const res = await json('predict', path('rgb'), path('wide.png'), '--top', '3');
    expect(res).toMatchObject({ width: 16, height: 8, crop: [8, 8] });
    // Reference: columns 4..11, alpha 0 → white.
    const ref = pixels(8, 8, 3, (x, y, k) => ((x + 4 + y) % 3 === 0 ? 255 : ((x + 4) * 31 + y * 17 + k * 70) % 256));
    expectTop(res, probsOf(rgb, sc.tensor(ref, [1, 8, 8, 3]), false), 3);
  });

  it('shrinking: area averaging (2×2 blocks → their rounded means)', async () => {
    const px = noise(16, 16, 3);
    await writeFile(path('big.png'), encodePng(px, 16, 16, 3));
    const res = await json('predict', path('rgb'), path('big.png'));
    expect(res).toMatchObject({ resize: 'area', crop: [16, 16] });
    const ref = pixels(8, 8, 3, (x, y, k) => {
      const at = (dx: number, dy: number) => px[((2 * y + dy) * 16 + 2 * x + dx) * 3 + k]!;
      return Math.round((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4);
    });
    expectTop(res, probsOf(rgb, sc.tensor(ref, [1, 8, 8, 3]), false), 5);
  });

  it('enlarging: bilinear with half-pixel centres, as tf.image.resizeBilinear(x, size, false, true)', async () => {
    const px = noise(4, 4, 3);
    await writeFile(path('small.png'), encodePng(px, 4, 4, 3));
    const res = await json('predict', path('rgb'), path('small.png'));
    expect(res).toMatchObject({ resize: 'bilinear', crop: [4, 4] });
    const ref = tf.image.resizeBilinear(tf.tensor(px, [1, 4, 4, 3], 'float32') as tf.Tensor4D, [8, 8], false, true).dataSync();
    expectTop(res, probsOf(rgb, sc.tensor(ref, [1, 8, 8, 3]), false), 5);
  });

  it('logits get a softmax (and say so); --normalize unit divides by 255', async () => {
    const px = noise(8, 8, 3);
    await writeFile(path('b.png'), encodePng(px, 8, 8, 3));
    const res = await json('predict', path('logits'), path('b.png'), '--normalize', 'unit', '--top', '6');
    expect(res).toMatchObject({ softmaxApplied: true, normalize: 'unit' });
    expectTop(res, probsOf(logits, sc.tensor(Float32Array.from(px, (v) => v / 255), [1, 8, 8, 3]), true), 6);
    expect(res.top.reduce((s: number, t: { probability: number }) => s + t.probability, 0)).toBeCloseTo(1, 5);
    const text = await cli('predict', path('logits'), path('b.png'), '--normalize', 'unit', '--top', '2');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^${path('b.png').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: class ${res.top[0].class} \\(\\d+\\.\\d\\d%\\)\n` +
      '  png 8x8, centre crop 8x8, area resize to 8x8x3 nhwc, normalize unit \\(x/255\\)\n' +
      "  softmax applied to the model's 6 outputs \\(they are not a probability distribution\\)\n" +
      `  1\\. class ${res.top[0].class}  +\\d+\\.\\d\\d%  █*\n  2\\. class ${res.top[1].class}  +\\d+\\.\\d\\d%  █*\n$`));
  });

  it('a one-channel model gets the luminance', async () => {
    const px = noise(6, 6, 3);
    await writeFile(path('c.png'), encodePng(px, 6, 6, 3));
    const res = await json('predict', path('gray'), path('c.png'));
    expect(res).toMatchObject({ input: [6, 6, 1], classes: 3 });
    const ref = pixels(6, 6, 1, (x, y) => Math.round(0.299 * px[(y * 6 + x) * 3]! + 0.587 * px[(y * 6 + x) * 3 + 1]! + 0.114 * px[(y * 6 + x) * 3 + 2]!));
    expectTop(res, probsOf(gray, sc.tensor(ref, [1, 6, 6, 1]), false), 3);
  });

  it('a JPEG (jpeg-js), decoded as jpeg-js decodes it', async () => {
    const rgba = pixels(8, 8, 4, (x, y, k) => (k === 3 ? 255 : (x * 30 + y * 9 + k * 80) % 256));
    const jpg = jpegJs.encode({ data: rgba, width: 8, height: 8 }, 90).data;
    await writeFile(path('d.jpg'), jpg);
    const res = await json('predict', path('rgb'), path('d.jpg'));
    expect(res).toMatchObject({ kind: 'jpeg', width: 8, height: 8 });
    const dec = jpegJs.decode(jpg, { useTArray: true, formatAsRGBA: true }).data;
    const ref = pixels(8, 8, 3, (x, y, k) => dec[(y * 8 + x) * 4 + k]!);
    expectTop(res, probsOf(rgb, sc.tensor(ref, [1, 8, 8, 3]), false), 5);
  });

  it('.onnx: NCHW and imagenet by default, --size for a symbolic image size; the output by hand', async () => {
    const [R, G, B] = [200, 30, 90];
    await writeFile(path('flat.png'), encodePng(pixels(10, 10, 3, (_x, _y, k) => [R, G, B][k]!), 10, 10, 3));
    const res = await json('predict', path('symbolic.onnx'), path('flat.png'), '--size', '5', '--top', '4');
    expect(res).toMatchObject({ model: 'onnx', input: [5, 5, 3], layout: 'nchw', normalize: 'imagenet', softmaxApplied: true, classes: 4 });
    // A flat image: the average pool is the normalized colour itself.
    const v = [R, G, B].map((x, c) => (x / 255 - [0.485, 0.456, 0.406][c]!) / [0.229, 0.224, 0.225][c]!);
    const z = GEMM_W.map((row, j) => row.reduce((s, w, c) => s + w * v[c]!, GEMM_B[j]!));
    const e = z.map((x) => Math.exp(x - Math.max(...z))), s = e.reduce((a, b) => a + b, 0);
    expectTop(res, e.map((x) => x / s), 4);
    const noSize = await cli('predict', path('symbolic.onnx'), path('flat.png'));
    expect(noSize.code).toBe(1);
    // The loader's message (which input, which dim) and the CLI's way to give the size.
    expect(noSize.stderr).toMatch(/^simdcnn: .*symbolic\.onnx: onnx: input 'image' .*symbolic.*; on the command line: --size N\n$/);
  });

  it('.onnx exported from a layers model (NHWC): --layout nhwc, imagenet normalization, same classes as the layers model', async () => {
    const px = noise(8, 8, 3);
    await writeFile(path('e.png'), encodePng(px, 8, 8, 3));
    const res = await json('predict', path('logits-nhwc.onnx'), path('e.png'), '--layout', 'nhwc', '--top', '6');
    expect(res).toMatchObject({ model: 'onnx', layout: 'nhwc', normalize: 'imagenet', softmaxApplied: true });
    const ref = Float32Array.from(px, (x, i) => (x / 255 - [0.485, 0.456, 0.406][i % 3]!) / [0.229, 0.224, 0.225][i % 3]!);
    expectTop(res, probsOf(logits, sc.tensor(ref, [1, 8, 8, 3]), true), 6);
    const wrong = await cli('predict', path('logits-nhwc.onnx'), path('e.png'));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(`simdcnn: the model in ${path('logits-nhwc.onnx')} takes [8,8,3], which as nchw has 8 channels; an image has 1, 3 or 4; it looks like nhwc: pass --layout nhwc\n`);
  });

  it('user errors: exit 1 and a message saying what is wrong', async () => {
    await writeFile(path('f.png'), encodePng(noise(8, 8, 3), 8, 8, 3));
    const expectErr = async (args: string[], message: string | RegExp) => {
      const res = await cli(...args);
      expect(res.code, args.join(' ')).toBe(1);
      if (typeof message === 'string') expect(res.stderr).toBe(`simdcnn: ${message}\n`);
      else expect(res.stderr).toMatch(message);
    };
    await expectErr(['predict', path('mnist'), path('f.png'), '--top', '3'],
      `--top is for image classifiers; the model in ${path('mnist')} is an MNIST model (28x28x1 input), whose digits are prepared as MNIST's were`);
    await expectErr(['predict', path('rgb'), path('f.png'), '--size', '16'],
      `--size 16: the model in ${path('rgb')} takes 8x8 images (its input size is fixed); leave --size out`);
    await expectErr(['predict', path('gray'), path('f.png'), '--normalize', 'imagenet'],
      '--normalize imagenet: the model takes 1-channel images, but the ImageNet statistics are for RGB (3 channels); use --normalize unit or none');
    await writeFile(path('g.txt'), 'not an image');
    await expectErr(['predict', path('rgb'), path('g.txt')], `${path('g.txt')} is neither a PNG nor a JPEG image (it starts with 6e 6f 74 20); an image model reads those two`);
    await expectErr(['predict', path('rgb'), path('missing.png')], `${path('missing.png')} does not exist (the image)`);
    await expectErr(['predict', path('missing.onnx'), path('f.png')], `${path('missing.onnx')} does not exist (the ONNX model)`);
    await expectErr(['predict', path('symbolic.onnx'), path('f.png'), '--size', '5', '--layout', 'nhwc'],
      `${path('symbolic.onnx')}: its input image [N,3,H,W] has no fixed channel count at axis 3 (--layout nhwc)`);
    await writeFile(path('h.jpg'), Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0]));
    await expectErr(['predict', path('rgb'), path('h.jpg')], new RegExp(`^simdcnn: ${path('h.jpg').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: cannot decode the JPEG: .+\n$`));
  });

  it('without jpeg-js installed: an Error that says to npm install it', async () => {
    const hidden = await hidePackages(['jpeg-js']);
    try {
      await writeFile(path('i.jpg'), jpegJs.encode({ data: pixels(8, 8, 4, () => 128), width: 8, height: 8 }, 90).data);
      const res = await run(hidden.nodeArgs, 'predict', path('rgb'), path('i.jpg'));
      expect(res.code).toBe(1);
      expect(res.stderr).toBe(`simdcnn: decoding the JPEG ${path('i.jpg')} needs the optional package 'jpeg-js' (a pure-JavaScript JPEG decoder), which is not installed; install it with: npm install jpeg-js\n`);
      // PNGs need no optional package.
      expect((await run(hidden.nodeArgs, 'predict', path('rgb'), path('f.png'), '--json')).code).toBe(0);
    } finally {
      await hidden.dispose();
    }
  });
});
