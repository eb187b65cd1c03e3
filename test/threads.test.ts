// The pool: results must not depend on the run (or, for our splits, the thread count), the pool
// must survive setThreads churn, and a Node script that used it must exit by itself.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { getThreads, matMul, maxPool, conv2d, relu, setThreads, tensor, tidy } from '../src/index.js';
import { randn } from './helpers/random.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function workload(): Float32Array[] {
  return tidy(() => {
    const a = tensor(randn(700 * 300, 1), [700, 300]), b = tensor(randn(300 * 130, 2), [300, 130]);
    const x = tensor(randn(16 * 20 * 20 * 8, 3), [16, 20, 20, 8]), w = tensor(randn(3 * 3 * 8 * 24, 4, 0.3), [3, 3, 8, 24]);
    const y = conv2d(x, w, 1, 'same');
    return [matMul(a, b), matMul(b, a, true, true), y, maxPool(y, 2, 2, 'valid'), relu(y)].map((t) => t.dataSync());
  });
}

describe('thread pool', () => {
  afterAll(() => setThreads(2));

  it('gives bit-identical results run to run, and equal to one thread', () => {
    setThreads(1);
    const one = workload();
    setThreads(2);
    expect(getThreads()).toBe(2);
    const twoA = workload(), twoB = workload();
    for (let i = 0; i < one.length; i++) {
      expect(Buffer.from(twoA[i].buffer).equals(Buffer.from(twoB[i].buffer))).toBe(true);
      expect(Buffer.from(twoA[i].buffer).equals(Buffer.from(one[i].buffer))).toBe(true);
    }
  });

  it('an idle pool stops using the CPU (workers poll ~2 ms after a job, then sleep)', async () => {
    setThreads(2);
    workload();
    await new Promise((r) => setTimeout(r, 50));
    const before = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 500));
    const used = process.cpuUsage(before);
    // A worker still polling would burn the whole 500 ms; sleeping workers (and an idle main
    // thread) use next to nothing.
    expect((used.user + used.system) / 1000).toBeLessThan(150);
  });

  it('splits weight-gradient GEMMs (huge K) by K: deterministic per thread count, equal to one thread within rounding', () => {
    const a = tensor(randn(4000 * 40, 7), [4000, 40]), b = tensor(randn(4000 * 24, 8), [4000, 24]);
    setThreads(1);
    const one = matMul(a, b, true, false).dataSync();
    setThreads(2);
    const x = matMul(a, b, true, false).dataSync(), y = matMul(a, b, true, false).dataSync();
    expect(Buffer.from(x.buffer).equals(Buffer.from(y.buffer))).toBe(true);
    let worst = 0;
    for (let i = 0; i < one.length; i++) worst = Math.max(worst, Math.abs(x[i] - one[i]) / (1 + Math.abs(one[i])));
    expect(worst).toBeLessThan(1e-4);
    a.dispose(); b.dispose();
  });

  it('survives many jobs and setThreads churn', () => {
    const a = tensor(randn(120 * 90, 5), [120, 90]), b = tensor(randn(90 * 64, 6), [90, 64]);
    setThreads(1);
    const want = matMul(a, b).dataSync();
    for (const n of [2, 1, 2, 2, 3, 2]) {
      setThreads(n);
      for (let i = 0; i < 200; i++) {
        const c = matMul(a, b);
        if (i % 50 === 0) expect(Buffer.from(c.dataSync().buffer).equals(Buffer.from(want.buffer))).toBe(true);
        c.dispose();
      }
    }
    a.dispose(); b.dispose();
  });

  it('rejects a bad thread count', () => {
    expect(() => setThreads(0)).toThrow(/setThreads: n must be an integer in \[1, 64\], got 0/);
    expect(() => setThreads(1.5)).toThrow(/got 1.5/);
  });

  it('lets a Node script that used the pool exit on its own', () => {
    const dist = `${root}dist/index.js`;
    expect(existsSync(dist), 'dist/index.js is missing: run `npm run build` (npm test does)').toBe(true);
    const script = `import('${dist}').then((s) => { s.setThreads(2); const a = s.tensor(new Float32Array(256 * 256).fill(1), [256, 256]); const c = s.matMul(a, a); console.log('threads', s.getThreads(), c.dataSync()[0]); });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 });
    expect(r.error, 'the process did not exit within 30 s').toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('threads 2 256');
  });
});
