// `simdcnn bench MODEL`: the argument parsing, and the built command end to end (node dist/cli.js,
// as test/cli.test.ts runs it) on tiny saved models — its report's fields and their relations, the
// JSON form, and the exit codes and messages of bad input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_BENCH_BATCH, DEFAULT_BENCH_SECONDS, USAGE, UsageError, parseArgs } from '../src/cli/args.js';
import * as sc from '../src/index.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

interface Run { code: number; stdout: string; stderr: string }

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, SIMDCNN_DEBUG: '' }, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

function usageError(argv: string[]): UsageError {
  try {
    parseArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error(`expected a UsageError for ${JSON.stringify(argv)}`);
}

let work: string;
let convDir: string, twoInDir: string;
let convParams: number;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does it)`);
  work = await mkdtemp(join(tmpdir(), 'simdcnn-cli-bench-'));
  convDir = join(work, 'conv');
  const conv = sc.sequential({ seed: 3, layers: [
    sc.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 1] }),
    sc.layers.flatten(),
    sc.layers.dense({ units: 3, activation: 'softmax' }),
  ] });
  convParams = conv.countParams();
  await conv.save(`file://${convDir}`);
  conv.dispose();
  // Two inputs of different shapes: bench must make one random tensor per input.
  twoInDir = join(work, 'two-in');
  const a = sc.input({ shape: [6], name: 'in_a' }), b = sc.input({ shape: [4], name: 'in_b' });
  const merged = sc.layers.concatenate().apply([sc.layers.dense({ units: 5 }).apply(a), sc.layers.dense({ units: 5 }).apply(b)]);
  const two = sc.model({ inputs: [a, b], outputs: sc.layers.dense({ units: 2, activation: 'softmax' }).apply(merged) as sc.SymbolicTensor, seed: 4 });
  await two.save(`file://${twoInDir}`);
  two.dispose();
  await mkdir(join(work, 'empty'));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('parseArgs bench', () => {
  it('takes MODEL, --batch, --seconds, --threads, --backend and --json, with defaults', () => {
    expect(parseArgs(['bench', 'm'])).toEqual({ command: 'bench', model: 'm', batch: DEFAULT_BENCH_BATCH, seconds: DEFAULT_BENCH_SECONDS, json: false, backend: 'auto' });
    expect([DEFAULT_BENCH_BATCH, DEFAULT_BENCH_SECONDS]).toEqual([1, 3]);
    expect(parseArgs(['bench', 'dir/model.json', '--batch', '8', '--seconds=0.5', '--threads', '2', '--json', '--backend', 'wasm'])).toEqual({
      command: 'bench', model: 'dir/model.json', batch: 8, seconds: 0.5, threads: 2, json: true, backend: 'wasm',
    });
    expect(parseArgs(['bench', 'm', '--seconds', '.25'])).toMatchObject({ seconds: 0.25 });
  });

  it('rejects bad values and flags of other commands, naming the flag, the value and what is expected', () => {
    expect(usageError(['bench', 'm', '--batch', '0']).message).toBe('--batch: got "0", expected an integer from 1 to 65536');
    expect(usageError(['bench', 'm', '--seconds', '0']).message).toBe('--seconds: got "0", expected a number from 0.1 to 3600');
    expect(usageError(['bench', 'm', '--seconds', '1e3']).message).toBe('--seconds: got "1e3", expected a number from 0.1 to 3600');
    expect(usageError(['bench', 'm', '--seconds', '-1']).message).toBe('--seconds: got "-1", expected a number from 0.1 to 3600');
    expect(usageError(['bench', 'm', '--batch-size', '8']).message).toBe('--batch-size does not apply to bench (it is for train, evaluate, predict)');
    expect(usageError(['bench', 'm', '--limit', '8']).message).toBe('--limit does not apply to bench (it is for train, evaluate, predict)');
    expect(usageError(['predict', 'm', 'f', '--batch', '8']).message).toBe('--batch does not apply to predict (it is for bench)');
    expect(usageError(['bench']).message).toBe('bench: missing MODEL; usage: simdcnn bench MODEL');
    expect(usageError(['bench', 'a', 'b']).message).toBe('bench: unexpected argument "b"; usage: simdcnn bench MODEL');
  });

  it('is in the help text', () => {
    expect(USAGE).toContain('simdcnn bench MODEL [--batch N] [--seconds S]');
    for (const f of ['--batch N', '--seconds S']) expect(USAGE).toContain(f);
  });
});

describe('simdcnn bench (built CLI)', () => {
  it('times a saved model: latency median ≤ p90, positive throughput, the model, batch, threads and wasm build', async () => {
    const r = await cli('bench', convDir, '--seconds', '0.3', '--threads', '1', '--batch', '2');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(new RegExp(`^Model \\S+: 3 layers, ${convParams.toLocaleString('en-US')} parameters, input \\[2, 8, 8, 1\\]$`));
    expect(lines[1]).toMatch(/^wasm (simd|relaxed), 1 thread\(s\), batch 2$/);
    const lat = /^Latency: median ([\d.]+) ms, p90 ([\d.]+) ms, min ([\d.]+) ms \((\d+) calls in ([\d.]+) s, after (\d+) warm-up calls?\)$/.exec(lines[2]!);
    expect(lat, lines[2]).not.toBeNull();
    const [median, p90, min, calls, , warm] = lat!.slice(1).map(Number) as number[];
    expect(median).toBeGreaterThan(0);
    expect(p90).toBeGreaterThanOrEqual(median!);
    expect(min).toBeLessThanOrEqual(median!);
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(warm).toBeGreaterThanOrEqual(1);
    expect(lines[3]).toMatch(/^Throughput: [\d,.]+ images\/s$/);
    expect(Number(lines[3]!.replace(/[^\d.]/g, ''))).toBeGreaterThan(0);
    // The status line goes to stderr (here a pipe: plain lines), never into the report.
    expect(r.stderr).toMatch(/Benchmarking \S+, batch 2, 1 thread\(s\) \[=+\] [\d.]+\/0\.3 s  \d+ calls  median [\d.]+ ms  [\d,]+ img\/s\n$/);
  });

  it('--json: one object with the fields, from a model.json path', async () => {
    const r = await cli('bench', join(convDir, 'model.json'), '--seconds', '0.3', '--batch', '4', '--threads', '1', '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const res = JSON.parse(lines[0]!);
    expect(Object.keys(res).sort()).toEqual(['backend', 'batch', 'calls', 'imagesPerSec', 'inputShapes', 'layers', 'meanMs', 'medianMs', 'minMs', 'model',
      'p90Ms', 'params', 'path', 'seconds', 'threads', 'wasm', 'warmupCalls'].sort());
    expect(res).toMatchObject({ params: convParams, layers: 3, batch: 4, threads: 1, backend: 'wasm', inputShapes: [[4, 8, 8, 1]], path: join(convDir, 'model.json') });
    expect(res.wasm).toMatch(/^(simd|relaxed)$/);
    expect(typeof res.model).toBe('string');
    expect(res.calls).toBeGreaterThanOrEqual(1);
    expect(res.medianMs).toBeGreaterThan(0);
    expect(res.p90Ms).toBeGreaterThanOrEqual(res.medianMs);
    expect(res.minMs).toBeLessThanOrEqual(res.medianMs);
    expect(res.meanMs).toBeGreaterThanOrEqual(res.minMs);
    expect(res.seconds).toBeGreaterThanOrEqual(0.3);
    // Sustained throughput: every timed image over the timed span, which holds the calls' own time.
    expect(res.imagesPerSec).toBeGreaterThan(0);
    expect(res.imagesPerSec).toBeLessThanOrEqual((4 / (res.minMs / 1000)) * (1 + 1e-9));
  });

  it('an .onnx file: its own (NCHW) input shape at --batch', async () => {
    const onnx = fileURLToPath(new URL('./fixtures/onnx/resnet_basic.onnx', import.meta.url));
    const r = await cli('bench', onnx, '--seconds', '0.2', '--batch', '2', '--threads', '1', '--json');
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout.trim());
    expect(res.path).toBe(onnx);
    expect(res.inputShapes).toHaveLength(1);
    expect(res.inputShapes[0][0]).toBe(2);
    expect(res.inputShapes[0][1]).toBe(3);
    expect(res.medianMs).toBeGreaterThan(0);
  });

  it('makes one random input per model input', async () => {
    const r = await cli('bench', twoInDir, '--seconds', '0.2', '--batch', '3', '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).inputShapes).toEqual([[3, 6], [3, 4]]);
  });

  it('bad input: named errors and a non-zero exit, no stack trace', async () => {
    const missing = await cli('bench');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^simdcnn: bench: missing MODEL; usage: simdcnn bench MODEL\n/);
    expect(missing.stderr).toContain('Usage:\n');
    const nowhere = await cli('bench', join(work, 'nope'));
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toBe(`simdcnn: no model at ${join(work, 'nope')}: expected a TensorFlow.js layers model folder (model.json + its weights), the path of its model.json, or an .onnx file\n`);
    const empty = await cli('bench', join(work, 'empty'));
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe(`simdcnn: ${join(work, 'empty')} has no model.json: expected a TensorFlow.js layers model folder (model.json + its weights), the path of its model.json, or an .onnx file\n`);
    const zero = await cli('bench', convDir, '--batch', '0');
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/^simdcnn: --batch: got "0", expected an integer from 1 to 65536\n/);
    const unknown = await cli('bench', convDir, '--iterations', '5');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^simdcnn: unknown option --iterations; expected one of /);
    for (const r of [missing, nowhere, empty, zero, unknown]) {
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
