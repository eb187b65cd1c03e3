// Weight initializers with Keras/tfjs names and defaults (glorotUniform kernels, zero biases).
// All draw from the model's seeded RNG so that a seed reproduces the weights bit for bit.

import type { Rng } from '../data/batches.js';
import { argError } from '../errors.js';

export type InitializerName = 'glorotUniform' | 'glorotNormal' | 'heUniform' | 'heNormal' | 'leCunUniform' |
  'leCunNormal' | 'zeros' | 'ones' | 'randomUniform' | 'randomNormal';

export const INITIALIZERS: readonly InitializerName[] = ['glorotUniform', 'glorotNormal', 'heUniform', 'heNormal',
  'leCunUniform', 'leCunNormal', 'zeros', 'ones', 'randomUniform', 'randomNormal'];

/** Keras class names, for model.json. */
const CLASS_NAMES: Record<InitializerName, string> = {
  glorotUniform: 'GlorotUniform', glorotNormal: 'GlorotNormal', heUniform: 'HeUniform', heNormal: 'HeNormal',
  leCunUniform: 'LeCunUniform', leCunNormal: 'LeCunNormal', zeros: 'Zeros', ones: 'Ones',
  randomUniform: 'RandomUniform', randomNormal: 'RandomNormal',
};

export function checkInitializer(layer: string, arg: string, v: unknown): InitializerName {
  if (typeof v === 'string' && (INITIALIZERS as readonly string[]).includes(v)) return v as InitializerName;
  const fromClass = Object.entries(CLASS_NAMES).find(([, c]) => c === v)?.[0];
  if (fromClass) return fromClass as InitializerName;
  throw argError(layer, arg, v, `one of ${INITIALIZERS.map((i) => `'${i}'`).join(', ')}`);
}

export function initializerJson(name: InitializerName): { class_name: string; config: Record<string, unknown> } {
  const config: Record<string, unknown> = name === 'zeros' || name === 'ones' ? {} : { seed: null };
  if (name === 'randomUniform') Object.assign(config, { minval: -0.05, maxval: 0.05 });
  if (name === 'randomNormal') Object.assign(config, { mean: 0, stddev: 0.05 });
  if (name.startsWith('glorot') || name.startsWith('he') || name.startsWith('leCun')) {
    Object.assign(config, {
      scale: name.startsWith('glorot') || name.startsWith('leCun') ? 1 : 2,
      mode: name.startsWith('glorot') ? 'fan_avg' : 'fan_in',
      distribution: name.endsWith('Uniform') ? 'uniform' : 'truncated_normal',
    });
  }
  return { class_name: CLASS_NAMES[name], config };
}

/** Keras' fans: for a conv kernel [kh, kw, in, out], fanIn = kh*kw*in and fanOut = kh*kw*out. */
export function fans(shape: number[]): [number, number] {
  if (shape.length === 1) return [shape[0], shape[0]];
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [shape[shape.length - 2] * receptive, shape[shape.length - 1] * receptive];
}

function truncatedNormal(rng: Rng, std: number): number {
  for (;;) {
    const z = rng.nextNormal();
    if (Math.abs(z) <= 2) return z * std;
  }
}

export function initialize(name: InitializerName, shape: number[], rng: Rng, out: Float32Array): void {
  const [fanIn, fanOut] = fans(shape);
  const variance = (scale: number, fan: number) => scale / Math.max(1, fan);
  switch (name) {
    case 'zeros': out.fill(0); return;
    case 'ones': out.fill(1); return;
    case 'randomUniform': for (let i = 0; i < out.length; i++) out[i] = -0.05 + 0.1 * rng.nextFloat(); return;
    case 'randomNormal': for (let i = 0; i < out.length; i++) out[i] = 0.05 * rng.nextNormal(); return;
  }
  const fan = name.startsWith('glorot') ? (fanIn + fanOut) / 2 : fanIn;
  const v = variance(name.startsWith('he') ? 2 : 1, fan);
  if (name.endsWith('Uniform')) {
    const limit = Math.sqrt(3 * v);
    for (let i = 0; i < out.length; i++) out[i] = (2 * rng.nextFloat() - 1) * limit;
  } else {
    // Keras' truncated normal: std corrected for the truncation at 2σ.
    const std = Math.sqrt(v) / 0.87962566103423978;
    for (let i = 0; i < out.length; i++) out[i] = truncatedNormal(rng, std);
  }
}
