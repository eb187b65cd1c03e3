/// <reference types="@webgpu/types" />
// Runs a model's training step, evaluation and prediction on the GPU with the same program as the
// wasm planner (src/model/planner.ts): the same step list (execNodes(graph, false, …): one step
// per node), the same flat parameter layout (WeightSpec.offset), loss and optimizer formulas, and
// the same gradient rules — a tensor read by several steps gets the sum of their gradients (first
// contribution written, later ones added, in reverse step order), a layer applied several times
// gets its weight gradients summed over its applications — so fit/evaluate/predict give the same
// numbers within float tolerance on any graph.
//
// Residency: parameters, gradients, optimizer slots and every activation live in GPU buffers (one
// buffer per tensor, one per gradient contribution). Per batch only the examples, the labels (and
// dropout masks, drawn from the model's seeded RNG as the wasm layer does) go up; fit reads back
// each output's loss and correct count (8 bytes per output), evaluate its sums, predict nothing
// (it returns GpuTensors). The wasm heap stays the home of the weights between calls: each call
// uploads them, fit copies weights and optimizer state back at every epoch end, so
// getWeights/save/setWeights and switching backends keep working.
//
// Each (batch size, training, logits) gets a plan: buffers and every dispatch recorded once, then
// replayed per batch (only uniform values such as Adam's step size are rewritten).

import { runtime } from '../backend/runtime.js';
import type { Rng } from '../data/batches.js';
import { conv2dGeometry } from '../ops/conv.js';
import { poolGeometry } from '../ops/pool.js';
import { sizeOfShape, type Layer } from '../layers/layer.js';
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { InputLayer } from '../layers/input.js';
import { MergeLayer } from '../layers/merge-layer.js';
import { AveragePooling2D, MaxPooling2D } from '../layers/pooling.js';
import { Activation, Dropout, Flatten } from '../layers/reshaping.js';
import { AdamOptimizer, MomentumOptimizer, SGDOptimizer, type Optimizer } from '../model/optimizers.js';
import type { Examples, Labels } from '../model/examples.js';
import type { Graph } from '../model/graph.js';
import type { OutputLoss } from '../model/layers-model.js';
import { execNodes } from '../model/planner.js';
import type { Dispatch } from './context.js';
import { GpuContext } from './context.js';
import * as k from './dispatches.js';
import { GpuTensor } from './gpu-tensor.js';
import { GEMM_TILE } from './kernels/gemm.js';
import { concatBackward, concatForward, gpuConcatPlan, gpuMergeBackward, gpuMergeForward, planGpuMerge, type GpuMergeKind } from './merge-dispatches.js';

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
  masks: { layer: Dropout; buf: GPUBuffer; n: number }[];
  owned: GPUBuffer[];
  dispatches: Dispatch[];
  /** Frees what merge plans hold (geometry tables, scratch). */
  cleanup: (() => void)[];
}

type Act = k.GpuActivation | 'softmax';
/** A weight's gradient slot: the real gradients, or the scratch for a shared layer's later applications. */
type GradRef = (l: Layer, i: number) => k.Ref;
/** Records a step's backward into `list`; returns one input gradient per input (undefined: none). */
type Back = (dy: k.Ref, G: GradRef, list: Dispatch[]) => (k.Ref | undefined)[];

const perRow = (o: OutputLoss) => sizeOfShape(o.shape) / o.shape[o.shape.length - 1];

const MERGE_KINDS: Record<string, GpuMergeKind> = {
  Add: 'add', Subtract: 'subtract', Multiply: 'multiply', Average: 'average', Maximum: 'maximum', Minimum: 'minimum',
};

function hasGpuMerge(l: MergeLayer): boolean {
  return l.className in MERGE_KINDS || l.className === 'Concatenate';
}

/**
 * A merge node's dispatches for batch B (the GPU twin of src/layers/merge.ts): inputs xs with
 * per-example shapes `shapes`, output y, input gradients dxs (undefined: not needed).
 */
function buildMergeStep(ctx: GpuContext, l: MergeLayer, B: number, training: boolean, xs: k.Ref[], shapes: number[][], y: GPUBuffer,
  dxs: (GPUBuffer | undefined)[]): { forward: Dispatch[]; backward: (dy: k.Ref) => Dispatch[]; destroy: () => void } {
  const dyBuf = (dy: k.Ref) => {
    if (dy.off) throw new Error(`webgpu: internal error: ${l.name}'s output gradient at an offset`);
    return dy.buf;
  };
  if (l.className === 'Concatenate') {
    const axis = (l as unknown as { axis: number }).axis;
    const full = shapes.map((s) => [B, ...s]);
    const a = axis < 0 ? axis + full[0].length : axis;
    const plan = gpuConcatPlan(full, a);
    return {
      forward: concatForward(ctx, plan, xs, y),
      backward: (dy) => concatBackward(ctx, plan, dyBuf(dy), dxs),
      destroy: () => {},
    };
  }
  const kind = MERGE_KINDS[l.className];
  if (!kind) throw new Error(`${l.name}: merge layer ${l.className} has no WebGPU implementation; use setBackend('wasm')`);
  const outShape = [B, ...l.outShape];
  // A lower-rank input gains size-1 axes right after the batch (Keras expands dims at axis 1).
  const ins = shapes.map((s) => [B, ...new Array<number>(l.outShape.length - s.length).fill(1), ...s]);
  const plan = planGpuMerge(ctx, kind, outShape, ins, training);
  return {
    forward: gpuMergeForward(ctx, plan, xs, y),
    backward: (dy) => gpuMergeBackward(ctx, plan, xs, y, dyBuf(dy), dxs),
    destroy: () => plan.destroy(),
  };
}

export class GpuRunner {
  private params: GPUBuffer;
  private grads: GPUBuffer;
  /** Weight gradients of the second and later applications of a shared layer (made on demand). */
  private gradScratch?: GPUBuffer;
  private slots: GPUBuffer[] = [];
  private optStep?: Dispatch;
  /** Per output: [loss sum, correct count]. */
  private stats: GPUBuffer;
  /** One float 1.0: the A operand of the gemm that accumulates (dst += 1·src). */
  private one: GPUBuffer;
  private plans = new Map<string, Plan>();
  private stage = { ptr: 0, floats: 0 };
  /** Frozen layers' weights saved across the optimizer step (grown on demand). */
  private frozenSave?: GPUBuffer;

  constructor(readonly ctx: GpuContext, private view: ModelView) {
    const n = Math.max(1, view.paramCount);
    for (const node of view.graph.nodes) this.supported(node.layer);
    this.params = ctx.buffer(n, 'params');
    this.grads = ctx.buffer(n, 'grads');
    this.stats = ctx.buffer(2 * Math.max(1, view.graph.outputs.length), 'stats');
    this.one = ctx.buffer(1, 'one');
    ctx.write(this.one, new Float32Array([1]));
  }

  /** The model's compile/optimizer/graph changed: rebuild what depends on it. */
  matches(ctx: GpuContext, view: ModelView): boolean {
    return ctx === this.ctx && view.optimizer === this.view.optimizer && view.outputs === this.view.outputs &&
      view.params === this.view.params && view.paramCount === this.view.paramCount && view.graph === this.view.graph;
  }

  private supported(l: Layer): void {
    const ok = l instanceof Conv2D || l instanceof Dense || l instanceof MaxPooling2D || l instanceof AveragePooling2D ||
      l instanceof Flatten || l instanceof Activation || l instanceof Dropout || (l instanceof MergeLayer && hasGpuMerge(l));
    if (!ok) throw new Error(`${this.view.name}: layer ${l.name} (${l.className}) has no WebGPU implementation; use setBackend('wasm')`);
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

  /** dst += src over n floats (a gemm 1×n×1 with A = [1]: exact, no kernel of its own). */
  private accumulate(src: k.Ref, dst: k.Ref, n: number): Dispatch[] {
    const out: Dispatch[] = [];
    // A dispatch holds at most 65535 column tiles.
    const chunk = 65535 * GEMM_TILE;
    for (let at = 0; at < n; at += chunk) {
      const m = Math.min(chunk, n - at);
      out.push(k.gemm(this.ctx, 1, m, 1, k.ref(this.one), false, k.ref(src.buf, src.off + at), false, k.ref(dst.buf, dst.off + at), { accumulate: true }));
    }
    return out;
  }

  private build(B: number, training: boolean, logits: boolean): Plan {
    const { ctx, view } = this;
    const g = view.graph;
    const owned: GPUBuffer[] = [];
    const buf = (floats: number, label: string) => {
      const b = ctx.buffer(floats, label);
      owned.push(b);
      return b;
    };
    const P = (l: Layer, i: number) => k.ref(this.params, l.weights[i].offset);
    const realG: GradRef = (l, i) => k.ref(this.grads, l.weights[i].offset);
    const forward: Dispatch[] = [], backward: Dispatch[] = [], losses: Dispatch[] = [];
    const masks: Plan['masks'] = [];
    const cleanup: (() => void)[] = [];
    const floatsOf = (shape: number[]) => B * sizeOfShape(shape);

    const inputs = g.inputs.map((t) => buf(floatsOf(t.sampleShape), `${t.sourceLayer.name}/x`));
    /** Each tensor's activations, by tensor id. */
    const act = new Map<number, k.Ref>();
    g.inputs.forEach((t, i) => act.set(t.id, k.ref(inputs[i])));

    /** Activation forward from pre into y; returns nothing (y is the caller's). */
    const activate = (a: Act, rows: number, cols: number, pre: k.Ref, y: GPUBuffer) => {
      if (a === 'softmax') forward.push(k.softmaxRows(ctx, rows, cols, pre, y));
      else forward.push(k.actForward(ctx, a, rows * cols, pre, k.ref(y)));
    };
    const activateBack = (a: Act, rows: number, cols: number, y: GPUBuffer, dy: k.Ref, list: Dispatch[]) => {
      if (a === 'linear') return;
      if (a === 'softmax') list.push(k.softmaxBackward(ctx, rows, cols, y, dy.buf));
      else list.push(k.actBackward(ctx, a, rows * cols, k.ref(y), dy));
    };

    // The wasm program's step list, unfused: one step per node, in topological order.
    const steps = execNodes(g, false, new Set(g.outputs.map((t) => t.id)));
    const backs: Back[] = [];
    const needDxOf = steps.map((e) => e.inputs.map((t) => training && !(t.sourceLayer instanceof InputLayer)));

    steps.forEach((e, si) => {
      const l = e.nodes[0].layer;
      const xs = e.inputs.map((t) => act.get(t.id)!);
      const needDx = needDxOf[si];
      const outN = floatsOf(e.output.sampleShape);
      let y: k.Ref;
      let back: Back;
      if (l instanceof MergeLayer) {
        const yb = buf(outN, `${l.name}/y`);
        const dxs = e.inputs.map((t, j) => (needDx[j] ? buf(floatsOf(t.sampleShape), `${l.name}/dx${j}`) : undefined));
        const m = buildMergeStep(ctx, l, B, training, xs, e.inputs.map((t) => t.sampleShape), yb, dxs);
        cleanup.push(m.destroy);
        forward.push(...m.forward);
        y = k.ref(yb);
        back = (dy, _G, list) => {
          list.push(...m.backward(dy));
          return dxs.map((d) => (d ? k.ref(d) : undefined));
        };
      } else {
        const xin = xs[0];
        const inN = floatsOf(e.inputs[0].sampleShape);
        const wantDx = needDx[0];
        if (l instanceof Conv2D || l instanceof Dense) {
          const isConv = l instanceof Conv2D;
          const geo = isConv ? conv2dGeometry(l.name, [B, ...l.inShape], [...l.kernelSize, l.inShape[2], l.filters], l.strides, l.padding, l.dilationRate) : undefined;
          const rows = isConv ? geo!.M : B * sizeOfShape(l.inShape.slice(0, -1));
          const cols = isConv ? l.filters : l.units;
          const kDim = l.inShape[l.inShape.length - 1];
          const skipSoftmax = l instanceof Dense && l.fusedSoftmax && logits;
          const a: Act = l.activation === 'softmax' && skipSoftmax ? 'linear' : l.activation;
          const yb = buf(outN, `${l.name}/y`);
          const pre = a === 'relu' || a === 'linear' ? yb : buf(outN, `${l.name}/pre`);
          const bias = l.useBias ? P(l, 1) : undefined;
          const col = geo && !geo.colIsInput ? buf(geo.colFloats, `${l.name}/col`) : undefined;
          if (geo) forward.push(...k.conv2dForward(ctx, geo, xin, P(l, 0), bias, k.ref(pre), col, a === 'relu'));
          else forward.push(k.gemm(ctx, rows, cols, kDim, xin, false, P(l, 0), false, k.ref(pre), { bias, relu: a === 'relu' }));
          if (pre !== yb) activate(a, rows, cols, k.ref(pre), yb);
          const dx = wantDx ? buf(inN, `${l.name}/dx`) : undefined;
          back = (dy, G, list) => {
            const fusedOut = l instanceof Dense && l.fusedSoftmax && l.activation === 'softmax';
            if (!fusedOut) activateBack(l.activation, rows, cols, yb, dy, list);
            if (geo) list.push(...k.conv2dBackpropFilter(ctx, geo, xin, dy, G(l, 0), col, true));
            else list.push(k.gemm(ctx, kDim, cols, rows, xin, true, dy, false, G(l, 0)));
            if (l.useBias) list.push(k.biasGrad(ctx, rows, cols, dy.buf, G(l, 1)));
            if (dx) {
              if (geo) list.push(...k.conv2dBackpropInput(ctx, geo, dy, P(l, 0), dx, col));
              else list.push(k.gemm(ctx, rows, kDim, cols, dy, false, P(l, 0), true, k.ref(dx)));
            }
            return [dx ? k.ref(dx) : undefined];
          };
          y = k.ref(yb);
        } else if (l instanceof MaxPooling2D || l instanceof AveragePooling2D) {
          const geo = poolGeometry(l.name, [B, ...l.inShape], l.poolSize, l.strides, l.padding);
          const yb = buf(outN, `${l.name}/y`);
          const dx = wantDx ? buf(inN, `${l.name}/dx`) : undefined;
          if (l instanceof MaxPooling2D) {
            const argmax = buf(outN, `${l.name}/argmax`);
            forward.push(k.maxPoolForward(ctx, geo, xin, yb, argmax));
            back = (dy, _G, list) => {
              if (dx) list.push(k.maxPoolBackward(ctx, geo, dy.buf, argmax, dx));
              return [dx ? k.ref(dx) : undefined];
            };
          } else {
            forward.push(k.avgPoolForward(ctx, geo, xin, yb));
            back = (dy, _G, list) => {
              if (dx) list.push(k.avgPoolBackward(ctx, geo, dy.buf, dx));
              return [dx ? k.ref(dx) : undefined];
            };
          }
          y = k.ref(yb);
        } else if (l instanceof Flatten) {
          // A view: the output is the input's buffer, the input gradient the output's.
          y = xin;
          back = (dy) => [wantDx ? dy : undefined];
        } else if (l instanceof Activation) {
          const cols = l.inShape[l.inShape.length - 1], rows = outN / cols;
          const yb = buf(outN, `${l.name}/y`);
          const a: Act = l.fusedSoftmax && logits ? 'linear' : l.activation;
          activate(a, rows, cols, xin, yb);
          back = (dy, _G, list) => {
            if (!l.fusedSoftmax) activateBack(l.activation, rows, cols, yb, dy, list);
            return [wantDx ? dy : undefined];
          };
          y = k.ref(yb);
        } else if (l instanceof Dropout) {
          const yb = buf(outN, `${l.name}/y`);
          if (training && l.rate > 0) {
            const mask = buf(outN, `${l.name}/mask`);
            masks.push({ layer: l, buf: mask, n: outN });
            if (xin.off) throw new Error(`webgpu: internal error: dropout input at an offset`);
            forward.push(k.mulMask(ctx, outN, xin.buf, mask, yb));
            back = (dy, _G, list) => {
              if (!wantDx) return [undefined];
              list.push(k.mulMaskInPlace(ctx, outN, mask, dy.buf));
              return [dy];
            };
          } else {
            forward.push(k.actForward(ctx, 'linear', outN, xin, k.ref(yb)));
            back = (dy) => [wantDx ? dy : undefined];
          }
          y = k.ref(yb);
        } else throw new Error(`${view.name}: layer ${l.name} (${l.className}) has no WebGPU implementation; use setBackend('wasm')`);
      }
      act.set(e.output.id, y);
      backs.push(back);
    });

    // ---- losses: one dispatch per output, each into its own stats slot ----
    const outs = view.outputs;
    const supported = !!outs && outs.every((o) => o.fused || o.loss === 'meanSquaredError');
    const outputs: OutputPlan[] = g.outputs.map((t, i) => {
      const out = act.get(t.id)!;
      const o = outs?.[i];
      if (!o || !supported) return { out };
      if (out.off !== 0) throw new Error('webgpu: internal error: model output at an offset');
      const classes = o.shape[o.shape.length - 1], rows = B * perRow(o);
      const labels = buf(floatsOf(t.sampleShape), `${o.name}/labels`);
      const grad = training ? buf(floatsOf(t.sampleShape), `${o.name}/dy`) : undefined;
      const loss = k.batchLoss(ctx, this.lossMode('fit', o), o.loss === 'sparseCategoricalCrossentropy', rows, classes, out.buf, labels, grad, this.stats, i, false, o.weight / rows);
      losses.push(loss);
      return { out, labels, grad, loss };
    });

    // ---- backward: the planner's gradient rules ----
    if (training) {
      if (!supported) throw new Error('webgpu: internal error: a training plan without losses');
      /** Each tensor's gradient (by tensor id): its first contribution; later ones are added in. */
      const gradOf = new Map<number, k.Ref>();
      g.outputs.forEach((t, i) => {
        const dy = k.ref(outputs[i].grad!);
        const have = gradOf.get(t.id);
        if (!have) gradOf.set(t.id, dy);
        else backward.push(...this.accumulate(dy, have, floatsOf(t.sampleShape)));
      });
      const seen = new Set<Layer>();
      let scratchG: GradRef | undefined;
      for (let i = steps.length - 1; i >= 0; i--) {
        const e = steps[i];
        const dy = gradOf.get(e.output.id);
        if (!dy) throw new Error(`webgpu: internal error: no gradient reaches ${e.nodes[0].layer.name}`);
        // A shared layer: the first backward (its last application) writes the weight gradients,
        // later ones write the scratch, which is then added in (as the wasm runBackward).
        const layers = e.nodes.map((n) => n.layer).filter((l) => l.weights.length);
        const again = layers.some((l) => seen.has(l));
        for (const l of layers) seen.add(l);
        if (again && !scratchG) {
          this.gradScratch ??= ctx.buffer(Math.max(1, view.paramCount), 'grad scratch');
          const s = this.gradScratch;
          scratchG = (l, j) => k.ref(s, l.weights[j].offset);
        }
        const list: Dispatch[] = [];
        const dxs = backs[i](dy, again ? scratchG! : realG, list);
        if (again) {
          for (const l of layers) {
            for (const w of l.weights) list.push(...this.accumulate(k.ref(this.gradScratch!, w.offset), k.ref(this.grads, w.offset), sizeOfShape(w.shape)));
          }
        }
        e.inputs.forEach((t, j) => {
          if (!needDxOf[i][j]) return;
          const dx = dxs[j];
          if (!dx) throw new Error(`webgpu: internal error: ${e.nodes[0].layer.name} gave no input gradient`);
          const have = gradOf.get(t.id);
          if (!have) gradOf.set(t.id, dx);
          else list.push(...this.accumulate(dx, have, floatsOf(t.sampleShape)));
        });
        backward.push(...list);
      }
    }
    return { batch: B, inputs, outputs, forward, losses, backward, masks, owned, dispatches: [...forward, ...losses, ...backward], cleanup };
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
  async trainStep(xs: Examples[], ys: Labels[], idx: Int32Array, start: number, n: number): Promise<{ lossSum: number; correct: number }[]> {
    this.ctx.check('fit');
    const outs = this.compiled('fit');
    const p = this.plan(n, true, this.anyFused);
    this.upload(p, xs, ys, idx, start, n);
    for (const m of p.masks) {
      // The wasm Dropout draws the same numbers in the same order (step order, element order).
      const keep = 1 / (1 - m.layer.rate), rng = m.layer.rng ?? this.view.rng;
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
    if (!frozen.length) this.ctx.submit([...p.forward, ...p.losses, ...p.backward, this.optStep!]);
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
      this.ctx.submit([...p.forward, ...p.losses, ...p.backward], save);
      for (const r of frozen) this.ctx.write(this.grads, new Float32Array(r.n), r.off);
      this.ctx.submit([this.optStep!], restore);
    }
    const s = await this.ctx.read('fit', this.stats, 2 * outs.length);
    return outs.map((_, i) => ({ lossSum: s[2 * i], correct: s[2 * i + 1] }));
  }

  /** Float ranges [off, off + n) of the parameters of layers with trainable: false (read each step: callbacks may toggle it). */
  private frozenRanges(): { off: number; n: number }[] {
    return this.view.weightLayers.filter((l) => !l.trainable).flatMap((l) => l.weights)
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
    for (let start = 0; start < count; start += batchSize) {
      const n = Math.min(batchSize, count - start);
      const p = this.plan(n, false, this.anyFused);
      this.upload(p, xs, ys, idx, start, n);
      outs.forEach((o, i) => {
        const rows = n * perRow(o);
        this.ctx.setUniforms(p.outputs[i].loss!, [rows, o.shape[o.shape.length - 1], o.fused ? 0 : 1,
          o.loss === 'sparseCategoricalCrossentropy' ? 1 : 0, 0, i, first ? 0 : 1, o.weight / rows]);
      });
      this.ctx.submit([...p.forward, ...p.losses]);
      first = false;
    }
    // Averages over output rows, not examples (Keras; as the wasm evaluate): a rank > 1 output holds several per example.
    return outs.map((o) => count * perRow(o));
  }

  /** Per output: summed loss, correct count and rows over x (fit's validation). */
  async evaluate(op: string, xs: Examples[], ys: Labels[], batchSize: number): Promise<{ lossSum: number; correct: number; rows: number }[]> {
    const rows = this.evaluateInto(op, xs, ys, batchSize);
    const s = await this.ctx.read(op, this.stats, 2 * rows.length);
    return rows.map((r, i) => ({ lossSum: s[2 * i], correct: s[2 * i + 1], rows: r }));
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
      for (const b of p.owned) b.destroy();
      for (const d of p.dispatches) d.uniform.destroy();
      for (const f of p.cleanup) f();
    }
    this.plans.clear();
    for (const b of [this.params, this.grads, this.stats, this.one, ...this.slots]) b.destroy();
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
