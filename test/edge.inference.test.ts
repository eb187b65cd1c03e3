// A model trained and saved in Node runs batch-1 inference unchanged in Deno, Bun and
// Cloudflare's workerd (the examples in examples/edge/, run as they are), and each runtime's
// probabilities match Node's. The runtimes come from the npm packages deno, bun and workerd;
// a missing binary fails the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layers, sequential, uint8Images } from '../src/index.js';
import { mnist } from './helpers/mnist.js';

const root = join(import.meta.dirname, '..');
const bin = (name: string) => {
  const p = join(root, 'node_modules', '.bin', name);
  if (!existsSync(p)) throw new Error(`${name} is not installed (npm ci installs the '${name}' devDependency)`);
  return p;
};

let dir: string;
let modelDir: string;
let digitFile: string;
let nodeProbs: number[];
let nodeLabel: number;
let trueLabel: number;

beforeAll(async () => {
  for (const f of ['dist/index.js', 'dist/browser/simdcnn.js', 'dist/wasm/simdcnn-simd.wasm']) {
    if (!existsSync(join(root, f))) throw new Error(`${f} is missing: run npm run build first (npm test does)`);
  }
  dir = mkdtempSync(join(tmpdir(), 'simdcnn-edge-'));
  const { train, test } = await mnist();
  const model = sequential({ seed: 5, layers: [
    layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }),
    layers.maxPooling2d({ poolSize: 2 }),
    layers.flatten(),
    layers.dense({ units: 10, activation: 'softmax' }),
  ] });
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  await model.fit(uint8Images(train.images.subarray(0, 2048 * 784), [28, 28, 1]), train.labels.subarray(0, 2048), { epochs: 1, batchSize: 32 });
  modelDir = join(dir, 'model');
  await model.save(modelDir);
  const pixels = test.images.subarray(0, 784);
  trueLabel = test.labels[0];
  digitFile = join(dir, 'digit.json');
  writeFileSync(digitFile, JSON.stringify({ pixels: Array.from(pixels) }));
  const y = model.predict(uint8Images(pixels.slice(), [28, 28, 1]));
  nodeProbs = Array.from(y.dataSync());
  nodeLabel = nodeProbs.indexOf(Math.max(...nodeProbs));
  y.dispose();
  model.dispose();
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function check(out: { label: number; probs: number[] }) {
  expect(out.label).toBe(nodeLabel);
  expect(out.label).toBe(trueLabel);
  expect(out.probs).toHaveLength(10);
  // Node runs the relaxed (FMA) build; others may run plain SIMD: same numbers up to rounding.
  for (let i = 0; i < 10; i++) expect(Math.abs(out.probs[i] - nodeProbs[i])).toBeLessThan(1e-5);
}

function run(cmd: string, args: string[], cwd: string) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 30_000, env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' } });
  const ms = performance.now() - t0;
  if (r.error) throw r.error;
  expect(r.status, `${cmd} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return { out: JSON.parse(r.stdout.trim().split('\n').at(-1)!), ms };
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer().once('error', fail).listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

describe('edge runtimes: batch-1 inference of a saved model matches Node', () => {
  it('Deno (examples/edge/deno, --allow-read only)', () => {
    const { out, ms } = run(bin('deno'), ['run', '--allow-read', 'main.ts', modelDir, digitFile], join(root, 'examples', 'edge', 'deno'));
    console.log(`${out.runtime}: label ${out.label} in ${ms.toFixed(0)} ms (process)`);
    expect(out.runtime).toMatch(/^deno /);
    check(out);
  });

  it('Bun (examples/edge/bun)', () => {
    const { out, ms } = run(bin('bun'), ['main.ts', modelDir, digitFile], join(root, 'examples', 'edge', 'bun'));
    console.log(`${out.runtime}: label ${out.label} in ${ms.toFixed(0)} ms (process)`);
    expect(out.runtime).toMatch(/^bun /);
    check(out);
  });

  it('workerd (examples/edge/workerd: config.capnp + worker.js as they are)', async () => {
    // The example's relative paths, reproduced in a scratch tree with this model in it.
    const w = join(dir, 'w');
    const ex = join(w, 'examples', 'edge', 'workerd');
    mkdirSync(join(w, 'dist', 'browser'), { recursive: true });
    mkdirSync(join(w, 'dist', 'wasm'), { recursive: true });
    cpSync(join(root, 'examples', 'edge', 'workerd'), ex, { recursive: true });
    cpSync(modelDir, join(ex, 'model'), { recursive: true });
    // The whole browser build as npm ships it; config.capnp names the modules workerd may load.
    cpSync(join(root, 'dist', 'browser'), join(w, 'dist', 'browser'), { recursive: true });
    copyFileSync(join(root, 'dist', 'wasm', 'simdcnn-simd.wasm'), join(w, 'dist', 'wasm', 'simdcnn-simd.wasm'));
    const port = await freePort();
    const t0 = performance.now();
    const child = spawn(bin('workerd'), ['serve', 'config.capnp', '--socket-addr', `http=127.0.0.1:${port}`], { cwd: ex, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    try {
      let res: Response | undefined;
      for (let i = 0; i < 200 && !res; i++) {
        if (child.exitCode !== null) throw new Error(`workerd exited with ${child.exitCode}:\n${log}`);
        res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: await import('node:fs').then((f) => f.readFileSync(digitFile, 'utf8')) }).catch(() => undefined);
        if (!res) await new Promise((r) => setTimeout(r, 50));
      }
      expect(res, log).toBeDefined();
      const out = await res!.json();
      expect(res!.status, JSON.stringify(out) + log).toBe(200);
      console.log(`${out.runtime}: label ${out.label} in ${(performance.now() - t0).toFixed(0)} ms (start + first request)`);
      expect(out.runtime).toBe('workerd');
      check(out);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
