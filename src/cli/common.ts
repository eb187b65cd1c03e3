// What the CLI commands share: where output goes, backend/thread setup, the data and model
// loading with the checks a command line needs, and user errors (printed without a stack).

import { existsSync } from 'node:fs';
import { getThreads, setThreads, wasmVariant } from '../backend/runtime.js';
import { backend as activeBackend, setBackend } from '../backend/backend.js';
import { loadMnist, type LoadedSets } from '../data/mnist-node.js';
import type { LayersModel } from '../model/layers-model.js';
import { loadLayersModel } from '../model/save-load.js';
import type { ImageSet } from '../data/mnist.js';
import type { Backend } from './args.js';

/** A mistake in what the user asked for that is not a usage error: printed as is, exit 1. */
export class CliError extends Error {
  override name = 'CliError';
}

/** Like UsageError (exit 2) but without printing the whole usage text. */
export class BadOptionError extends Error {
  override name = 'BadOptionError';
}

export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  /** The stream progress bars draw on (isTTY decides redraw vs plain lines). */
  progressStream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Where a status line goes that must stay out of the results on stdout (bench's); default progressStream. */
  statusStream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export const nodeIO = (): CliIO => ({
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
  progressStream: process.stdout,
  statusStream: process.stderr,
});

/** One JSON object per line. */
export const jsonLine = (io: CliIO, obj: Record<string, unknown>) => io.out(JSON.stringify(obj));

/**
 * Applies --backend and --threads; returns what runs, for the reports (`label`: 'wasm relaxed' or
 * 'webgpu on <adapter description>'). In Node, auto means wasm.
 */
export async function setupBackend(opts: { backend: Backend; threads?: number }): Promise<{ threads: number; wasm: string; backend: string; label: string }> {
  if (opts.threads !== undefined) setThreads(opts.threads);
  let name: string;
  try {
    name = await setBackend(opts.backend);
  } catch (e) {
    throw new CliError(`--backend ${opts.backend}: ${(e as Error).message}`);
  }
  const wasm = wasmVariant();
  return { threads: getThreads(), wasm, backend: name, label: name === 'webgpu' ? `webgpu on ${activeBackend().description}` : `wasm ${wasm}` };
}

/** MNIST from --data / $SIMDCNN_DATA / the cache (downloading), cut to --limit images per set. */
export async function mnistData(dir: string | undefined, limit: number | undefined): Promise<LoadedSets> {
  const sets = await loadMnist(dir !== undefined ? { dir } : {});
  const cut = (s: ImageSet): ImageSet => {
    if (limit === undefined || limit >= s.count) return s;
    return { ...s, count: limit, images: s.images.subarray(0, limit * s.height * s.width), labels: s.labels.subarray(0, limit) };
  };
  return { ...sets, train: cut(sets.train), test: cut(sets.test) };
}

export async function loadModel(dir: string): Promise<LayersModel> {
  if (!existsSync(dir)) throw new CliError(`no model at ${dir}: expected a folder with model.json and weights.bin (made by simdcnn train or tfjs' model.save)`);
  return loadLayersModel(dir);
}

/** The model must take 28×28×1 images (MNIST) for evaluate/predict. */
export function checkMnistInput(model: LayersModel, dir: string): void {
  const s = model.inputShape;
  if (s.join() !== '28,28,1') {
    throw new CliError(`the model in ${dir} takes inputs of shape [${s}], but MNIST digits are [28, 28, 1]`);
  }
  const out = model.outputShape;
  if (out.join() !== '10') throw new CliError(`the model in ${dir} outputs shape [${out}], but MNIST has 10 classes`);
}

export const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
export const rate = (images: number, seconds: number) => (seconds > 0 ? images / seconds : 0);
export const fmtRate = (r: number) => Math.round(r).toLocaleString('en-US');
