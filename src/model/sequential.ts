// tf.sequential: a stack of layers trained with one flat parameter buffer, one flat gradient
// buffer and per-batch-size buffer plans, so a training step allocates nothing.

import { getThreads, runtime } from '../backend/runtime.js';
import { createRng, range, shuffle, type Rng } from '../data/batches.js';
import { argError, assertPositiveInt } from '../errors.js';
import { initialize } from '../layers/initializers.js';
import { Layer, sizeOfShape, type LayerBuffers, type StepContext } from '../layers/layer.js';
import { Activation, ALIAS, Dropout } from '../layers/reshaping.js';
import { Dense } from '../layers/dense.js';
import { Conv2D } from '../layers/conv2d.js';
import { MaxPooling2D } from '../layers/pooling.js';
import { allocTensor, scalar, Tensor } from '../tensor.js';
import { toExamples, toLabels, type Examples, type Labels, type XInput, type YInput } from './examples.js';
import { History, type Callbacks, type Logs } from './history.js';
import { batchLoss, resolveLoss, type LossName } from './losses.js';
import { firstNonFinite } from '../ops/loss.js';
import { Optimizer, resolveOptimizer } from './optimizers.js';
import { summaryLines } from './summary.js';
import { globalSeed } from './seed.js';
import { saveModel, type IOHandler, type SaveResult } from './save-load.js';
import { activeGpu, backendReady, loadedGpuModule } from '../backend/backend.js';
import type { ModelView } from '../webgpu/model-runner.js';
import { exportOnnx, type OnnxExportOptions } from '../export/onnx.js';

interface Plan {
  batch: number;
  training: boolean;
  x: number;
  labels: number;
  grad: number;
  stats: number;
  bufs: LayerBuffers[];
  /** Activation addresses: acts[0] = x, acts[i+1] = output of layer i. */
  acts: number[];
}

export interface CompileArgs {
  optimizer: string | Optimizer;
  loss: string;
  metrics?: string[];
}

export interface FitArgs {
  epochs?: number;
  batchSize?: number;
  validationData?: [XInput, YInput];
  validationSplit?: number;
  shuffle?: boolean;
  callbacks?: Callbacks;
  verbose?: 0 | 1;
  initialEpoch?: number;
  /** Milliseconds between yields to the event loop (keeps pages and progress bars live). */
  yieldEvery?: number;
}

const METRIC_NAMES = ['accuracy', 'acc'];
/** Buffer plans kept per model (least recently used dropped first). */
const MAX_PLANS = 6;

export class Sequential {
  readonly name: string;
  readonly layers: Layer[] = [];
  /** The seed used for initialization, shuffling and dropout. */
  readonly seed: number;
  private rng: Rng;
  private params = 0;
  private grads = 0;
  private paramCount = 0;
  private plans = new Map<string, Plan>();
  /**
   * @internal Run a convolution and the max pooling after it as one fused pass (bit-identical to
   * running them apart; tests turn it off to check exactly that).
   */
  fuseLayers = true;
  private optimizer?: Optimizer;
  private lossName?: LossName;
  private metrics: string[] = [];
  private disposed = false;
  /** Set by callbacks (as in tfjs) to end fit() after the current batch. */
  stopTraining = false;

  constructor(args: { layers?: Layer[]; name?: string; seed?: number } = {}) {
    this.name = args.name ?? 'sequential';
    const seed = args.seed ?? globalSeed() ?? Math.floor(Math.random() * 2 ** 32);
    if (!Number.isFinite(seed)) throw argError('sequential', 'seed', seed, 'a finite number');
    this.seed = seed;
    this.rng = createRng(seed);
    for (const l of args.layers ?? []) this.add(l);
  }

  add(layer: Layer): void {
    this.checkAlive('add');
    if (!(layer instanceof Layer)) throw argError('sequential.add', 'layer', layer, 'a layer from layers.*');
    if (this.params) throw new Error(`sequential.add: the model '${this.name}' is already built; add layers before compile/fit/predict`);
    if (this.layers.length === 0 && !layer.declaredInputShape) {
      throw new Error(`sequential.add: the first layer (${layer.name}) needs an inputShape, e.g. {inputShape: [28, 28, 1]}`);
    }
    if (this.layers.includes(layer)) throw new Error(`sequential.add: layer ${layer.name} is already in the model`);
    this.layers.push(layer);
  }

  private checkAlive(op: string): void {
    if (this.disposed) throw new Error(`${op}: the model '${this.name}' was disposed`);
  }

  get inputShape(): number[] {
    if (this.layers.length === 0) throw new Error(`model '${this.name}' has no layers`);
    return this.layers[0].declaredInputShape!;
  }
  get outputShape(): number[] {
    this.build();
    return this.layers[this.layers.length - 1].outShape;
  }

  /** Computes shapes, lays out the flat parameter buffer and initializes the weights (once). */
  build(): void {
    this.checkAlive('build');
    if (this.params) return;
    if (this.layers.length === 0) throw new Error(`model '${this.name}' has no layers: add some before building`);
    let shape = this.inputShape;
    let offset = 0;
    for (const l of this.layers) {
      if (l.declaredInputShape && l !== this.layers[0] && l.declaredInputShape.join() !== shape.join()) {
        throw new Error(`${l.name}: inputShape [${l.declaredInputShape}] does not match the previous layer's output [${shape}]`);
      }
      l.build(shape);
      for (const w of l.weights) {
        w.offset = offset;
        // Keep every weight 16-float aligned so SIMD loads of a bias or kernel start on a cache line.
        offset += Math.ceil(sizeOfShape(w.shape) / 16) * 16;
      }
      if (l instanceof Dropout) l.rng = this.rng;
      shape = l.outShape;
    }
    this.paramCount = offset;
    const heap = runtime().heap;
    this.params = heap.alloc(Math.max(1, offset) * 4);
    this.grads = heap.alloc(Math.max(1, offset) * 4);
    heap.f32.fill(0, this.params >>> 2, (this.params >>> 2) + offset);
    heap.f32.fill(0, this.grads >>> 2, (this.grads >>> 2) + offset);
    for (const l of this.layers) {
      for (const w of l.weights) {
        const n = sizeOfShape(w.shape);
        const values = new Float32Array(n);
        initialize(w.init, w.shape, this.rng, values);
        heap.f32.set(values, (this.params >>> 2) + w.offset);
      }
    }
  }

  compile(args: CompileArgs): void {
    this.checkAlive('compile');
    if (!args || typeof args !== 'object') throw argError('compile', 'args', args, "an object like {optimizer: 'adam', loss: 'sparseCategoricalCrossentropy'}");
    this.build();
    const optimizer = resolveOptimizer(args.optimizer);
    const loss = resolveLoss(args.loss);
    const metrics = args.metrics ?? [];
    if (!Array.isArray(metrics) || metrics.some((m) => !METRIC_NAMES.includes(m))) {
      throw argError('compile', 'metrics', metrics, "an array of 'accuracy' (the one metric supported)");
    }
    this.optimizer?.dispose();
    this.optimizer = optimizer;
    this.lossName = loss;
    this.metrics = metrics.length ? ['acc'] : [];
    // Softmax output + cross-entropy: the loss kernel applies the softmax (fused, stable).
    const last = this.layers[this.layers.length - 1];
    const fuse = loss !== 'meanSquaredError' && (last instanceof Dense || last instanceof Activation) && last.activation === 'softmax';
    for (const l of this.layers) if (l instanceof Dense || l instanceof Activation) l.fusedSoftmax = false;
    if (fuse) (last as Dense | Activation).fusedSoftmax = true;
    this.freePlans();
  }

  private get fused(): boolean {
    const last = this.layers[this.layers.length - 1] as Dense | Activation;
    return 'fusedSoftmax' in last && last.fusedSoftmax;
  }

  private plan(batch: number, training: boolean): Plan {
    // Conv layers size their per-thread scratch for the current thread count.
    const key = `${batch}:${training}:${getThreads()}`;
    let p = this.plans.get(key);
    if (p) {
      // Most recently used last, so eviction below drops the stalest plan.
      this.plans.delete(key);
      this.plans.set(key, p);
      return p;
    }
    this.build();
    const heap = runtime().heap;
    // A fit uses two or three plans (batch, last partial batch, validation); predict on many
    // different batch sizes must not keep a plan for each.
    while (this.plans.size >= MAX_PLANS) {
      const [oldest, old] = this.plans.entries().next().value as [string, Plan];
      this.freePlan(old);
      this.plans.delete(oldest);
    }
    // Which convolutions take over the max pooling after them (see Conv2D.pooledBy).
    this.layers.forEach((l, i) => {
      if (l instanceof Conv2D) {
        const next = this.layers[i + 1];
        l.pooledBy = next instanceof MaxPooling2D ? next : undefined;
      }
    });
    const bufs = this.layers.map((l, i) => l.plan(batch, training && i > 0, training));
    const out = sizeOfShape(this.outputShape);
    p = {
      batch, training, bufs, acts: new Array(this.layers.length + 1).fill(0),
      x: heap.alloc(batch * sizeOfShape(this.inputShape) * 4),
      labels: heap.alloc(batch * out * 4),
      grad: training ? heap.alloc(batch * out * 4) : 0,
      stats: heap.alloc(64),
    };
    this.plans.set(key, p);
    return p;
  }

  private freePlan(p: Plan): void {
    const heap = runtime().heap;
    for (const b of p.bufs) b.free();
    for (const ptr of [p.x, p.labels, p.grad, p.stats]) if (ptr) heap.free(ptr);
  }

  private freePlans(): void {
    for (const p of this.plans.values()) this.freePlan(p);
    this.plans.clear();
  }

  private ctx(batch: number, training: boolean, logits: boolean): StepContext {
    return { params: this.params, grads: this.grads, batch, training, logits };
  }

  /**
   * Runs the layers on plan.x; returns the output address. A convolution followed by a max pooling
   * runs as one fused pass (fuse = false runs them apart: predictLayers needs the convolution's
   * own output); backward must be told the same.
   */
  private forward(p: Plan, ctx: StepContext, fuse = this.fuseLayers): number {
    let a = p.x;
    p.acts[0] = a;
    for (let i = 0; i < this.layers.length; i++) {
      const b = p.bufs[i], l = this.layers[i];
      if (fuse && l instanceof Conv2D && l.fusesPool(b)) {
        const pb = p.bufs[i + 1];
        l.forwardPooled(ctx, b, a, pb);
        p.acts[i + 1] = b.y; // not written by the fused pass
        a = pb.y;
        p.acts[i + 2] = a;
        i++;
        continue;
      }
      l.forward(ctx, b, a);
      if (b.y !== ALIAS) a = b.y;
      p.acts[i + 1] = a;
    }
    return a;
  }

  private backward(p: Plan, ctx: StepContext, fuse = this.fuseLayers): void {
    let dy = p.grad;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const below = i > 0 ? this.layers[i - 1] : undefined;
      if (fuse && below instanceof Conv2D && below.fusesPool(p.bufs[i - 1])) {
        // Layer i is the pooling the convolution below fused: both go back in one pass.
        const cb = p.bufs[i - 1];
        below.backwardPooled(ctx, cb, p.acts[i - 1], dy, p.bufs[i]);
        i--;
        if (i > 0 && cb.dx !== ALIAS) dy = cb.dx;
        continue;
      }
      const b = p.bufs[i];
      this.layers[i].backward(ctx, b, p.acts[i], dy);
      if (i > 0 && b.dx !== ALIAS) dy = b.dx;
    }
  }

  /** One optimizer step on examples idx[start..start+n). Returns the batch's summed loss and correct count. */
  private trainStep(x: Examples, y: Labels, idx: Int32Array, start: number, n: number) {
    const r = this.gradientStep(x, y, idx, start, n);
    // Layers with trainable: false stay as they are (Keras): zero gradients keep them out of the
    // optimizer's state, and restoring their weights undoes momentum gathered before the freeze.
    const frozen = this.layers.some((l) => !l.trainable) ? this.frozenWeights() : undefined;
    this.optimizer!.applyGradients(this.paramCount, this.params, this.grads);
    if (frozen) for (const { at, values } of frozen) runtime().heap.f32.set(values, at);
    return r;
  }

  /** Zeroes the frozen layers' gradients and returns copies of their weights (float index, values). */
  private frozenWeights(): { at: number; values: Float32Array }[] {
    const heap = runtime().heap;
    return this.layers.filter((l) => !l.trainable).flatMap((l) => l.weights).map((w) => {
      const n = sizeOfShape(w.shape), g = (this.grads >>> 2) + w.offset;
      heap.f32.fill(0, g, g + n);
      return { at: (this.params >>> 2) + w.offset, values: heap.readF32(this.params + w.offset * 4, n) };
    });
  }

  /** Forward, loss and backward on examples idx[start..start+n), leaving dL/dparams in the gradient buffer. */
  private gradientStep(x: Examples, y: Labels, idx: Int32Array, start: number, n: number) {
    const p = this.plan(n, true);
    x.gather(idx, start, n, p.x);
    y.gather(idx, start, n, p.labels);
    const ctx = this.ctx(n, true, this.fused);
    const out = this.forward(p, ctx);
    const classes = this.outputShape[this.outputShape.length - 1];
    const rows = n * (sizeOfShape(this.outputShape) / classes);
    const r = batchLoss(this.lossName!, this.fused, rows, classes, out, p.labels, p.grad, p.stats);
    this.backward(p, ctx);
    return r;
  }

  /**
   * @internal For gradient checks: the mean loss over all of x, y as ONE training batch (dropout
   * active) and dL/dparams in the flat parameter layout (weightList()[i].spec.offset), no update.
   */
  lossAndGradients(x: XInput, y: YInput): { loss: number; grads: Float32Array } {
    this.checkAlive('lossAndGradients');
    if (!this.lossName) throw new Error('lossAndGradients: compile the model first: model.compile({optimizer, loss, metrics})');
    const xs = toExamples('lossAndGradients', 'x', x), ys = toLabels('lossAndGradients', y);
    this.checkData('lossAndGradients', xs, ys);
    const r = this.gradientStep(xs, ys, range(xs.count), 0, xs.count);
    const out = this.outputShape, rows = xs.count * (sizeOfShape(out) / out[out.length - 1]);
    return { loss: r.lossSum / rows, grads: runtime().heap.readF32(this.grads, this.paramCount) };
  }

  private checkData(op: string, x: Examples, y: Labels | undefined): void {
    const want = this.inputShape;
    if (x.sampleShape.join() !== want.join()) {
      throw new Error(`${op}: x has examples of shape [${x.sampleShape}] (x shape [${x.count}, ${x.sampleShape}]), but the model's input layer ${this.layers[0].name} expects [${want}] (inputShape) — shape x as [batch, ${want}]`);
    }
    if (x.count < 1) throw argError(op, 'x', `${x.count} examples`, 'at least one example');
    if (!y) return;
    if (y.count !== x.count) throw new Error(`${op}: x has ${x.count} examples but y has ${y.count} labels; they must match`);
    const out = this.outputShape;
    const classes = out[out.length - 1];
    const sparse = this.lossName === 'sparseCategoricalCrossentropy';
    const wantWidth = sparse ? sizeOfShape(out) / classes : sizeOfShape(out);
    if (y.width !== wantWidth) {
      throw new Error(`${op}: y has ${y.width} value(s) per example, but loss '${this.lossName}' with output shape [${out}] expects ${wantWidth}${sparse ? ' (a class id per example)' : ' (e.g. one-hot rows)'}`);
    }
    const v = y.values;
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) throw new Error(`${op}: y[${i}] is ${v[i]}; labels must be finite`);
      if (sparse && (!Number.isInteger(v[i]) || v[i] < 0 || v[i] >= classes)) {
        throw new Error(`${op}: label y[${i}] = ${v[i]} is not a class index in [0, ${classes}) for ${this.lossName}`);
      }
    }
  }

  async fit(x: XInput, y: YInput, args: FitArgs = {}): Promise<History> {
    this.checkAlive('fit');
    if (!this.optimizer || !this.lossName) throw new Error('fit: compile the model first: model.compile({optimizer, loss, metrics})');
    const epochs = assertPositiveInt('fit', 'epochs', args.epochs ?? 1);
    const batchSize = assertPositiveInt('fit', 'batchSize', args.batchSize ?? 32);
    const initialEpoch = args.initialEpoch ?? 0;
    const shuffleEach = args.shuffle ?? true;
    const cb = args.callbacks ?? {};
    let xs = toExamples('fit', 'x', x);
    let ys = toLabels('fit', y);
    this.checkData('fit', xs, ys);
    assertFinite('fit', 'x', x);
    let val: [Examples, Labels] | undefined;
    if (args.validationData) {
      if (!Array.isArray(args.validationData) || args.validationData.length !== 2) {
        throw argError('fit', 'validationData', args.validationData, '[xVal, yVal]');
      }
      val = [toExamples('fit', 'validationData[0]', args.validationData[0]), toLabels('fit', args.validationData[1])];
      this.checkData('fit (validationData)', val[0], val[1]);
      assertFinite('fit', 'validationData[0]', args.validationData[0]);
    } else if (args.validationSplit !== undefined) {
      const s = args.validationSplit;
      if (typeof s !== 'number' || !(s > 0 && s < 1)) throw argError('fit', 'validationSplit', s, 'a number in (0, 1)');
      // Keras: the last fraction of the data, before shuffling.
      const split = Math.floor(xs.count * (1 - s));
      if (split < 1 || split >= xs.count) throw argError('fit', 'validationSplit', s, `a fraction leaving examples on both sides of ${xs.count}`);
      val = [xs.slice(split, xs.count), ys.slice(split, ys.count)];
      xs = xs.slice(0, split);
      ys = ys.slice(0, split);
    }
    const history = new History();
    history.params = { epochs, batchSize, samples: xs.count, steps: Math.ceil(xs.count / batchSize), doValidation: !!val };
    const order = range(xs.count);
    // Loss and accuracy average over every output row (Keras): an example holds several when the output has rank > 1.
    const perRow = sizeOfShape(this.outputShape) / this.outputShape[this.outputShape.length - 1];
    const yieldEvery = args.yieldEvery ?? 50;
    let lastYield = Date.now();
    this.stopTraining = false;
    // WebGPU: the same loop with each step and the validation on the GPU (src/webgpu/model-runner.ts).
    await backendReady();
    const gpuCtx = activeGpu();
    const gpu = gpuCtx ? loadedGpuModule()!.runnerFor(this, gpuCtx, this.gpuView()) : undefined;
    gpu?.uploadTraining('fit');
    await cb.onTrainBegin?.();
    for (let epoch = initialEpoch; epoch < epochs && !this.stopTraining; epoch++) {
      await cb.onEpochBegin?.(epoch);
      if (shuffleEach) shuffle(order, this.rng);
      let lossSum = 0, correct = 0, seen = 0;
      const steps = Math.ceil(xs.count / batchSize);
      for (let step = 0; step < steps && !this.stopTraining; step++) {
        const start = step * batchSize, n = Math.min(batchSize, xs.count - start);
        await cb.onBatchBegin?.(step, { batch: step, size: n });
        const r = gpu ? await gpu.trainStep(xs, ys, order, start, n) : this.trainStep(xs, ys, order, start, n);
        if (!Number.isFinite(r.lossSum)) {
          throw new Error(`fit: the loss became ${r.lossSum} at epoch ${epoch + 1}, batch ${step + 1} of ${steps}; training stopped. The weights diverged: lower the learning rate or check the inputs' scale`);
        }
        lossSum += r.lossSum;
        correct += r.correct;
        seen += n * perRow;
        if (cb.onBatchEnd) {
          const logs: Logs = { batch: step, size: n, loss: r.lossSum / (n * perRow) };
          if (this.metrics.length) logs.acc = r.correct / (n * perRow);
          await cb.onBatchEnd(step, logs);
        }
        if (Date.now() - lastYield >= yieldEvery) {
          await yieldToEventLoop();
          lastYield = Date.now();
        }
      }
      // Weights and optimizer state back to the heap: callbacks, validation and save see this epoch's.
      if (gpu) await gpu.downloadTraining('fit');
      const logs: Logs = { loss: lossSum / seen };
      if (this.metrics.length) logs.acc = correct / seen;
      if (val) {
        const v = gpu ? await gpu.evaluate('fit', val[0], val[1], Math.max(batchSize, 256)) : this.evaluateExamples(val[0], val[1], Math.max(batchSize, 256));
        logs.val_loss = v.loss;
        if (this.metrics.length) logs.val_acc = v.acc;
      }
      history.record(epoch, logs);
      if (args.verbose) {
        console.log(`Epoch ${epoch + 1} / ${epochs}: ${Object.entries(logs).map(([k, v]) => `${k}=${(v as number).toFixed(4)}`).join(' ')}`);
      }
      await cb.onEpochEnd?.(epoch, logs);
    }
    await cb.onTrainEnd?.();
    return history;
  }

  private evaluateExamples(x: Examples, y: Labels, batchSize: number): { loss: number; acc: number } {
    let lossSum = 0, correct = 0;
    const idx = range(x.count);
    const out = this.outputShape, classes = out[out.length - 1], perRow = sizeOfShape(out) / classes;
    for (let start = 0; start < x.count; start += batchSize) {
      const n = Math.min(batchSize, x.count - start);
      const p = this.plan(n, false);
      x.gather(idx, start, n, p.x);
      y.gather(idx, start, n, p.labels);
      // The fused softmax stays in the loss kernel (same numbers, numerically stable).
      const o = this.forward(p, this.ctx(n, false, this.fused));
      const r = batchLoss(this.lossName!, this.fused, n * perRow, classes, o, p.labels, 0, p.stats);
      lossSum += r.lossSum;
      correct += r.correct;
    }
    return { loss: lossSum / (x.count * perRow), acc: correct / (x.count * perRow) };
  }

  /** Loss (and accuracy, if compiled with it) over x, y: scalars as tfjs' evaluate returns. */
  evaluate(x: XInput, y: YInput, args: { batchSize?: number } = {}): Tensor | Tensor[] {
    this.checkAlive('evaluate');
    if (!this.lossName) throw new Error('evaluate: compile the model first: model.compile({optimizer, loss, metrics})');
    const xs = toExamples('evaluate', 'x', x), ys = toLabels('evaluate', y);
    this.checkData('evaluate', xs, ys);
    assertFinite('evaluate', 'x', x);
    const evalBatch = assertPositiveInt('evaluate', 'batchSize', args.batchSize ?? 256);
    const gpuCtx = activeGpu();
    if (gpuCtx) return loadedGpuModule()!.runnerFor(this, gpuCtx, this.gpuView()).evaluateTensors(xs, ys, evalBatch);
    const r = this.evaluateExamples(xs, ys, evalBatch);
    return this.metrics.length ? [scalar(r.loss), scalar(r.acc)] : scalar(r.loss);
  }

  /** Outputs for x, batch by batch, as one tensor [N, ...outputShape]. */
  predict(x: XInput, args: { batchSize?: number } = {}): Tensor {
    this.checkAlive('predict');
    this.build();
    const xs = toExamples('predict', 'x', x);
    this.checkData('predict', xs, undefined);
    assertFinite('predict', 'x', x);
    const batchSize = assertPositiveInt('predict', 'batchSize', args.batchSize ?? 32);
    const gpuCtx = activeGpu();
    if (gpuCtx) return loadedGpuModule()!.runnerFor(this, gpuCtx, this.gpuView()).predict(xs, batchSize);
    const outPer = sizeOfShape(this.outputShape);
    const result = allocTensor([xs.count, ...this.outputShape]);
    const idx = range(xs.count);
    for (let start = 0; start < xs.count; start += batchSize) {
      const n = Math.min(batchSize, xs.count - start);
      const p = this.plan(n, false);
      xs.gather(idx, start, n, p.x);
      const o = this.forward(p, this.ctx(n, false, false));
      const f = runtime().heap.f32;
      f.copyWithin((result.ptr >>> 2) + start * outPer, o >>> 2, (o >>> 2) + n * outPer);
    }
    return result;
  }

  /** The output of every layer for x (one batch): for looking at feature maps. */
  predictLayers(x: XInput): Tensor[] {
    this.checkAlive('predictLayers');
    this.build();
    const xs = toExamples('predictLayers', 'x', x);
    this.checkData('predictLayers', xs, undefined);
    const p = this.plan(xs.count, false);
    xs.gather(range(xs.count), 0, xs.count, p.x);
    this.forward(p, this.ctx(xs.count, false, false), false);
    const f = runtime().heap.f32;
    return this.layers.map((l, i) => {
      const t = allocTensor([xs.count, ...l.outShape]);
      f.copyWithin(t.ptr >>> 2, p.acts[i + 1] >>> 2, (p.acts[i + 1] >>> 2) + t.size);
      return t;
    });
  }

  /** @internal what the WebGPU runner reads (src/webgpu/model-runner.ts). */
  gpuView(): ModelView {
    this.build();
    return {
      name: this.name, layers: this.layers, params: this.params, paramCount: this.paramCount, optimizer: this.optimizer,
      lossName: this.lossName, fused: this.fused, metrics: this.metrics.length > 0, inputShape: this.inputShape, outputShape: this.outputShape,
    };
  }

  countParams(): number {
    this.build();
    return this.layers.reduce((s, l) => s + l.paramCount, 0);
  }

  getLayer(name: string): Layer {
    const l = this.layers.find((x) => x.name === name);
    if (!l) throw argError('getLayer', 'name', name, `one of ${this.layers.map((x) => `'${x.name}'`).join(', ')}`);
    return l;
  }

  /** Copies of the weights in layer order (kernel, bias per layer), as tfjs' getWeights(). */
  getWeights(): Tensor[] {
    this.checkAlive('getWeights');
    this.build();
    return this.weightList().map(({ spec }) => {
      const t = allocTensor(spec.shape);
      const o = (this.params >>> 2) + spec.offset;
      runtime().heap.f32.copyWithin(t.ptr >>> 2, o, o + t.size);
      return t;
    });
  }

  /** Sets every weight, in getWeights() order; shapes must match exactly. */
  setWeights(weights: Tensor[]): void {
    this.checkAlive('setWeights');
    this.build();
    const list = this.weightList();
    if (!Array.isArray(weights) || weights.length !== list.length) {
      throw argError('setWeights', 'weights', Array.isArray(weights) ? `${weights.length} tensors` : weights, `${list.length} tensors (${list.map((w) => w.name).join(', ')})`);
    }
    weights.forEach((t, i) => {
      const { spec, name } = list[i];
      if (!(t instanceof Tensor) || t.shape.join() !== spec.shape.join()) {
        throw argError('setWeights', `weights[${i}] (${name})`, t, `a tensor of shape [${spec.shape}]`);
      }
      t.check('setWeights');
    });
    const f = runtime().heap.f32;
    weights.forEach((t, i) => {
      f.copyWithin((this.params >>> 2) + list[i].spec.offset, t.ptr >>> 2, (t.ptr >>> 2) + t.size);
    });
  }

  /** [{name: 'conv2d/kernel', spec}] in layer order. */
  weightList() {
    this.build();
    return this.layers.flatMap((l) => l.weights.map((spec) => ({ name: `${l.name}/${spec.name}`, layer: l, spec })));
  }

  /** Weight values by name, read from the flat buffer (for saving). */
  weightValues(): { name: string; shape: number[]; data: Float32Array }[] {
    const heap = runtime().heap;
    return this.weightList().map(({ name, spec }) => ({
      name, shape: spec.shape.slice(), data: heap.readF32(this.params + spec.offset * 4, sizeOfShape(spec.shape)),
    }));
  }

  /** Keras' summary table: layer (type), output shape, params, and the totals. */
  summary(lineLength?: number, positions?: number[], printFn: (line: string) => void = console.log): void {
    this.checkAlive('summary');
    this.build();
    for (const line of summaryLines(this.name, this.layers, lineLength, positions)) printFn(line);
  }

  /** The Keras/tfjs topology for model.json. */
  toJSON(): Record<string, unknown> {
    this.build();
    return {
      class_name: 'Sequential',
      config: { name: this.name, layers: this.layers.map((l) => ({ class_name: l.className, config: l.getConfig() })) },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    };
  }

  /** Saves model.json + weights.bin to `file://DIR` or `DIR` (crash-safe), or to a tfjs IOHandler. See save-load.ts. */
  async save(urlOrPath: string | URL | IOHandler): Promise<SaveResult> {
    this.checkAlive('save');
    return saveModel(this, urlOrPath);
  }

  /** The model as a serialized ONNX model (opset 13+, NHWC input with a dynamic batch), e.g. for ONNX Runtime. */
  toONNX(opts?: OnnxExportOptions): Uint8Array {
    this.checkAlive('toONNX');
    return exportOnnx(this, opts);
  }

  /** What compile() was given, for model.json's training_config. */
  trainingConfig(): Record<string, unknown> | undefined {
    if (!this.optimizer || !this.lossName) return undefined;
    return {
      loss: this.lossName.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
      metrics: this.metrics.length ? ['acc'] : [],
      optimizer_config: { class_name: this.optimizer.className, config: this.optimizer.getConfig() },
    };
  }

  /** Frees the weights, gradients, buffers and optimizer state. The model cannot be used after. */
  dispose(): { refCountAfterDispose: number; numDisposedVariables: number } {
    if (this.disposed) return { refCountAfterDispose: 0, numDisposedVariables: 0 };
    const n = this.weightList().length;
    this.freePlans();
    loadedGpuModule()?.disposeRunner(this);
    this.optimizer?.dispose();
    const heap = runtime().heap;
    if (this.params) heap.free(this.params);
    if (this.grads) heap.free(this.grads);
    this.params = this.grads = 0;
    this.disposed = true;
    return { refCountAfterDispose: 0, numDisposedVariables: n };
  }
}

/** Lets timers, I/O and page events run between batches: setImmediate where it exists (Node,
 * Bun, Deno), since a 0 ms timeout is clamped to 1 ms or more there and browsers. */
function yieldToEventLoop(): Promise<void> {
  const si = (globalThis as { setImmediate?: (cb: () => void) => void }).setImmediate;
  return new Promise((res) => (si ? si(res) : setTimeout(res, 0)));
}

/** NaN/Inf anywhere in a float input is an Error before any training happens. */
function assertFinite(op: string, arg: string, x: XInput): void {
  if (!(x instanceof Tensor)) return;
  const bad = firstNonFinite(x.size, x.ptr);
  if (bad >= 0) {
    const v = runtime().heap.f32[(x.ptr >>> 2) + bad];
    throw new Error(`${op}: ${arg} contains ${v} at flat index ${bad} (of shape [${x.shape}]); inputs must be finite numbers`);
  }
}

export function sequential(args: { layers?: Layer[]; name?: string; seed?: number } = {}): Sequential {
  return new Sequential(args);
}

export { Conv2D };
