// `simdcnn predict MODEL_DIR FILE`: for a model taking 28×28×1 (MNIST), classify a PNG digit (any
// size or colours, prepared like MNIST) or the images of an IDX file (.gz or not); any other image
// classifier (a layers model or an .onnx file) goes to predict-image.ts. One image: the class and the ten
// probabilities as bars. Many: the first few, the class counts and — when the matching labels
// file sits beside it (t10k-images-idx3-ubyte → t10k-labels-idx1-ubyte) — the accuracy.

import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { gunzipSync } from '../data/gunzip-node.js';
import { parseIdx } from '../data/idx.js';
import { decodePng, prepareMnistDigit } from '../image/png.js';
import { uint8Images } from '../model/examples.js';
import type { Tensor } from '../tensor.js';
import type { PredictCommand } from './args.js';
import { CliError, checkMnistInput, jsonLine, loadModel, pct, setupBackend, type CliIO } from './common.js';
import { isOnnxPath, loadOnnxModel, runImagePredict } from './predict-image.js';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];

async function readUserFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path}: ${(err as Error).message}`);
  }
}

/** The images in FILE as 28×28 uint8 digits, plus labels when a matching labels file exists. */
async function loadImages(file: string, limit: number | undefined): Promise<{ images: Uint8Array; count: number; labels?: Uint8Array; kind: string }> {
  const bytes = await readUserFile(file);
  if (PNG_MAGIC.every((b, i) => bytes[i] === b)) {
    return { images: prepareMnistDigit(await decodePng(bytes, file)), count: 1, kind: 'png' };
  }
  const raw = gunzipSync(bytes, file);
  if (!(raw[0] === 0 && raw[1] === 0)) {
    throw new CliError(`${file} is neither a PNG image nor an IDX images file`);
  }
  const idx = parseIdx(raw, file);
  const shape = idx.shape;
  const ok = idx.dtype === 'uint8' && ((shape.length === 3 && shape[1] === 28 && shape[2] === 28) || (shape.length === 2 && shape[0] === 28 && shape[1] === 28));
  if (!ok) throw new CliError(`${file}: expected uint8 28x28 images ([count, 28, 28]), got ${idx.dtype} [${shape.join(', ')}]`);
  let count = shape.length === 3 ? shape[0]! : 1;
  if (limit !== undefined) count = Math.min(count, limit);
  const images = (idx.data as Uint8Array).subarray(0, count * 784);
  const labels = await companionLabels(file, count);
  return { images, count, kind: 'idx', ...(labels ? { labels } : {}) };
}

async function companionLabels(file: string, count: number): Promise<Uint8Array | undefined> {
  const name = basename(file);
  if (!name.includes('images-idx3')) return undefined;
  const base = join(dirname(file), name.replace('images-idx3', 'labels-idx1').replace(/\.gz$/, ''));
  for (const p of [base, base + '.gz']) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(p);
    } catch {
      continue;
    }
    const idx = parseIdx(gunzipSync(bytes, p), p);
    if (idx.dtype !== 'uint8' || idx.shape.length !== 1 || idx.shape[0]! < count) return undefined;
    return (idx.data as Uint8Array).subarray(0, count);
  }
  return undefined;
}

const argmax = (p: ArrayLike<number>, o: number, n: number) => {
  let b = 0;
  for (let j = 1; j < n; j++) if (p[o + j]! > p[o + b]!) b = j;
  return b;
};

function bars(io: CliIO, probs: ArrayLike<number>, o: number, best: number): void {
  const width = 40;
  for (let c = 0; c < 10; c++) {
    const p = probs[o + c]!;
    const n = Math.round(p * width);
    io.out(`  ${c}  ${p.toFixed(4)}  ${'█'.repeat(n)}${c === best ? '  ←' : ''}`);
  }
}

export async function runPredict(cmd: PredictCommand, io: CliIO): Promise<void> {
  await setupBackend(cmd);
  if (isOnnxPath(cmd.modelDir)) return runImagePredict(cmd, io, await loadOnnxModel(cmd), true);
  const model = await loadModel(cmd.modelDir);
  // Other models are general image classifiers (predict-image.ts); MNIST's keep the digit path.
  if (model.inputShape.join() !== '28,28,1') return runImagePredict(cmd, io, model, false);
  for (const [flag, v] of [['--size', cmd.size], ['--normalize', cmd.normalize], ['--top', cmd.top], ['--layout', cmd.layout]] as const) {
    if (v !== undefined) throw new CliError(`${flag} is for image classifiers; the model in ${cmd.modelDir} is an MNIST model (28x28x1 input), whose digits are prepared as MNIST's were`);
  }
  checkMnistInput(model, cmd.modelDir);
  const { images, count, labels, kind } = await loadImages(cmd.file, cmd.limit);
  const t = model.predict(uint8Images(images, [28, 28, 1]), { batchSize: cmd.batchSize }) as Tensor;
  const probs = await t.data();
  t.dispose();
  model.dispose();
  const classes = Array.from({ length: count }, (_, i) => argmax(probs, i * 10, 10));
  const round = (v: number) => Number(v.toFixed(6));

  if (count === 1) {
    const p = Array.from(probs.subarray(0, 10), round);
    if (cmd.json) {
      jsonLine(io, { file: cmd.file, kind, predicted: classes[0], probabilities: p, ...(labels ? { label: labels[0] } : {}) });
      return;
    }
    io.out(`${cmd.file}: ${classes[0]} (${pct(probs[classes[0]!]!)})${labels ? `, label ${labels[0]}` : ''}`);
    bars(io, probs, 0, classes[0]!);
    return;
  }
  const counts = new Array(10).fill(0);
  for (const c of classes) counts[c]++;
  const correct = labels ? classes.reduce((s, c, i) => s + (c === labels[i] ? 1 : 0), 0) : undefined;
  if (cmd.json) {
    jsonLine(io, {
      file: cmd.file, kind, count, predicted: classes, counts,
      ...(labels ? { labels: Array.from(labels), accuracy: correct! / count } : {}),
    });
    return;
  }
  const show = Math.min(count, 10);
  for (let i = 0; i < show; i++) {
    io.out(`  #${i}: ${classes[i]} (${pct(probs[i * 10 + classes[i]!]!)})${labels ? `  label ${labels[i]}${labels[i] === classes[i] ? '' : '  ✗'}` : ''}`);
  }
  if (count > show) io.out(`  … ${count - show} more`);
  io.out(`${count} images; predicted per class: ${counts.map((n, c) => `${c}:${n}`).join(' ')}`);
  if (labels) io.out(`accuracy against ${basename(cmd.file).replace('images-idx3', 'labels-idx1')}: ${pct(correct! / count)} (${correct}/${count})`);
}
