// examples/fine-tune-onnx, run as a user runs it (node, the built package): it must train a head on
// the frozen ONNX-imported extractor to well above chance, leave every imported weight bit-for-bit
// as PyTorch exported it, and write a tfjs model and an ONNX export that compute the same function.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { image, loadLayersModel, loadOnnx, tensor, tidy, type LayersModel, type Tensor } from '../src/index.js';
import { mulberry32, shapes } from '../examples/fine-tune-onnx/shapes.mjs';

const root = join(import.meta.dirname, '..');
const fixture = join(root, 'test/fixtures/onnx/resnet_basic.onnx');
let dir: string;
let stdout: string;
let tuned: LayersModel;

beforeAll(async () => {
  for (const f of ['dist/index.js', 'dist/wasm/simdcnn-simd.wasm']) {
    if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run npm run build first (npm test does)`);
  }
  dir = mkdtempSync(join(tmpdir(), 'simdcnn-fine-tune-'));
  const r = spawnSync(process.execPath, ['examples/fine-tune-onnx/fine-tune.mjs', fixture, '--epochs', '8', '--out', dir], { cwd: root, encoding: 'utf8', timeout: 90_000 });
  if (r.error) throw r.error;
  stdout = r.stdout;
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  tuned = await loadLayersModel(join(dir, 'tfjs'));
});

afterAll(() => {
  tuned?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('examples/fine-tune-onnx', () => {
  it('prints one line per epoch and ends well above chance (4 classes: 0.25)', () => {
    const epochs = [...stdout.matchAll(/^epoch (\d+)\/8 +loss ([\d.]+) +acc ([\d.]+) +val_loss ([\d.]+) +val_acc ([\d.]+)$/gm)];
    expect(epochs.map((m) => Number(m[1]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const first = epochs[0], last = epochs.at(-1)!;
    expect(Number(last[2])).toBeLessThan(Number(first[2]));
    expect(Number(last[3])).toBeGreaterThan(0.55);
    expect(Number(last[5])).toBeGreaterThan(0.5);
    expect(stdout).toMatch(/trainable: head$/m);
  });

  it('leaves every imported weight exactly as loaded, and swaps the classifier for a 4-way head', async () => {
    const net = await loadOnnx(readFileSync(fixture));
    const saved = new Map(tuned.weightValues().map((w) => [w.name, w.data]));
    const imported = net.weightValues();
    // The original 10-way classifier is not part of the fine-tuned graph; all the rest is.
    const backbone = imported.filter((w) => !w.name.startsWith('output/'));
    expect(backbone.length).toBe(imported.length - 2);
    for (const w of backbone) {
      const got = saved.get(w.name);
      expect(got, w.name).toBeDefined();
      expect(Buffer.from(got!.buffer, got!.byteOffset, got!.byteLength).equals(Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)), w.name).toBe(true);
    }
    expect(saved.get('head/kernel')?.length).toBe(32 * 4);
    net.dispose();
  });

  it('exports an ONNX model that loads back, predicts what the fine-tuned model does and classifies new images', async () => {
    const back = await loadOnnx(readFileSync(join(dir, 'fine-tuned.onnx')));
    // Fresh images from the example's generator (another seed): in-distribution, so the softmax is
    // not saturated and a 1e-5 agreement says something about the logits.
    const n = 32, { rgb, labels } = shapes(n, 64, 64, mulberry32(1234));
    const x = tidy(() => image.toNCHW(image.normalize(tensor(rgb, [n, 64, 64, 3]), 'imagenet')));
    const want = tuned.predict(x) as Tensor, got = back.predict(x) as Tensor;
    expect(got.shape).toEqual([n, 4]);
    const a = want.dataSync(), b = got.dataSync();
    let worst = 0, correct = 0, unsure = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    for (let i = 0; i < n; i++) {
      const p = Array.from(a.subarray(i * 4, i * 4 + 4));
      if (p.indexOf(Math.max(...p)) === labels[i]) correct++;
      if (Math.max(...p) < 0.99) unsure++;
    }
    expect(worst).toBeLessThanOrEqual(1e-5);
    expect(correct / n).toBeGreaterThan(0.5);
    expect(unsure).toBeGreaterThan(n / 4);
    for (const t of [x, want, got]) t.dispose();
    back.dispose();
  });
});
