// The built `simdcnn` command end to end (node dist/cli.js): a short real MNIST training run
// (--limit), evaluate and predict on the saved model, PNG digits written with encodePng, and the
// exit codes and messages of usage and user errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePng } from '../src/image/png.js';
import { MNIST_DIR, mnist } from './helpers/mnist.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

interface Run { code: number; stdout: string; stderr: string }

const cli = (...args: string[]) => cliEnv({}, ...args);

function cliEnv(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, SIMDCNN_DEBUG: '', ...env }, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

const jsonLines = (s: string) => s.trim().split('\n').map((l) => JSON.parse(l));

let work: string;
let modelDir: string;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it)`);
  work = await mkdtemp(join(tmpdir(), 'simdcnn-cli-'));
  modelDir = join(work, 'model');
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('simdcnn CLI', () => {
  it('usage errors exit 2 with the message and USAGE on stderr; --help exits 0', async () => {
    const unknown = await cli('train', 'mnist', '--epoch', '3');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^simdcnn: unknown option --epoch; expected one of/);
    expect(unknown.stderr).toContain('Usage:\n  simdcnn train mnist');
    expect(unknown.stdout).toBe('');
    const bad = await cli('train', 'mnist', '--batch-size', 'x');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--batch-size: got "x", expected an integer from 1 to 65536');
    expect((await cli()).code).toBe(2);
    const gpu = await cli('train', 'mnist', '--backend', 'webgpu');
    // No adapter in this project's environment (the SwiftShader env is the webgpu project's): a clear error, exit 1.
    expect(gpu.code).toBe(1);
    expect(gpu.stderr).toContain("--backend webgpu: setBackend('webgpu')");
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--limit N');
    expect(help.stdout).toContain('(default 3)');
  });

  it('train mnist --limit 2000 --json: epoch and final JSON lines, saved model, history and curves', async () => {
    const r = await cli('train', 'mnist', '--data', MNIST_DIR, '--limit', '2000', '--epochs', '1', '--batch-size', '32',
      '--seed', '5', '--json', '--out', modelDir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines).toHaveLength(2);
    const [epoch, final] = lines;
    expect(Object.keys(epoch).sort()).toEqual(['accuracy', 'epoch', 'imagesPerSec', 'loss', 'seconds', 'valAccuracy', 'valLoss']);
    expect(epoch.epoch).toBe(1);
    expect(epoch.loss).toBeLessThan(1.5);
    expect(epoch.valAccuracy).toBeGreaterThan(0.7);
    expect(epoch.imagesPerSec).toBeGreaterThan(0);
    expect(final).toMatchObject({ threads: expect.any(Number), wasm: expect.stringMatching(/^(simd|relaxed)$/), modelDir });
    expect(final.testAccuracy).toBeCloseTo(epoch.valAccuracy, 6); // validation data is the test set
    expect(final.testLoss).toBeGreaterThan(0);
    expect(final.seconds).toBeGreaterThan(0);
    for (const f of ['model.json', 'weights.bin', 'history.json', 'training-curves.svg']) expect(existsSync(join(modelDir, f))).toBe(true);
    const json = JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].weights.map((w: { name: string }) => w.name)).toEqual(
      ['conv2d/kernel', 'conv2d/bias', 'conv2d_1/kernel', 'conv2d_1/bias', 'dense/kernel', 'dense/bias', 'dense_1/kernel', 'dense_1/bias']);
    expect((await readFile(join(modelDir, 'weights.bin'))).length).toBe(121930 * 4);
    const hist = JSON.parse(await readFile(join(modelDir, 'history.json'), 'utf8'));
    expect(hist.epoch).toEqual([0]);
    expect(Object.keys(hist.history).sort()).toEqual(['acc', 'loss', 'val_acc', 'val_loss']);
    expect(hist.params).toMatchObject({ seed: 5, batchSize: 32, trainImages: 2000, testImages: 2000 });
    const svg = await readFile(join(modelDir, 'training-curves.svg'), 'utf8');
    expect(svg).toMatch(/^<\?xml[^]*<svg[^]*data-label="validation"[^]*<\/svg>\s*$/);
  });

  it('train in text mode prints the summary, progress and results', async () => {
    const out = join(work, 'text-model');
    const r = await cli('train', 'mnist', '--data', MNIST_DIR, '--limit', '300', '--epochs', '1', '--seed', '1', '--out', out, '--threads', '1');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Total params: 121,930');
    expect(r.stdout).toMatch(/Epoch 1\/1 \[=+\] 10\/10 .*img\/s.*loss \d\.\d{4}  acc \d\.\d{4}  val_loss \d\.\d{4}  val_acc \d\.\d{4}/);
    expect(r.stdout).toMatch(/Test accuracy \d+\.\d\d%, loss \d\.\d{4} \(300 images\)/);
    expect(r.stdout).toMatch(/images\/s .*1 thread\(s\)/);
    expect(r.stdout).toContain(`Saved ${out}/model.json`);
  });

  it('evaluate reports the same test accuracy as training did', async () => {
    const r = await cli('evaluate', modelDir, '--data', MNIST_DIR, '--limit', '2000', '--json');
    expect(r.code).toBe(0);
    const [res] = jsonLines(r.stdout);
    const hist = JSON.parse(await readFile(join(modelDir, 'history.json'), 'utf8'));
    expect(res.images).toBe(2000);
    expect(res.testAccuracy).toBeCloseTo(hist.result.testAccuracy, 6);
    expect(res.testLoss).toBeCloseTo(hist.result.testLoss, 5);
    const text = await cli('evaluate', modelDir, '--data', MNIST_DIR, '--limit', '100');
    expect(text.stdout).toMatch(/^Test accuracy \d+\.\d\d%, loss \d\.\d{4} on 100 test images\n/);
  });

  it('predict: PNG digits (plain and inverted, upscaled) and IDX files', async () => {
    const { test } = await mnist();
    // Predictions straight from the IDX file, with its labels found beside it.
    const idx = await cli('predict', modelDir, join(MNIST_DIR, 't10k-images-idx3-ubyte.gz'), '--limit', '40', '--json');
    expect(idx.code).toBe(0);
    const [all] = jsonLines(idx.stdout);
    expect(all).toMatchObject({ kind: 'idx', count: 40, labels: Array.from(test.labels.subarray(0, 40)) });
    expect(all.accuracy).toBeGreaterThan(0.7);
    // PNGs of digits the model classifies right from the IDX data; the PNG path re-centres them.
    const picks = all.predicted.map((p: number, i: number) => (p === test.labels[i] ? i : -1)).filter((i: number) => i >= 0).slice(0, 6);
    expect(picks.length).toBe(6);
    let right = 0;
    for (const [k, i] of picks.entries()) {
      const img = test.images.subarray(i * 784, (i + 1) * 784);
      let png: Uint8Array;
      if (k % 2 === 0) png = encodePng(img, 28, 28);
      else {
        // Dark ink on white paper at twice the size, as a scan or a drawing would be.
        const big = new Uint8Array(56 * 56);
        for (let y = 0; y < 56; y++) for (let x = 0; x < 56; x++) big[y * 56 + x] = 255 - img[(y >> 1) * 28 + (x >> 1)]!;
        png = encodePng(big, 56, 56);
      }
      const file = join(work, `digit-${i}.png`);
      await writeFile(file, png);
      const r = await cli('predict', modelDir, file, '--json');
      expect(r.code).toBe(0);
      const [res] = jsonLines(r.stdout);
      expect(res.kind).toBe('png');
      expect(res.probabilities).toHaveLength(10);
      expect(res.probabilities.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 4);
      if (res.predicted === test.labels[i]) right++;
    }
    expect(right).toBeGreaterThanOrEqual(5);
    const text = await cli('predict', modelDir, join(work, `digit-${picks[0]}.png`));
    expect(text.stdout).toMatch(new RegExp(`digit-${picks[0]}\\.png: \\d \\(\\d+\\.\\d\\d%\\)\\n(  \\d  \\d\\.\\d{4}  █*(  ←)?\\n){10}$`));
    const one = await cli('predict', modelDir, join(MNIST_DIR, 't10k-images-idx3-ubyte.gz'), '--limit', '12');
    expect(one.stdout).toMatch(/12 images; predicted per class: 0:\d+ 1:\d+/);
    expect(one.stdout).toMatch(/accuracy against t10k-labels-idx1-ubyte\.gz: \d+\.\d\d% \(\d+\/12\)/);
  });

  it('user errors exit 1 with a message and no stack trace', async () => {
    const noModel = await cli('evaluate', join(work, 'nope'), '--data', MNIST_DIR);
    expect(noModel.code).toBe(1);
    expect(noModel.stderr).toMatch(/^simdcnn: no model at .*nope: expected a folder with model\.json/);
    const noFile = await cli('predict', modelDir, join(work, 'missing.png'));
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toBe(`simdcnn: ${join(work, 'missing.png')} does not exist\n`);
    const notImage = await cli('predict', modelDir, join(modelDir, 'model.json'));
    expect(notImage.code).toBe(1);
    expect(notImage.stderr).toContain('is neither a PNG image nor an IDX images file');
    await writeFile(join(work, 'broken.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]));
    const broken = await cli('predict', modelDir, join(work, 'broken.png'));
    expect(broken.code).toBe(1);
    // Missing data files are downloaded: point the mirror at a closed local port so it fails at once.
    const noData = await cliEnv({ SIMDCNN_MNIST_MIRROR: 'http://127.0.0.1:9/' }, 'evaluate', modelDir, '--data', join(work, 'empty'));
    expect(noData.code).toBe(1);
    expect(noData.stderr).toMatch(/^simdcnn: .*(127\.0\.0\.1|fetch|ECONNREFUSED)/m);
    for (const r of [noModel, noFile, notImage, broken, noData]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
