/// <reference types="@webgpu/types" />
// Runs a Sequential model's training step, evaluation and prediction on the GPU with the same
// layers, flat parameter layout (WeightSpec.offset), loss and optimizer formulas as the wasm path,
// so fit/evaluate/predict give the same numbers within float tolerance.
//
// Residency: parameters, gradients, optimizer slots and every activation live in GPU buffers.
// Per batch only the examples (and dropout masks, drawn from the model's seeded RNG as the wasm
// layer does) go up; fit reads back the batch's loss and correct count (8 bytes), evaluate its two
// scalars, predict nothing (it returns a GpuTensor). The wasm heap stays the home of the weights
// between calls: each call uploads them, fit copies weights and optimizer state back at every
// epoch end, so getWeights/save/setWeights and switching backends keep working.
//
// Each (batch size, training, logits) gets a plan: buffers and every dispatch recorded once, then
// replayed per batch (only uniform values such as Adam's step size are rewritten).

import { runtime } from '../backend/runtime.js';
import { conv2dGeometry } from '../ops/conv.js';
import { poolGeometry } from '../ops/pool.js';
import { sizeOfShape, type Layer } from '../layers/layer.js';
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { AveragePooling2D, MaxPooling2D } from '../layers/pooling.js';
import { Activation, Dropout, Flatten } from '../layers/reshaping.js';
import { AdamOptimizer, MomentumOptimizer, SGDOptimizer, type Optimizer } from '../model/optimizers.js';
import type { Examples, Labels } from '../model/examples.js';
import type { LossName } from '../model/losses.js';
import type { Dispatch } from './context.js';
import { GpuContext } from './context.js';
import * as k from './dispatches.js';
import { GpuTensor } from './gpu-tensor.js';

/** What the runner reads from a Sequential (its @internal gpuView()). */
export interface ModelView {
  name: string;
  layers: Layer[];
  params: number;
  paramCount: number;
  optimizer?: Optimizer;
  lossName?: LossName;
  fused: boolean;
  metrics: boolean;
  inputShape: number[];
  outputShape: number[];
}

interface Plan {
  batch: number;
  x: GPUBuffer;
  labels: GPUBuffer;
  grad?: GPUBuffer;
  out: k.Ref;
  forward: Dispatch[];
  backward: Dispatch[];
  loss?: Dispatch;
  masks: { layer: Dropout; buf: GPUBuffer; n: number }[];
  owned: GPUBuffer[];
}

type Act = k.GpuActivation | 'softmax';

export class GpuRunner {
  private params: GPUBuffer;
  private grads: GPUBuffer;
  private slots: GPUBuffer[] = [];
  private optStep?: Dispatch;
  private stats: GPUBuffer;
  private plans = new Map<string, Plan>();
  private stage = { ptr: 0, floats: 0 };
  /** Frozen layers' weights saved across the optimizer step (grown on demand). */
  private frozenSave?: GPUBuffer;

  constructor(readonly ctx: GpuContext, private view: ModelView) {
    const n = Math.max(1, view.paramCount);
    this.params = ctx.buffer(n, 'params');
    this.grads = ctx.buffer(n, 'grads');
    this.stats = ctx.buffer(4, 'stats');
    for (const l of view.layers) this.supported(l);
  }

  /** The model's compile/optimizer changed: rebuild what depends on it. */
  matches(ctx: GpuContext, view: ModelView): boolean {
    return ctx === this.ctx && view.optimizer === this.view.optimizer && view.lossName === this.view.lossName &&
      view.fused === this.view.fused && view.params === this.view.params;
  }

  private supported(l: Layer): void {
    const ok = l instanceof Conv2D || l instanceof Dense || l instanceof MaxPooling2D || l instanceof AveragePooling2D ||
      l instanceof Flatten || l instanceof Activation || l instanceof Dropout;
    if (!ok) throw new Error(`${this.view.name}: layer ${l.name} (${l.className}) has no WebGPU implementation; use setBackend('wasm')`);
  }

  private lossMode(op: string): k.LossMode {
    if (this.view.fused) return 'softmaxCrossEntropy';
    if (this.view.lossName === 'meanSquaredError') return 'meanSquaredError';
    throw new Error(`${op}: loss '${this.view.lossName}' on an output without softmax is not implemented on WebGPU; end the model with a softmax or use setBackend('wasm')`);
  }

  // ---- weights and optimizer state: heap ⇄ GPU ----

  uploadWeights(): void {
    const f = runtime().heap.f32;
    const o = this.view.params >>> 2;
    this.ctx.write(this.params, f.slice(o, o + this.view.paramCount));
  }

  private optimizerSlots(opt: Optimizer): number {
    return opt instanceof AdamOptimizer ? 2 : opt instanceof MomentumOptimizer ? 1 : 0;
  }

  /** Parameters and optimizer state from the heap onto the GPU (start of fit). */
  uploadTraining(op: string): void {
    const opt = this.view.optimizer!;
    if (!(opt instanceof AdamOptimizer || opt instanceof MomentumOptimizer || opt instanceof SGDOptimizer)) {
      throw new Error(`${op}: optimizer ${opt.className} has no WebGPU implementation; use setBackend('wasm')`);
    }
    this.lossMode(op);
    this.uploadWeights();
    const n = Math.max(1, this.view.paramCount), want = this.optimizerSlots(opt);
    while (this.slots.length < want) this.slots.push(this.ctx.buffer(n, 'optimizer slot'));
    const state = (opt as unknown as { state: number[] }).state;
    const f = runtime().heap.f32;
    this.slots.forEach((s, i) => {
      this.ctx.write(s, state[i] ? f.slice(state[i] >>> 2, (state[i] >>> 2) + this.view.paramCount) : new Float32Array(n));
    });
    if (!this.optStep) {
      const P = this.view.paramCount;
      if (opt instanceof AdamOptimizer) this.optStep = k.adamStep(this.ctx, P, this.params, this.grads, this.slots[0], this.slots[1], 0, opt.beta1, opt.beta2, opt.epsilon);
      else if (opt instanceof MomentumOptimizer) this.optStep = k.momentumStep(this.ctx, P, this.params, this.grads, this.slots[0], opt.learningRate, opt.momentum, opt.useNesterov);
      else this.optStep = k.sgdStep(this.ctx, P, this.params, this.grads, (opt as SGDOptimizer).learningRate);
    }
  }

  /** Parameters and optimizer state back into the heap (end of each epoch and of fit). */
  async downloadTraining(op: string): Promise<void> {
    const P = this.view.paramCount;
    const w = await this.ctx.read(op, this.params, P);
    const opt = this.view.optimizer!;
    const slots = await Promise.all(this.slots.map((s) => this.ctx.read(op, s, P)));
    const heap = runtime().heap;
    heap.f32.set(w, this.view.params >>> 2);
    if (slots.length) {
      const state = (opt as unknown as { stateFor(n: number, s: number): number[] }).stateFor(P, slots.length);
      slots.forEach((s, i) => heap.f32.set(s, state[i] >>> 2));
    }
  }

  // ---- plans ----

  private plan(batch: number, training: boolean, logits: boolean): Plan {
    const key = `${batch}:${training}:${logits}`;
    let p = this.plans.get(key);
    if (!p) this.plans.set(key, (p = this.build(batch, training, logits)));
    return p;
  }

  private build(B: number, training: boolean, logits: boolean): Plan {
    const { ctx } = this;
    const owned: GPUBuffer[] = [];
    const buf = (floats: number, label: string) => {
      const b = ctx.buffer(floats, label);
      owned.push(b);
      return b;
    };
    const P = (l: Layer, i: number) => k.ref(this.params, l.weights[i].offset);
    const G = (l: Layer, i: number) => k.ref(this.grads, l.weights[i].offset);
    const outClasses = this.view.outputShape[this.view.outputShape.length - 1];
    const x = buf(B * sizeOfShape(this.view.inputShape), 'x');
    const labels = buf(B * sizeOfShape(this.view.outputShape), 'labels');
    const grad = training ? buf(B * sizeOfShape(this.view.outputShape), 'dlogits') : undefined;
    const forward: Dispatch[] = [], backward: Dispatch[][] = [];
    const masks: Plan['masks'] = [];
    let a = k.ref(x);
    const acts: k.Ref[] = [a];
    // Backward closures run in reverse after the forward is recorded; dyRef is the incoming gradient.
    const back: ((dy: k.Ref) => k.Ref | undefined)[] = [];

    /** Activation forward from pre into a new y (or in the GEMM epilogue for ReLU); returns y. */
    const activate = (act: Act, rows: number, cols: number, pre: k.Ref, y: GPUBuffer) => {
      if (act === 'softmax') forward.push(k.softmaxRows(ctx, rows, cols, pre, y));
      else forward.push(k.actForward(ctx, act, rows * cols, pre, k.ref(y)));
    };
    const activateBack = (act: Act, rows: number, cols: number, y: GPUBuffer, dy: k.Ref, list: Dispatch[]) => {
      if (act === 'linear') return;
      if (act === 'softmax') list.push(k.softmaxBackward(ctx, rows, cols, y, dy.buf));
      else list.push(k.actBackward(ctx, act, rows * cols, k.ref(y), dy));
    };

    this.view.layers.forEach((l, i) => {
      const needDx = training && i > 0;
      const inN = B * sizeOfShape(l.inShape), outN = B * sizeOfShape(l.outShape);
      const xin = a;
      if (l instanceof Conv2D || l instanceof Dense) {
        const isConv = l instanceof Conv2D;
        const g = isConv ? conv2dGeometry(l.name, [B, ...l.inShape], [...l.kernelSize, l.inShape[2], l.filters], l.strides, l.padding, l.dilationRate) : undefined;
        const rows = isConv ? g!.M : B * sizeOfShape(l.inShape.slice(0, -1));
        const cols = isConv ? l.filters : l.units;
        const kDim = l.inShape[l.inShape.length - 1];
        const skipSoftmax = l instanceof Dense && l.fusedSoftmax && logits;
        const act: Act = l.activation === 'softmax' && skipSoftmax ? 'linear' : l.activation;
        const y = buf(outN, `${l.name}/y`);
        const pre = act === 'relu' || act === 'linear' ? y : buf(outN, `${l.name}/pre`);
        const bias = l.useBias ? P(l, 1) : undefined;
        const col = g && !g.colIsInput ? buf(g.colFloats, `${l.name}/col`) : undefined;
        if (g) forward.push(...k.conv2dForward(ctx, g, xin, P(l, 0), bias, k.ref(pre), col, act === 'relu'));
        else forward.push(k.gemm(ctx, rows, cols, kDim, xin, false, P(l, 0), false, k.ref(pre), { bias, relu: act === 'relu' }));
        if (pre !== y) activate(act, rows, cols, k.ref(pre), y);
        const dx = needDx ? buf(inN, `${l.name}/dx`) : undefined;
        back.push((dy) => {
          const list: Dispatch[] = [];
          const fusedOut = l instanceof Dense && l.fusedSoftmax && l.activation === 'softmax';
          if (!fusedOut) activateBack(l.activation, rows, cols, y, dy, list);
          if (g) list.push(...k.conv2dBackpropFilter(ctx, g, xin, dy, G(l, 0), col, true));
          else list.push(k.gemm(ctx, kDim, cols, rows, xin, true, dy, false, G(l, 0)));
          if (l.useBias) list.push(k.biasGrad(ctx, rows, cols, dy.buf, G(l, 1)));
          if (dx) {
            if (g) list.push(...k.conv2dBackpropInput(ctx, g, dy, P(l, 0), dx, col));
            else list.push(k.gemm(ctx, rows, kDim, cols, dy, false, P(l, 0), true, k.ref(dx)));
          }
          backward.push(list);
          return dx ? k.ref(dx) : undefined;
        });
        a = k.ref(y);
      } else if (l instanceof MaxPooling2D || l instanceof AveragePooling2D) {
        const g = poolGeometry(l.name, [B, ...l.inShape], l.poolSize, l.strides, l.padding);
        const y = buf(outN, `${l.name}/y`);
        const dx = needDx ? buf(inN, `${l.name}/dx`) : undefined;
        if (l instanceof MaxPooling2D) {
          const argmax = buf(outN, `${l.name}/argmax`);
          forward.push(k.maxPoolForward(ctx, g, xin, y, argmax));
          back.push((dy) => {
            if (dx) backward.push([k.maxPoolBackward(ctx, g, dy.buf, argmax, dx)]);
            return dx ? k.ref(dx) : undefined;
          });
        } else {
          forward.push(k.avgPoolForward(ctx, g, xin, y));
          back.push((dy) => {
            if (dx) backward.push([k.avgPoolBackward(ctx, g, dy.buf, dx)]);
            return dx ? k.ref(dx) : undefined;
          });
        }
        a = k.ref(y);
      } else if (l instanceof Flatten) {
        back.push((dy) => dy);
      } else if (l instanceof Activation) {
        const cols = l.inShape[l.inShape.length - 1], rows = outN / cols;
        const y = buf(outN, `${l.name}/y`);
        const act: Act = l.fusedSoftmax && logits ? 'linear' : l.activation;
        activate(act, rows, cols, xin, y);
        back.push((dy) => {
          const list: Dispatch[] = [];
          if (!l.fusedSoftmax) activateBack(l.activation, rows, cols, y, dy, list);
          backward.push(list);
          return dy;
        });
        a = k.ref(y);
      } else if (l instanceof Dropout) {
        const y = buf(outN, `${l.name}/y`);
        if (training && l.rate > 0) {
          const mask = buf(outN, `${l.name}/mask`);
          masks.push({ layer: l, buf: mask, n: outN });
          if (xin.off) throw new Error(`webgpu: internal error: dropout input at an offset`);
          forward.push(k.mulMask(ctx, outN, xin.buf, mask, y));
          back.push((dy) => {
            backward.push([k.mulMaskInPlace(ctx, outN, mask, dy.buf)]);
            return dy;
          });
        } else {
          forward.push(k.actForward(ctx, 'linear', outN, xin, k.ref(y)));
          back.push((dy) => dy);
        }
        a = k.ref(y);
      }
      acts.push(a);
    });

    let loss: Dispatch | undefined;
    const supportedLoss = this.view.fused || this.view.lossName === 'meanSquaredError';
    if (this.view.lossName && supportedLoss) {
      const rows = B * (sizeOfShape(this.view.outputShape) / outClasses);
      const mode = this.lossMode('fit');
      const sparse = this.view.lossName === 'sparseCategoricalCrossentropy';
      if (!(a.off === 0)) throw new Error('webgpu: internal error: model output at an offset');
      loss = k.batchLoss(ctx, mode, sparse, rows, outClasses, a.buf, labels, grad, this.stats, 0, false, 1 / rows);
    }
    if (training) {
      let dy: k.Ref | undefined = k.ref(grad!);
      for (let i = back.length - 1; i >= 0 && dy; i--) dy = back[i](dy);
    }
    return { batch: B, x, labels, grad, out: a, forward, backward: backward.flat(), loss, masks, owned };
  }

  // ---- batches ----

  private stageFloats(floats: number): number {
    const heap = runtime().heap;
    if (this.stage.floats < floats) {
      if (this.stage.ptr) heap.free(this.stage.ptr);
      this.stage = { ptr: heap.alloc(floats * 4), floats };
    }
    return this.stage.ptr;
  }

  private upload(p: Plan, xs: Examples, ys: Labels | undefined, idx: Int32Array, start: number, n: number): void {
    const heap = runtime().heap;
    const xFloats = n * sizeOfShape(this.view.inputShape);
    let s = this.stageFloats(xFloats);
    xs.gather(idx, start, n, s);
    this.ctx.write(p.x, heap.f32.slice(s >>> 2, (s >>> 2) + xFloats));
    if (ys) {
      const lFloats = n * ys.width;
      s = this.stageFloats(Math.max(xFloats, lFloats));
      ys.gather(idx, start, n, s);
      this.ctx.write(p.labels, heap.f32.slice(s >>> 2, (s >>> 2) + lFloats));
    }
  }

  /** One optimizer step on examples idx[start..start+n): returns the batch's summed loss and correct count. */
  async trainStep(xs: Examples, ys: Labels, idx: Int32Array, start: number, n: number): Promise<{ lossSum: number; correct: number }> {
    this.ctx.check('fit');
    const p = this.plan(n, true, this.view.fused);
    this.upload(p, xs, ys, idx, start, n);
    for (const m of p.masks) {
      // The wasm Dropout draws the same numbers in the same order (layer order, element order).
      const keep = 1 / (1 - m.layer.rate), rng = m.layer.rng!;
      const v = new Float32Array(m.n);
      for (let i = 0; i < m.n; i++) v[i] = rng.nextFloat() >= m.layer.rate ? keep : 0;
      this.ctx.write(m.buf, v);
    }
    const opt = this.view.optimizer!;
    const t = ++opt.iterations;
    if (opt instanceof AdamOptimizer) {
      const lrT = (opt.learningRate * Math.sqrt(1 - opt.beta2 ** t)) / (1 - opt.beta1 ** t);
      this.ctx.setUniforms(this.optStep!, [this.view.paramCount, lrT, opt.beta1, opt.beta2, opt.epsilon]);
    }
    const frozen = this.frozenRanges();
    if (!frozen.length) this.ctx.submit([...p.forward, p.loss!, ...p.backward, this.optStep!]);
    else {
      // As the wasm Sequential: frozen layers' gradients are zeroed (so Adam/momentum slots see a
      // zero gradient, as on wasm) and their weights restored after the step (undoing momentum
      // gathered before the freeze). Queue order sequences submit → write → submit.
      const total = frozen.reduce((t, r) => t + r.n, 0);
      if (!this.frozenSave || this.frozenSave.size < total * 4) {
        this.frozenSave?.destroy();
        this.frozenSave = this.ctx.buffer(total, 'frozen weights');
      }
      const save: [GPUBuffer, number, GPUBuffer, number, number][] = [], restore: typeof save = [];
      let at = 0;
      for (const r of frozen) {
        save.push([this.params, r.off * 4, this.frozenSave, at * 4, r.n * 4]);
        restore.push([this.frozenSave, at * 4, this.params, r.off * 4, r.n * 4]);
        at += r.n;
      }
      this.ctx.submit([...p.forward, p.loss!, ...p.backward], save);
      for (const r of frozen) this.ctx.write(this.grads, new Float32Array(r.n), r.off);
      this.ctx.submit([this.optStep!], restore);
    }
    const s = await this.ctx.read('fit', this.stats, 2);
    return { lossSum: s[0], correct: s[1] };
  }

  /** Float ranges [off, off + n) of the parameters of layers with trainable: false (read each step: callbacks may toggle it). */
  private frozenRanges(): { off: number; n: number }[] {
    return this.view.layers.filter((l) => !l.trainable).flatMap((l) => l.weights)
      .map((w) => ({ off: w.offset, n: sizeOfShape(w.shape) })).filter((r) => r.n > 0);
  }

  /** Loss and accuracy sums over x (forward only), left in a 2-float GPU buffer [loss/rows, acc/rows]. */
  private evaluateInto(op: string, xs: Examples, ys: Labels, batchSize: number): GPUBuffer {
    this.ctx.check(op);
    this.lossMode(op);
    this.uploadWeights();
    const idx = Int32Array.from({ length: xs.count }, (_, i) => i);
    let first = true;
    for (let start = 0; start < xs.count; start += batchSize) {
      const n = Math.min(batchSize, xs.count - start);
      const p = this.plan(n, false, this.view.fused);
      this.upload(p, xs, ys, idx, start, n);
      const rows = n * (sizeOfShape(this.view.outputShape) / this.view.outputShape[this.view.outputShape.length - 1]);
      this.ctx.setUniforms(p.loss!, [rows, this.view.outputShape[this.view.outputShape.length - 1], this.view.fused ? 0 : 1,
        this.view.lossName === 'sparseCategoricalCrossentropy' ? 1 : 0, 0, 0, first ? 0 : 1, 1 / rows]);
      this.ctx.submit([...p.forward, p.loss!]);
      first = false;
    }
    // Averages over output rows, not examples (Keras; as the wasm evaluate): a rank > 1 output holds several per example.
    const out = this.view.outputShape, perRow = sizeOfShape(out) / out[out.length - 1];
    const result = this.ctx.buffer(2, 'metrics');
    const fin = k.finishMetrics(this.ctx, this.stats, 1, xs.count * perRow, result);
    this.ctx.submit([fin]);
    fin.uniform.destroy();
    return result;
  }

  async evaluate(op: string, xs: Examples, ys: Labels, batchSize: number): Promise<{ loss: number; acc: number }> {
    const result = this.evaluateInto(op, xs, ys, batchSize);
    const r = await this.ctx.read(op, result, 2);
    result.destroy();
    return { loss: r[0], acc: r[1] };
  }

  /** evaluate() as tfjs returns it: scalar GpuTensors (loss, and accuracy when compiled with it). */
  evaluateTensors(xs: Examples, ys: Labels, batchSize: number): GpuTensor | GpuTensor[] {
    const result = this.evaluateInto('evaluate', xs, ys, batchSize);
    const loss = new GpuTensor(this.ctx, [], this.ctx.buffer(1)), acc = new GpuTensor(this.ctx, [], this.ctx.buffer(1));
    this.ctx.submit([], [[result, 0, loss.buffer, 0, 4], [result, 4, acc.buffer, 0, 4]]);
    result.destroy();
    if (this.view.metrics) return [loss, acc];
    acc.dispose();
    return loss;
  }

  /** Outputs for x as one GpuTensor [N, ...outputShape] (nothing is read back). */
  predict(xs: Examples, batchSize: number): GpuTensor {
    this.ctx.check('predict');
    this.uploadWeights();
    const outPer = sizeOfShape(this.view.outputShape);
    const result = new GpuTensor(this.ctx, [xs.count, ...this.view.outputShape], this.ctx.buffer(xs.count * outPer, 'predictions'));
    const idx = Int32Array.from({ length: xs.count }, (_, i) => i);
    for (let start = 0; start < xs.count; start += batchSize) {
      const n = Math.min(batchSize, xs.count - start);
      const p = this.plan(n, false, false);
      this.upload(p, xs, undefined, idx, start, n);
      this.ctx.submit(p.forward, [[p.out.buf, p.out.off * 4, result.buffer, start * outPer * 4, n * outPer * 4]]);
    }
    return result;
  }

  dispose(): void {
    for (const p of this.plans.values()) {
      for (const b of p.owned) b.destroy();
      for (const d of [...p.forward, ...p.backward, ...(p.loss ? [p.loss] : [])]) d.uniform.destroy();
    }
    this.plans.clear();
    for (const b of [this.params, this.grads, this.stats, ...this.slots]) b.destroy();
    this.frozenSave?.destroy();
    this.frozenSave = undefined;
    this.optStep?.uniform.destroy();
    if (this.stage.ptr) runtime().heap.free(this.stage.ptr);
    this.stage = { ptr: 0, floats: 0 };
  }
}

const runners = new WeakMap<object, GpuRunner>();

/** The model's runner on this context (made, or remade after compile() changed the model). */
export function runnerFor(model: object, ctx: GpuContext, view: ModelView): GpuRunner {
  let r = runners.get(model);
  if (r && !r.matches(ctx, view)) {
    if (r.ctx === ctx && !ctx.lostReason) r.dispose();
    r = undefined;
  }
  if (!r) runners.set(model, (r = new GpuRunner(ctx, view)));
  return r;
}

/** Frees a model's GPU buffers (model.dispose()). */
export function disposeRunner(model: object): void {
  runners.get(model)?.dispose();
  runners.delete(model);
}
