// The issue's accuracy bar for the layer zoo, end to end through the built command: the small
// ResNet (batch norm, residual adds) and the MobileNet-style network (depthwise-separable blocks)
// that `simdcnn train mnist --model resnet|mobilenet` trains, on the full real MNIST, 3 epochs at
// batch 32 with their learning-rate schedule, evaluated on the 10k test images. A wrong gradient,
// batch-norm statistic or fused inference step cannot reach these figures. The slowest tests of the
// suite (minutes each on two cores), so the timeouts are generous.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MNIST_DIR } from './helpers/mnist.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
let work: string;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it)`);
  work = await mkdtemp(join(tmpdir(), 'simdcnn-zoo-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

function train(model: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'train', 'mnist', '--model', model, '--data', MNIST_DIR, '--epochs', '3', '--seed', '1', '--json', '--out', join(work, model)],
      { maxBuffer: 1 << 24 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

describe('the layer zoo trains on MNIST to the issue\'s accuracy in 3 epochs', () => {
  for (const [model, bar] of [['resnet', 0.992], ['mobilenet', 0.99]] as const) {
    it(`${model}: ≥ ${(bar * 100).toFixed(1)}% test accuracy`, async () => {
      const r = await train(model);
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      const epochs = lines.filter((l) => 'epoch' in l), result = lines[lines.length - 1];
      console.log(`${model}: ${epochs.map((e) => `epoch ${e.epoch} val ${(e.valAccuracy * 100).toFixed(2)}%`).join(', ')}; test ${(result.testAccuracy * 100).toFixed(2)}% in ${result.seconds.toFixed(0)} s (${result.imagesPerSec.toFixed(0)} images/s)`);
      expect(epochs).toHaveLength(3);
      expect(result.testAccuracy).toBeGreaterThanOrEqual(bar);
      const history = JSON.parse(await readFile(join(work, model, 'history.json'), 'utf8'));
      expect(history.params.learningRates).toEqual([1e-3, 3e-4, 1e-4]);
    }, 45 * 60_000);
  }
});
