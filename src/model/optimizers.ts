// Optimizers with tfjs' names and Keras' update rules, over the model's single flat parameter
// buffer: one kernel call per step updates every weight. State (velocity, moments) is allocated
// on the first step and freed by dispose().

import { argError } from '../errors.js';
import { adamStep, allocSlot, freeSlot, momentumStep, sgdStep } from '../ops/optim.js';

function checkRate(op: string, arg: string, v: unknown, max = Infinity, maxExcluded = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max || (maxExcluded && v === max)) {
    throw argError(op, arg, v, max === Infinity ? 'a finite number ≥ 0' : `a number in [0, ${max}${maxExcluded ? ')' : ']'}`);
  }
  return v;
}

export abstract class Optimizer {
  abstract readonly className: string;
  private lr = 0;
  /**
   * The step size, read at every step: assigning it between steps (as tfjs code does, e.g. from an
   * onEpochBegin callback for a schedule) changes the next step's, on every backend.
   */
  get learningRate(): number {
    return this.lr;
  }
  set learningRate(v: number) {
    this.lr = checkRate(`${this.className} optimizer`, 'learningRate', v);
  }
  /** Updates `n` weights at `w` with gradients at `g` (byte addresses). */
  abstract applyGradients(n: number, w: number, g: number): void;
  abstract getConfig(): Record<string, unknown>;
  /** Steps taken so far. */
  iterations = 0;
  protected state: number[] = [];
  private stateSize = 0;
  protected stateFor(n: number, slots: number): number[] {
    if (this.state.length === 0) {
      for (let i = 0; i < slots; i++) this.state.push(allocSlot(n));
      this.stateSize = n;
    } else if (n !== this.stateSize) {
      // A second model's step over slots sized for the first would write past them into the heap.
      throw new Error(`${this.className} optimizer: it holds state for ${this.stateSize} weights but was asked to update ${n}: one optimizer instance serves one model (give each model its own, e.g. train.adam())`);
    }
    return this.state;
  }
  dispose(): void {
    for (const p of this.state) freeSlot(p);
    this.state = [];
  }
}

export class SGDOptimizer extends Optimizer {
  readonly className = 'SGD';
  constructor(learningRate: number) {
    super();
    this.learningRate = checkRate('train.sgd', 'learningRate', learningRate);
  }
  applyGradients(n: number, w: number, g: number): void {
    sgdStep(n, w, g, this.learningRate);
    this.iterations++;
  }
  getConfig() {
    return { learningRate: this.learningRate };
  }
}

export class MomentumOptimizer extends Optimizer {
  readonly className = 'Momentum';
  constructor(learningRate: number, readonly momentum: number, readonly useNesterov = false) {
    super();
    this.learningRate = checkRate('train.momentum', 'learningRate', learningRate);
    checkRate('train.momentum', 'momentum', momentum, 1);
  }
  applyGradients(n: number, w: number, g: number): void {
    const [v] = this.stateFor(n, 1);
    momentumStep(n, w, g, v, this.learningRate, this.momentum, this.useNesterov);
    this.iterations++;
  }
  getConfig() {
    return { learningRate: this.learningRate, momentum: this.momentum, useNesterov: this.useNesterov };
  }
}

export class AdamOptimizer extends Optimizer {
  readonly className = 'Adam';
  constructor(learningRate = 0.001, readonly beta1 = 0.9, readonly beta2 = 0.999, readonly epsilon = 1e-7) {
    super();
    this.learningRate = checkRate('train.adam', 'learningRate', learningRate);
    // β = 1 would divide the bias correction by zero (β1) or freeze every step at zero (β2).
    checkRate('train.adam', 'beta1', beta1, 1, true);
    checkRate('train.adam', 'beta2', beta2, 1, true);
    checkRate('train.adam', 'epsilon', epsilon);
  }
  applyGradients(n: number, w: number, g: number): void {
    const [m, v] = this.stateFor(n, 2);
    // TensorFlow's ApplyAdam: the bias correction folds into the step size, epsilon outside the sqrt.
    adamStep(n, w, g, m, v, ++this.iterations, this.learningRate, this.beta1, this.beta2, this.epsilon);
  }
  getConfig() {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }
}

/** tf.train: optimizer factories with tfjs' signatures and defaults. */
export const train = {
  sgd: (learningRate: number) => new SGDOptimizer(learningRate),
  momentum: (learningRate: number, momentum: number, useNesterov = false) => new MomentumOptimizer(learningRate, momentum, useNesterov),
  adam: (learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7) => new AdamOptimizer(learningRate, beta1, beta2, epsilon),
};

/** compile()'s optimizer argument: an instance, or a name with tfjs' defaults. */
export function resolveOptimizer(v: unknown): Optimizer {
  if (v instanceof Optimizer) return v;
  if (v === 'adam') return train.adam();
  if (v === 'sgd') return train.sgd(0.01);
  if (v === 'momentum') return train.momentum(0.01, 0.9);
  throw argError('compile', 'optimizer', v, "'adam', 'sgd', 'momentum' or an optimizer from train.adam()/train.sgd()/train.momentum()");
}
