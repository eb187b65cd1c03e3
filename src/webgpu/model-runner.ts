/// <reference types="@webgpu/types" />
// Runs a model's training step, evaluation and prediction on the GPU. There is no GPU version of
// any layer: a plan is the wasm planner's program (src/model/planner.ts) built over the GPU kernel
// set (gpu-kernels.ts), so the same layer code, the same steps, the same buffer-slot liveness and
// the same gradient rules (a tensor read by several steps gets the sum of their gradients; a layer
// applied several times gets its weight gradients summed) are recorded as dispatches once and
// replayed per batch. What is backend-specific here is the model level: residency, per-output
// losses, the optimizer step and the frozen-layer rule, with the wasm model's formulas.
//
// Residency: parameters, gradients, optimizer slots and every activation live in GPU buffers. Per
// batch only the examples, the labels (and dropout masks, drawn on the host from the model's
// seeded RNG by the kernels' host actions, as the wasm layer draws them) go up; fit reads back each
// output's loss and correct count (8 bytes per output), evaluate its sums, predict nothing (it
// returns GpuTensors). The wasm heap stays the home of the weights between calls: each call
// uploads them, fit copies weights and optimizer state back at every epoch end, so
// getWeights/save/setWeights and switching backends keep working.
//
// Each (batch size, training, logits) gets a plan; only uniform values such as Adam's step size
// are rewritten per batch.

import { runtime } from '../backend/runtime.js';
import type { Rng } from '../data/batches.js';
import { sizeOfShape, type Layer, type StepContext } from '../layers/layer.js';
import { AdamOptimizer, MomentumOptimizer, SGDOptimizer, type Optimizer } from '../model/optimizers.js';
import type { Examples, Labels } from '../model/examples.js';
import type { Graph } from '../model/graph.js';
import type { EvalSums, OutputLoss } from '../model/layers-model.js';
import { planProgram, type Program } from '../model/planner.js';
import type { Dispatch } from './context.js';
import { GpuContext } from './context.js';
import * as k from './dispatches.js';
import { GpuKernels } from './gpu-kernels.js';
import { GpuTensor } from './gpu-tensor.js';

/** What the runner reads from a model (its @internal gpuView()). */
export interface ModelView {
  name: string;
  graph: Graph;
  /** The non-input layers, whose weights the flat buffers hold. */
  weightLayers: Layer[];
  params: number;
  paramCount: number;
  optimizer?: Optimizer;
  /** Per graph output, once compiled. */
  outputs?: OutputLoss[];
  rng: Rng;
  /** Called after parameters are written back into the heap (fused wasm steps cache derived values). */
  touchWeights(): void;
}

interface OutputPlan {
  /** The output's activations (offset 0). */
  out: k.Ref;
  labels?: GPUBuffer;
  /** dL/d(output) as the loss writes it (training). */
  grad?: GPUBuffer;
  loss?: Dispatch;
}

interface Plan {
  batch: number;
  /** Per model input: where its examples go. */
  inputs: GPUBuffer[];
  outputs: OutputPlan[];
  forward: Dispatch[];
  losses: Dispatch[];
  backward: Dispatch[];
  /** The kernels the program recorded with: its buffers, dispatches and per-batch host work. */
  kernels: GpuKernels;
  program: Program;
  /** evaluate: adds this batch's share of the mean penalty into the stats (with regularizers). */
  penaltyAdd?: Dispatch;
  /** Dispatches outside the kernel set (the losses, penaltyAdd). */
  dispatches: Dispatch[];
}

const perRow = (o: OutputLoss) => sizeOfShape(o.shape) / o.shape[o.shape.length - 1];

export class GpuRunner {
  private params: GPUBuffer;
  private grads: GPUBuffer;
  /** Weight gradients of the second and later applications of a shared layer (made on demand). */
  private gradScratch?: GPUBuffer;
  private slots: GPUBuffer[] = [];
  private optStep?: Dispatch;
  /** Per output: [loss sum, correct count]; then the regularization penalty slots (penaltySlot). */
  private stats: GPUBuffer;
  /** evaluate's per-batch weight of a batch's penalty in the mean (n / count). */
  private scale: GPUBuffer;
  private plans = new Map<string, Plan>();
  private stage = { ptr: 0, floats: 0 };
  /** Frozen layers' weights saved across the optimizer step (grown on demand). */
  private frozenSave?: GPUBuffer;

  constructor(readonly ctx: GpuContext, private view: ModelView) {
    const n = Math.max(1, view.paramCount);
    this.params = ctx.buffer(n, 'params');
    this.grads = ctx.buffer(n, 'grads');
    // Per output [loss sum, correct count], then the step's penalty and evaluate's penalty sum.
    this.stats = ctx.buffer(2 * Math.max(1, view.graph.outputs.length) + 2, 'stats');
    this.scale = ctx.buffer(1, 'penalty scale');
  }

  /** The model's compile/optimizer/graph changed: rebuild what depends on it. */
  matches(ctx: GpuContext, view: ModelView): boolean {
    return ctx === this.ctx && view.optimizer === this.view.optimizer && view.outputs === this.view.outputs &&
      view.params === this.view.params && view.paramCount === this.view.paramCount && view.graph === this.view.graph;
  }


  private lossMode(op: string, o: OutputLoss): k.LossMode {
    if (o.fused) return 'softmaxCrossEntropy';
    if (o.loss === 'meanSquaredError') return 'meanSquaredError';
    const which = this.view.graph.outputs.length > 1 ? ` (output ${o.name})` : '';
    throw new Error(`${op}: loss '${o.loss}'${which} on an output without softmax is not implemented on WebGPU; end the model with a softmax or use setBackend('wasm')`);
  }

  private compiled(op: string): OutputLoss[] {
    const outs = this.view.outputs;
    if (!outs) throw new Error(`${op}: compile the model first: model.compile({optimizer, loss, metrics})`);
    for (const o of outs) this.lossMode(op, o);
    return outs;
  }

  /** The stats slot of a training step's penalty (evaluate's penalty sum is the next one). */
  private get penaltySlot(): number {
    return 2 * Math.max(1, this.view.graph.outputs.length);
  }

  private get anyFused(): boolean {
    return !!this.view.outputs?.some((o) => o.fused);
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
    const opt = this.view.optimizer;
    if (!opt) throw new Error(`${op}: compile the model first: model.compile({optimizer, loss, metrics})`);
    if (!(opt instanceof AdamOptimizer || opt instanceof MomentumOptimizer || opt instanceof SGDOptimizer)) {
      throw new Error(`${op}: optimizer ${opt.className} has no WebGPU implementation; use setBackend('wasm')`);
    }
    this.compiled(op);
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
    this.view.touchWeights();
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
    const { ctx, view } = this;
    const g = view.graph;
    // The wasm planner's program, over this backend's kernels: every step records its dispatches.
    const gk = new GpuKernels(ctx);
    const forward: Dispatch[] = [], losses: Dispatch[] = [], backward: Dispatch[] = [];
    let program: Program;
    try {
      program = planProgram(g, { batch: B, training, fuse: false, keepAll: false }, gk);
    } catch (err) {
      gk.dispose();
      throw err;
    }
    const stepCtx: StepContext = { k: gk, params: k.ref(this.params), grads: k.ref(this.grads), batch: B, training, logits, weightsVersion: 0 };
    gk.target = forward;
    program.forward(stepCtx);

    // ---- losses: one dispatch per output, each into its own stats slot ----
    const outs = view.outputs;
    const supported = !!outs && outs.every((o) => o.fused || o.loss === 'meanSquaredError');
    const outputs: OutputPlan[] = g.outputs.map((t, i) => {
      const out = program.outputs[i] as k.Ref;
      const o = outs?.[i];
      if (!o || !supported) return { out };
      if (out.off !== 0) throw new Error('webgpu: internal error: model output at an offset');
      const classes = o.shape[o.shape.length - 1], rows = B * perRow(o);
      const labels = gk.alloc(B * sizeOfShape(t.sampleShape), `${o.name}/labels`) as k.Ref;
      const grad = training ? (program.outputGrads[i] as k.Ref) : undefined;
      const loss = k.batchLoss(ctx, this.lossMode('fit', o), o.loss === 'sparseCategoricalCrossentropy', rows, classes, out.buf, labels.buf, grad?.buf, this.stats, i, false, o.weight / rows);
      losses.push(loss);
      return { out, labels: labels.buf, grad: grad?.buf, loss };
    });

    // ---- backward: the program's own, a shared layer's later applications into the scratch ----
    if (training) {
      if (!supported) throw new Error('webgpu: internal error: a training plan without losses');
      gk.target = backward;
      const seen = new Set<Layer>();
      let scratchCtx: StepContext | undefined;
      program.backward(stepCtx, (step) => {
        const layers = step.nodes.map((n) => n.layer).filter((l) => l.weights.length);
        const again = layers.some((l) => seen.has(l));
        for (const l of layers) seen.add(l);
        if (!again) return { ctx: stepCtx, after: undefined };
        this.gradScratch ??= ctx.buffer(Math.max(1, view.paramCount), 'grad scratch');
        scratchCtx ??= { ...stepCtx, grads: k.ref(this.gradScratch) };
        const s = this.gradScratch;
        return {
          ctx: scratchCtx,
          after: () => { for (const l of layers) for (const w of l.weights) gk.addInto(sizeOfShape(w.shape), k.ref(s, w.offset), k.ref(this.grads, w.offset)); },
        };
      });
    }
    // evaluate: stats[P + 1] += penalty · (n / count), the batch's share of the mean penalty.
    const P = this.penaltySlot;
    const penaltyAdd = program.penalty === undefined ? undefined
      : k.gemm(ctx, 1, 1, 1, program.penalty as k.Ref, false, k.ref(this.scale), false, k.ref(this.stats, P + 1), { accumulate: true });
    return {
      batch: B, inputs: program.inputs.map((x) => (x as k.Ref).buf), outputs, forward, losses, backward, kernels: gk, program,
      penaltyAdd, dispatches: penaltyAdd ? [...losses, penaltyAdd] : losses,
    };
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

  private upload(p: Plan, xs: Examples[], ys: Labels[] | undefined, idx: Int32Array, start: number, n: number): void {
    const heap = runtime().heap;
    xs.forEach((x, i) => {
      const floats = n * sizeOfShape(x.sampleShape);
      const s = this.stageFloats(floats);
      x.gather(idx, start, n, s);
      this.ctx.write(p.inputs[i], heap.f32.slice(s >>> 2, (s >>> 2) + floats));
    });
    ys?.forEach((y, i) => {
      const floats = n * y.width;
      const s = this.stageFloats(floats);
      y.gather(idx, start, n, s);
      this.ctx.write(p.outputs[i].labels!, heap.f32.slice(s >>> 2, (s >>> 2) + floats));
    });
  }

  /** One optimizer step on examples idx[start..start+n): per output, the batch's summed loss and correct count. */
  async trainStep(xs: Examples[], ys: Labels[], idx: Int32Array, start: number, n: number): Promise<{ outputs: { lossSum: number; correct: number }[]; penalty: number }> {
    this.ctx.check('fit');
    const outs = this.compiled('fit');
    const p = this.plan(n, true, this.anyFused);
    this.upload(p, xs, ys, idx, start, n);
    // Dropout masks: drawn as the wasm layers draw them (step order, element order).
    p.kernels.runHostActions();
    const opt = this.view.optimizer!;
    const t = ++opt.iterations;
    // The step size is read every step (a schedule may have changed it since the last).
    if (opt instanceof AdamOptimizer) {
      const lrT = (opt.learningRate * Math.sqrt(1 - opt.beta2 ** t)) / (1 - opt.beta1 ** t);
      this.ctx.setUniforms(this.optStep!, [this.view.paramCount, lrT, opt.beta1, opt.beta2, opt.epsilon]);
    } else if (opt instanceof MomentumOptimizer) {
      this.ctx.setUniforms(this.optStep!, [this.view.paramCount, opt.learningRate, opt.momentum, opt.useNesterov ? 1 : 0]);
    } else this.ctx.setUniforms(this.optStep!, [this.view.paramCount, opt.learningRate]);
    const frozen = this.frozenRanges();
    // The step's penalty (the program's forward wrote it) goes next to the losses in the stats.
    const pen = p.program.penalty as k.Ref | undefined;
    const penCopy: [GPUBuffer, number, GPUBuffer, number, number][] = pen ? [[pen.buf, pen.off * 4, this.stats, this.penaltySlot * 4, 4]] : [];
    if (!frozen.length) this.ctx.submit([...p.forward, ...p.losses, ...p.backward, this.optStep!], penCopy);
    else {
      // As the wasm model: frozen layers' gradients are zeroed (so Adam/momentum slots see a zero
      // gradient, as on wasm) and their weights restored after the step (undoing momentum gathered
      // before the freeze). Queue order sequences submit → write → submit.
      const total = frozen.reduce((s, r) => s + r.n, 0);
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
      this.ctx.submit([...p.forward, ...p.losses, ...p.backward], [...save, ...penCopy]);
      for (const r of frozen) this.ctx.write(this.grads, new Float32Array(r.n), r.off);
      this.ctx.submit([this.optStep!], restore);
    }
    const s = await this.ctx.read('fit', this.stats, this.penaltySlot + 1);
    return { outputs: outs.map((_, i) => ({ lossSum: s[2 * i], correct: s[2 * i + 1] })), penalty: pen ? s[this.penaltySlot] : 0 };
  }

  /** Float ranges [off, off + n) of the parameters of layers with trainable: false (read each step: callbacks may toggle it). */
  private frozenRanges(): { off: number; n: number }[] {
    return this.view.weightLayers.flatMap((l) => l.weights.filter((w) => !l.trainable || w.trainable === false))
      .map((w) => ({ off: w.offset, n: sizeOfShape(w.shape) })).filter((r) => r.n > 0);
  }

  /** Per-output loss and correct sums over x (forward only), left in this.stats; returns the row counts. */
  private evaluateInto(op: string, xs: Examples[], ys: Labels[], batchSize: number): number[] {
    this.ctx.check(op);
    const outs = this.compiled(op);
    this.uploadWeights();
    const count = xs[0].count;
    const idx = Int32Array.from({ length: count }, (_, i) => i);
    let first = true;
    // The mean penalty accumulates in stats[penaltySlot + 1], each batch weighted n / count.
    this.ctx.write(this.stats, new Float32Array(1), this.penaltySlot + 1);
    for (let start = 0; start < count; start += batchSize) {
      const n = Math.min(batchSize, count - start);
      const p = this.plan(n, false, this.anyFused);
      this.upload(p, xs, ys, idx, start, n);
      if (p.penaltyAdd) this.ctx.write(this.scale, new Float32Array([n / count]));
      outs.forEach((o, i) => {
        const rows = n * perRow(o);
        this.ctx.setUniforms(p.outputs[i].loss!, [rows, o.shape[o.shape.length - 1], o.fused ? 0 : 1,
          o.loss === 'sparseCategoricalCrossentropy' ? 1 : 0, 0, i, first ? 0 : 1, o.weight / rows]);
      });
      this.ctx.submit(p.penaltyAdd ? [...p.forward, ...p.losses, p.penaltyAdd] : [...p.forward, ...p.losses]);
      first = false;
    }
    // Averages over output rows, not examples (Keras; as the wasm evaluate): a rank > 1 output holds several per example.
    return outs.map((o) => count * perRow(o));
  }

  /** Per output: summed loss, correct count and rows over x (fit's validation). */
  async evaluate(op: string, xs: Examples[], ys: Labels[], batchSize: number): Promise<EvalSums> {
    const rows = this.evaluateInto(op, xs, ys, batchSize);
    const s = await this.ctx.read(op, this.stats, this.penaltySlot + 2);
    return { outputs: rows.map((r, i) => ({ lossSum: s[2 * i], correct: s[2 * i + 1], rows: r })), penalty: s[this.penaltySlot + 1] };
  }

  /**
   * evaluate() as the wasm model returns it, as scalar GpuTensors: one output: the loss (times its
   * weight), and the accuracy when compiled with it; several: [weighted total loss, each output's
   * mean loss…, each accuracy (outputs compiled with accuracy)…]. Nothing is read back.
   */
  evaluateTensors(xs: Examples[], ys: Labels[], batchSize: number): GpuTensor | GpuTensor[] {
    const rows = this.evaluateInto('evaluate', xs, ys, batchSize);
    const { ctx } = this;
    const outs = this.view.outputs!;
    const temps: GPUBuffer[] = [];
    const temp = (floats: number) => {
      const b = ctx.buffer(floats);
      temps.push(b);
      return b;
    };
    const scalarT = () => new GpuTensor(ctx, [], ctx.buffer(1));
    // Per output: [mean loss, accuracy] = its stats slot / rows.
    const slots = outs.map(() => temp(2)), metrics = outs.map(() => temp(2));
    ctx.submit([], outs.map((_, i) => [this.stats, 8 * i, slots[i], 0, 8]));
    const fins = outs.map((_, i) => k.finishMetrics(ctx, slots[i], 1, rows[i], metrics[i]));
    const loss = scalarT();
    const dispatches: Dispatch[] = [];
    if (outs.length === 1 && outs[0].weight === 1) ctx.submit(fins, [[metrics[0], 0, loss.buffer, 0, 4]]);
    else {
      // Σ weight·mean as a 1×1×n gemm: means (a row) · weights (a column).
      const means = temp(outs.length), weights = temp(outs.length);
      ctx.write(weights, Float32Array.from(outs, (o) => o.weight));
      ctx.submit(fins, outs.map((_, i) => [metrics[i], 0, means, 4 * i, 4]));
      dispatches.push(k.gemm(ctx, 1, 1, outs.length, k.ref(means), false, k.ref(weights), false, k.ref(loss.buffer)));
    }
    // The regularization penalty's mean joins the total (loss += penalty · 1).
    if (this.plans.size && [...this.plans.values()].some((p) => p.penaltyAdd)) {
      ctx.write(this.scale, new Float32Array([1]));
      dispatches.push(k.gemm(ctx, 1, 1, 1, k.ref(this.stats, this.penaltySlot + 1), false, k.ref(this.scale), false, k.ref(loss.buffer), { accumulate: true }));
    }
    const result = [loss];
    const copies: [GPUBuffer, number, GPUBuffer, number, number][] = [];
    if (outs.length > 1) {
      outs.forEach((_, i) => {
        const t = scalarT();
        copies.push([metrics[i], 0, t.buffer, 0, 4]);
        result.push(t);
      });
    }
    outs.forEach((o, i) => {
      if (!o.acc) return;
      const t = scalarT();
      copies.push([metrics[i], 4, t.buffer, 0, 4]);
      result.push(t);
    });
    ctx.submit(dispatches, copies);
    for (const d of [...fins, ...dispatches]) d.uniform.destroy();
    for (const b of temps) b.destroy();
    return result.length === 1 ? result[0] : result;
  }

  /** Outputs for x: one GpuTensor [N, ...outputShape] per output (a single one for one output); nothing is read back. */
  predict(xs: Examples[], batchSize: number): GpuTensor | GpuTensor[] {
    this.ctx.check('predict');
    this.uploadWeights();
    const g = this.view.graph;
    const count = xs[0].count;
    const per = g.outputs.map((t) => sizeOfShape(t.sampleShape));
    const results = g.outputs.map((t, i) => new GpuTensor(this.ctx, [count, ...t.sampleShape], this.ctx.buffer(count * per[i], 'predictions')));
    const idx = Int32Array.from({ length: count }, (_, i) => i);
    for (let start = 0; start < count; start += batchSize) {
      const n = Math.min(batchSize, count - start);
      const p = this.plan(n, false, false);
      this.upload(p, xs, undefined, idx, start, n);
      this.ctx.submit(p.forward, p.outputs.map((o, i) => [o.out.buf, o.out.off * 4, results[i].buffer, start * per[i] * 4, n * per[i] * 4]));
    }
    return results.length === 1 ? results[0] : results;
  }

  dispose(): void {
    for (const p of this.plans.values()) {
      p.program.free();
      for (const d of p.dispatches) d.uniform.destroy();
      p.kernels.dispose();
    }
    this.plans.clear();
    for (const b of [this.params, this.grads, this.stats, this.scale, ...this.slots]) b.destroy();
    this.gradScratch?.destroy();
    this.gradScratch = undefined;
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
