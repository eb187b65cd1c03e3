// Optimizer updates over flat parameter buffers in the heap, TensorFlow/Keras formulas:
//   SGD:       w −= lr·g
//   momentum:  v = μ·v − lr·g;  w += v                      (tf.keras.optimizers.SGD(momentum=μ))
//   Nesterov:  v = μ·v − lr·g;  w += μ·v − lr·g  (new v)    (… nesterov=True)
//   Adam:      m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
//              w −= lr_t·m / (√v + ε),  lr_t = lr·√(1−β2^t)/(1−β1^t)   (tf.keras.optimizers.Adam)
// Keras' ε sits outside the bias correction of v ("epsilon hat"); tfjs' AdamOptimizer puts it on
// the corrected v̂, which differs while 1−β2^t is small. Keras' velocity is −lr times tfjs'
// MomentumOptimizer accumulator; the weights agree for a constant learning rate.
//
// State: an optimizer allocates its slots once per variable with allocSlot(n) (zeroed), keeps the
// step counter t (1 for the first update, shared by all variables), and calls these per variable
// per step. Nothing here allocates.

import { miscKernels } from '../backend/kernels-misc.js';
import { parallelSlices } from '../backend/parallel.js';
import { runtime } from '../backend/runtime.js';

/**
 * Updates are elementwise, so they split over the threads by ranges of weights (same numbers on
 * any thread count); below this many weights one thread is quicker than a dispatch.
 */
const PARALLEL_MIN = 32768;
import { argError } from '../errors.js';

/** A zeroed n-float optimizer slot (velocity, Adam m or v) in the heap; release with freeSlot. */
export function allocSlot(n: number): number {
  const { heap } = runtime();
  const p = heap.alloc(n * 4);
  heap.f32.fill(0, p >>> 2, (p >>> 2) + n);
  return p;
}

export function freeSlot(ptr: number): void {
  runtime().heap.free(ptr);
}

/** w −= lr·g over n floats. */
export function sgdStep(n: number, w: number, g: number, lr: number): void {
  parallelSlices(n, PARALLEL_MIN, 4, (a, c) => ['sgdStep', c, w + a * 4, g + a * 4, lr], miscKernels().sgdStep);
}

/** v = μ·v − lr·g, then w += v (or, with nesterov, w += μ·v − lr·g). v: an allocSlot(n) slot. */
export function momentumStep(n: number, w: number, g: number, v: number, lr: number, momentum: number, nesterov = false): void {
  parallelSlices(n, PARALLEL_MIN, 4, (a, c) => ['momentumStep', c, w + a * 4, g + a * 4, v + a * 4, lr, momentum, nesterov ? 1 : 0],
    miscKernels().momentumStep);
}

/** lr_t = lr·√(1−β2^t)/(1−β1^t), in float64 (Keras computes the same in float32). */
export function adamLearningRate(lr: number, beta1: number, beta2: number, t: number): number {
  return (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
}

/**
 * Adam update number t (1, 2, …) of n weights w with gradient g and slots m, v (allocSlot(n),
 * zero before step 1). Every variable of one optimizer step uses the same t.
 */
export function adamStep(n: number, w: number, g: number, m: number, v: number, t: number,
  lr: number, beta1: number, beta2: number, epsilon: number): void {
  if (!Number.isInteger(t) || t < 1) throw argError('adamStep', 't', t, 'the 1-based step number (a positive integer)');
  const lrT = adamLearningRate(lr, beta1, beta2, t);
  parallelSlices(n, PARALLEL_MIN, 4, (a, c) => ['adamStep', c, w + a * 4, g + a * 4, m + a * 4, v + a * 4, lrT, beta1, beta2, epsilon],
    miscKernels().adamStep);
}

export interface SgdConfig { learningRate: number; momentum: number; nesterov: boolean }
export interface AdamConfig { learningRate: number; beta1: number; beta2: number; epsilon: number }

function finitePositive(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw argError(op, arg, v, 'a finite number > 0');
  return v;
}
function unitInterval(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw argError(op, arg, v, 'a number in [0, 1)');
  return v;
}

/** Validates SGD hyperparameters once (optimizer construction), filling Keras' defaults. */
export function sgdConfig(op: string, c: Partial<SgdConfig> = {}): SgdConfig {
  const learningRate = finitePositive(op, 'learningRate', c.learningRate ?? 0.01);
  const momentum = unitInterval(op, 'momentum', c.momentum ?? 0);
  if (c.nesterov !== undefined && typeof c.nesterov !== 'boolean') throw argError(op, 'nesterov', c.nesterov, 'a boolean');
  return { learningRate, momentum, nesterov: c.nesterov ?? false };
}

/** Validates Adam hyperparameters once, filling Keras' defaults (0.001, 0.9, 0.999, 1e-7). */
export function adamConfig(op: string, c: Partial<AdamConfig> = {}): AdamConfig {
  return {
    learningRate: finitePositive(op, 'learningRate', c.learningRate ?? 0.001),
    beta1: unitInterval(op, 'beta1', c.beta1 ?? 0.9),
    beta2: unitInterval(op, 'beta2', c.beta2 ?? 0.999),
    epsilon: finitePositive(op, 'epsilon', c.epsilon ?? 1e-7),
  };
}
