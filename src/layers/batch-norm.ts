// Keras/tfjs BatchNormalization. Training (fit) normalizes with the batch's mean and biased
// variance over every axis but `axis`, and moves the moving statistics towards them as tfjs does
// (moving ← moving − (moving − batch)·(1 − momentum), the biased batch variance: tfjs applies no
// n/(n−1) correction); predict/evaluate, and a layer with trainable: false even in fit (Keras 2+),
// use the moving statistics. Both are one per-channel affine pass y = x·a + b over x viewed as
// [outer, C, inner]. Weights in Keras order: gamma (scale), beta (center), moving_mean,
// moving_variance; the moving statistics are non-trainable weights (WeightSpec.trainable false).

import type { BnPlan, Buf, Kernels } from '../backend/kernels.js';
import { argError } from '../errors.js';
import { checkInitializer, initializerJson, type InitializerName } from './initializers.js';
import { Layer, sizeOfShape, type BaseLayerArgs, type LayerBuffers, type PlanIO, type StepContext } from './layer.js';

export interface BatchNormalizationArgs extends BaseLayerArgs {
  /** The normalized axis, counting the batch as axis 0: default −1 (the last, channels of NHWC). */
  axis?: number;
  momentum?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  betaInitializer?: InitializerName;
  gammaInitializer?: InitializerName;
  movingMeanInitializer?: InitializerName;
  movingVarianceInitializer?: InitializerName;
}

interface BnBuffers extends LayerBuffers {
  plan: BnPlan;
  /** [batch mean | batch variance] (training). */
  stats: Buf;
  /** [invStd | a | b] of this step's forward. */
  coef: Buf;
  /** The forward normalized with the batch's statistics (fit, layer trainable). */
  batchStats: boolean;
}

function checkBool(layer: string, arg: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw argError(layer, arg, v, 'a boolean');
  return v;
}

export class BatchNormalization extends Layer {
  readonly className = 'BatchNormalization';
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  readonly betaInitializer: InitializerName;
  readonly gammaInitializer: InitializerName;
  readonly movingMeanInitializer: InitializerName;
  readonly movingVarianceInitializer: InitializerName;

  constructor(args: BatchNormalizationArgs = {}) {
    super('batch_normalization', args ?? {});
    args ??= {};
    if (typeof args !== 'object') throw argError(this.name, 'args', args, 'an object like {axis: -1, momentum: 0.99}');
    const axis = args.axis ?? -1;
    if (typeof axis !== 'number' || !Number.isInteger(axis)) throw argError(this.name, 'axis', axis, 'an integer (−1: the last axis; the batch is axis 0)');
    this.axis = axis;
    const momentum = args.momentum ?? 0.99;
    if (typeof momentum !== 'number' || !(momentum >= 0 && momentum <= 1)) throw argError(this.name, 'momentum', momentum, 'a number in [0, 1]');
    this.momentum = momentum;
    const epsilon = args.epsilon ?? 1e-3;
    if (typeof epsilon !== 'number' || !(epsilon > 0) || !Number.isFinite(epsilon)) throw argError(this.name, 'epsilon', epsilon, 'a positive number');
    this.epsilon = epsilon;
    this.center = checkBool(this.name, 'center', args.center, true);
    this.scale = checkBool(this.name, 'scale', args.scale, true);
    this.betaInitializer = checkInitializer(this.name, 'betaInitializer', args.betaInitializer ?? 'zeros');
    this.gammaInitializer = checkInitializer(this.name, 'gammaInitializer', args.gammaInitializer ?? 'ones');
    this.movingMeanInitializer = checkInitializer(this.name, 'movingMeanInitializer', args.movingMeanInitializer ?? 'zeros');
    this.movingVarianceInitializer = checkInitializer(this.name, 'movingVarianceInitializer', args.movingVarianceInitializer ?? 'ones');
  }

  /** The axis in the per-example shape (0-based), validated against the input's rank. */
  private exampleAxis(inShape: number[]): number {
    const rank = inShape.length + 1;
    const a = this.axis < 0 ? this.axis + rank : this.axis;
    if (a === 0) throw argError(this.name, 'axis', this.axis, `a non-batch axis of the input [null,${inShape}] (the batch axis 0 cannot be normalized over)`);
    if (a < 0 || a >= rank) throw argError(this.name, 'axis', this.axis, `an axis in [${-rank + 1}, ${rank - 1}] for the input [null,${inShape}] (batch included), not 0`);
    return a - 1;
  }

  protected computeOutputShape(inShape: number[]): number[] {
    if (inShape.length < 1) throw argError(this.name, 'input shape', inShape, 'at least rank 1 (per example)');
    this.exampleAxis(inShape);
    return inShape.slice();
  }

  protected override weightShapes(inShape: number[]) {
    const C = inShape[this.exampleAxis(inShape)];
    const w: { name: string; shape: number[]; init: InitializerName; trainable?: boolean }[] = [];
    if (this.scale) w.push({ name: 'gamma', shape: [C], init: this.gammaInitializer });
    if (this.center) w.push({ name: 'beta', shape: [C], init: this.betaInitializer });
    w.push({ name: 'moving_mean', shape: [C], init: this.movingMeanInitializer, trainable: false });
    w.push({ name: 'moving_variance', shape: [C], init: this.movingVarianceInitializer, trainable: false });
    return w;
  }

  /** [outer per example, C, inner] of the input. */
  private geometry(): [number, number, number] {
    const a = this.exampleAxis(this.inShape);
    return [sizeOfShape(this.inShape.slice(0, a)), this.inShape[a], sizeOfShape(this.inShape.slice(a + 1))];
  }

  private index(name: string): number {
    return this.weights.findIndex((w) => w.name === name);
  }

  plan(k: Kernels, batch: number, training: boolean, io: PlanIO): BnBuffers {
    const [outer, C, inner] = this.geometry();
    const plan = k.bnPlan(batch * outer, C, inner);
    const stats = k.alloc(2 * C, `${this.name}/stats`);
    const coef = k.alloc(3 * C, `${this.name}/coef`);
    return {
      y: io.y, dx: io.dx, plan, stats, coef, batchStats: training,
      free: () => { plan.free(); k.free(stats); k.free(coef); },
    };
  }

  forward(ctx: StepContext, buf: LayerBuffers, x: Buf): void {
    const b = buf as BnBuffers;
    const k = ctx.k, C = b.plan.C;
    const gamma = this.scale ? this.param(ctx, this.index('gamma')) : undefined;
    const beta = this.center ? this.param(ctx, this.index('beta')) : undefined;
    const mm = this.param(ctx, this.index('moving_mean')), mv = this.param(ctx, this.index('moving_variance'));
    // Keras 2+: a frozen layer runs in inference mode even in fit (and its moving stats stay).
    b.batchStats = ctx.training && this.trainable;
    if (b.batchStats) {
      const mean = k.at(b.stats, 0), variance = k.at(b.stats, C);
      k.bnStats(b.plan, x, b.stats);
      k.bnCoeffs(C, mean, variance, gamma, beta, this.epsilon, b.coef);
      k.bnMovingUpdate(C, mean, this.momentum, mm);
      k.bnMovingUpdate(C, variance, this.momentum, mv);
    } else {
      k.bnCoeffs(C, mm, mv, gamma, beta, this.epsilon, b.coef);
    }
    k.bnAffine(b.plan, 'linear', x, b.coef, b.y!);
  }

  backward(ctx: StepContext, buf: LayerBuffers, x: Buf, dy: Buf): void {
    const b = buf as BnBuffers;
    const gamma = this.scale ? this.param(ctx, this.index('gamma')) : undefined;
    const mean = b.batchStats ? b.stats : this.param(ctx, this.index('moving_mean'));
    ctx.k.bnBackward(b.plan, b.batchStats, x, dy, mean, b.coef, gamma, b.dx,
      this.scale ? this.grad(ctx, this.index('gamma')) : undefined, this.center ? this.grad(ctx, this.index('beta')) : undefined);
  }

  override getConfig(): Record<string, unknown> {
    return {
      ...super.getConfig(), axis: this.axis, momentum: this.momentum, epsilon: this.epsilon, center: this.center, scale: this.scale,
      beta_initializer: initializerJson(this.betaInitializer), gamma_initializer: initializerJson(this.gammaInitializer),
      moving_mean_initializer: initializerJson(this.movingMeanInitializer),
      moving_variance_initializer: initializerJson(this.movingVarianceInitializer),
      beta_regularizer: null, gamma_regularizer: null, beta_constraint: null, gamma_constraint: null,
    };
  }
}

export const batchNormalization = (args?: BatchNormalizationArgs): BatchNormalization => new BatchNormalization(args);
