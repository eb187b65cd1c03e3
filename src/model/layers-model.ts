// tf.model / tf.LayersModel: a graph of layer applications between input and output symbolic
// tensors, trained with one flat parameter buffer, one flat gradient buffer and per-batch-size
// programs (planner.ts), so a training step allocates nothing. Sequential is this class with a
// one-path graph: there is one runtime.

import { getThreads, runtime } from '../backend/runtime.js';
import { createRng, range, shuffle, type Rng } from '../data/batches.js';
import { argError, assertPositiveInt } from '../errors.js';
import { initialize } from '../layers/initializers.js';
import { InputLayer, input as symbolicInput } from '../layers/input.js';
import { Layer, setEagerApply, SymbolicTensor, sizeOfShape, type LayerNode, type StepContext, type WeightSpec } from '../layers/layer.js';
import { Activation, Dropout } from '../layers/reshaping.js';
import { SpatialDropout2D } from '../layers/preprocessing.js';
import { Dense } from '../layers/dense.js';
import { Softmax } from '../layers/activation-layers.js';
import { allocTensor, scalar, Tensor } from '../tensor.js';
import { toExamples, toLabels, Uint8Images, type Examples, type Labels, type XInput, type YInput } from './examples.js';
import { History, type Callbacks, type Logs } from './history.js';
import { batchLoss, resolveLoss, type LossName } from './losses.js';
import { firstNonFinite } from '../ops/loss.js';
import { wasmKernels } from '../backend/wasm-kernels.js';
import { Optimizer, resolveOptimizer } from './optimizers.js';
import { summaryLines } from './summary.js';
import { globalSeed } from './seed.js';
import { saveModel, type IOHandler, type SaveResult } from './save-load.js';
import { activeGpu, backendReady, loadedGpuModule } from '../backend/backend.js';
import type { ModelView } from '../webgpu/model-runner.js';
import type { OnnxExportOptions } from '../export/onnx.js';
import { buildGraph, type Graph } from './graph.js';
import { planProgram, type Program } from './planner.js';
import { functionalTopology } from './topology.js';

export interface CompileArgs {
  optimizer: string | Optimizer;
  /** One loss for every output, one per output (array, in output order), or an object keyed by output name. */
  loss: string | string[] | Record<string, string>;
  /** Metrics for every output, per output (array of arrays), or an object keyed by output name. */
  metrics?: string[] | string[][] | Record<string, string | string[]>;
  /** Weights of the outputs' losses in the total (default 1 each). */
  lossWeights?: number[] | Record<string, number>;
}

/** Per output: loss sum, correct count and rows; and the mean regularization penalty per example. */
export interface EvalSums {
  outputs: { lossSum: number; correct: number; rows: number }[];
  penalty: number;
}

/** A model input: a Tensor, uint8 images, an array of them (one per input) or an object keyed by input name. */
export type ModelX = XInput | XInput[] | Record<string, XInput>;
/** Labels: one per output, as an array or an object keyed by output name, or one Tensor / array for one output. */
export type ModelY = YInput | YInput[] | Record<string, YInput>;

export interface FitArgs {
  epochs?: number;
  batchSize?: number;
  validationData?: [ModelX, ModelY];
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


/** A compiled output: its loss, weight in the total, metric, and whether the loss applies its softmax. */
export interface OutputLoss {
  name: string;
  loss: LossName;
  weight: number;
  acc: boolean;
  fused: boolean;
  shape: number[];
}

interface Plan {
  program: Program;
  /** Per output: the labels of the batch (allocated on first use: predict needs none). */
  labels: number[];
  stats: number;
  /** A second flat gradient buffer for the second and later applications of a shared layer. */
  gradScratch: number;
}

/** Where a weight's values currently live: the model whose flat buffer holds them (see acquire()). */
interface WeightHome {
  home?: LayersModel;
  /** Values kept when the home model was disposed. */
  orphan?: Float32Array;
}

/** Source of weightsVersion values: one counter for all models, so no two weight states share a number. */
let weightsVersions = 0;

export class LayersModel {
  /**
   * @internal Buffer bytes the cached plans other than the newest may hold together: a big
   * network's plan at batch 8 holds hundreds of MB of activation slots (ResNet-50: ~0.6 GB), and a
   * few batch sizes and thread counts would otherwise fill the wasm memory (measured: out of
   * memory at its 2 GB limit in one benchmark process).
   */
  static planCacheBytes = 256 << 20;
  readonly name: string;
  /** The seed used for initialization, shuffling and dropout. */
  readonly seed: number;
  /** @internal The model's seeded generator (initialization, shuffling, dropout). */
  readonly rng: Rng;
  private graphCache?: Graph;
  /** @internal Byte addresses of the flat parameter and gradient buffers, and their floats. */
  params = 0;
  paramCount = 0;
  private gradsPtr = 0;
  /** @internal See StepContext.weightsVersion; bumped by every write to params (touchWeights). */
  weightsVersion = 0;
  /** Float offset of each weight in this model's flat buffers. */
  private layout = new Map<WeightSpec, number>();
  private plans = new Map<string, Plan>();
  /**
   * @internal Apply the fusion rules (src/model/fusion.ts) when planning; bit-identical to running
   * the layers apart (tests turn it off to check exactly that).
   */
  fuseLayers = true;
  /** @internal */
  optimizer?: Optimizer;
  private outputLosses?: OutputLoss[];
  private disposed = false;
  /** Set by callbacks (as in tfjs) to end fit() after the current batch. */
  stopTraining = false;

  constructor(args: { inputs?: SymbolicTensor | SymbolicTensor[]; outputs?: SymbolicTensor | SymbolicTensor[]; name?: string; seed?: number }) {
    if (!args || typeof args !== 'object') throw argError('model', 'args', args, 'an object like {inputs, outputs}');
    this.name = args.name ?? this.defaultName();
    const seed = args.seed ?? globalSeed() ?? Math.floor(Math.random() * 2 ** 32);
    if (!Number.isFinite(seed)) throw argError(this.name, 'seed', seed, 'a finite number');
    this.seed = seed;
    this.rng = createRng(seed);
    if (this.isFunctional()) this.graphCache = buildGraph(this.name, args.inputs, args.outputs);
  }

  protected defaultName(): string {
    return 'model';
  }
  /** Sequential makes its graph when built; a functional model has it from the constructor. */
  protected isFunctional(): boolean {
    return true;
  }

  /** @internal The model's graph (Sequential: its chain, made on first use). */
  graph(): Graph {
    if (!this.graphCache) this.graphCache = this.makeGraph();
    return this.graphCache;
  }
  protected makeGraph(): Graph {
    throw new Error(`model '${this.name}' has no graph`);
  }
  protected dropGraph(): void {
    this.graphCache = undefined;
  }

  protected checkAlive(op: string): void {
    if (this.disposed) throw new Error(`${op}: the model '${this.name}' was disposed`);
  }

  /** The layers, inputs first, in the order the graph runs them (tfjs' model.layers). */
  get layers(): Layer[] {
    return this.graph().layers;
  }
  get inputs(): SymbolicTensor[] {
    return this.graph().inputs;
  }
  get outputs(): SymbolicTensor[] {
    return this.graph().outputs;
  }
  /** Names of the outputs, as Keras names them (the output layers' names). */
  get outputNames(): string[] {
    return this.graph().outputs.map((t) => t.sourceLayer.name);
  }
  get inputNames(): string[] {
    return this.graph().inputs.map((t) => t.sourceLayer.name);
  }
  /** The first input's example shape (without batch). */
  get inputShape(): number[] {
    return this.graph().inputs[0].sampleShape;
  }
  /** The first output's example shape (without batch). */
  get outputShape(): number[] {
    return this.graph().outputs[0].sampleShape;
  }
  /** The non-input layers (whose weights the model holds). */
  /** @internal */
  weightLayers(): Layer[] {
    return this.layers.filter((l) => !(l instanceof InputLayer));
  }

  /** Lays out the flat parameter buffer and initializes (or takes over) the weights, once. */
  build(opts: { initialize?: boolean } = {}): void {
    this.checkAlive('build');
    if (this.params) return;
    const layers = this.weightLayers();
    let offset = 0;
    for (const l of layers) {
      for (const w of l.weights) {
        this.layout.set(w, offset);
        // Keep every weight 16-float aligned so SIMD loads of a bias or kernel start on a cache line.
        offset += Math.ceil(sizeOfShape(w.shape) / 16) * 16;
      }
      if (l instanceof Dropout || l instanceof SpatialDropout2D) l.rng = this.rng;
    }
    this.paramCount = offset;
    const heap = runtime().heap;
    this.params = heap.alloc(Math.max(1, offset) * 4);
    heap.f32.fill(0, this.params >>> 2, (this.params >>> 2) + offset);
    this.touchWeights();
    for (const l of layers) {
      for (const w of l.weights) {
        const h = w as WeightSpec & WeightHome;
        if (h.home || h.orphan) continue;
        // A model whose weights come from a file next skips the random draws (MobileNetV2: 150 ms
        // of Gaussian sampling at load, all of it overwritten): its buffer stays zero until then.
        if (opts.initialize !== false) {
          const values = new Float32Array(sizeOfShape(w.shape));
          initialize(w.init, w.shape, this.rng, values);
          heap.f32.set(values, (this.params >>> 2) + this.layout.get(w)!);
        }
        w.offset = this.layout.get(w)!;
        h.home = this;
      }
    }
    this.acquire();
  }

  /**
   * Makes this model's flat buffer the home of every weight it uses. A layer shared with another
   * model (a model used inside another, transfer learning) has one set of values: whichever model
   * ran last holds them, and the next model to run copies them over first.
   */
  /** @internal */
  acquire(): void {
    const heap = runtime().heap;
    for (const [w, off] of this.layout) {
      const h = w as WeightSpec & WeightHome;
      if (h.home === this) continue;
      const n = sizeOfShape(w.shape);
      const dst = (this.params >>> 2) + off;
      if (h.home) {
        const src = (h.home.params >>> 2) + w.offset;
        heap.f32.copyWithin(dst, src, src + n);
      } else if (h.orphan) heap.f32.set(h.orphan, dst);
      this.touchWeights();
      h.orphan = undefined;
      h.home = this;
      w.offset = off;
    }
  }

  compile(args: CompileArgs): void {
    this.checkAlive('compile');
    if (!args || typeof args !== 'object') throw argError('compile', 'args', args, "an object like {optimizer: 'adam', loss: 'sparseCategoricalCrossentropy'}");
    this.build();
    const optimizer = resolveOptimizer(args.optimizer);
    const g = this.graph();
    const names = this.outputNames;
    const perOutput = <T>(arg: string, v: unknown, fallback: T | undefined, isOne: (v: unknown) => boolean): T[] => {
      if (v === undefined) {
        if (fallback === undefined) throw argError('compile', arg, v, `a value for each of the outputs ${names.join(', ')}`);
        return names.map(() => fallback);
      }
      if (isOne(v)) return names.map(() => v as T);
      if (Array.isArray(v)) {
        if (v.length !== names.length) throw argError('compile', arg, v, `${names.length} entries, one per output (${names.join(', ')})`);
        return v as T[];
      }
      if (v && typeof v === 'object') {
        const o = v as Record<string, T>;
        const extra = Object.keys(o).filter((k) => !names.includes(k));
        if (extra.length) throw argError('compile', arg, v, `an object keyed by output names (${names.join(', ')}); ${extra.join(', ')} ${extra.length > 1 ? 'are' : 'is'} not an output`);
        return names.map((n) => {
          if (!(n in o)) {
            if (fallback === undefined) throw argError('compile', arg, v, `an entry for output ${n}`);
            return fallback;
          }
          return o[n];
        });
      }
      throw argError('compile', arg, v, `one value, an array with one per output, or an object keyed by output name (${names.join(', ')})`);
    };
    const losses = perOutput<string>('loss', args.loss, undefined, (v) => typeof v === 'string').map((l) => resolveLoss(l));
    const weights = perOutput<number>('lossWeights', args.lossWeights, 1, (v) => typeof v === 'number');
    weights.forEach((w, i) => {
      if (typeof w !== 'number' || !Number.isFinite(w)) throw argError('compile', `lossWeights (${names[i]})`, w, 'a finite number');
    });
    const metricsOf = (m: unknown): boolean => {
      const list = m === undefined || m === null ? [] : typeof m === 'string' ? [m] : m;
      if (!Array.isArray(list) || list.some((x) => !METRIC_NAMES.includes(x))) {
        throw argError('compile', 'metrics', args.metrics, "an array of 'accuracy' (the one metric supported), or one per output");
      }
      return list.length > 0;
    };
    let accs: boolean[];
    const m = args.metrics;
    if (m === undefined) accs = names.map(() => false);
    else if (Array.isArray(m) && m.every((x) => typeof x === 'string')) accs = names.map(() => metricsOf(m));
    else accs = perOutput<unknown>('metrics', m, [], () => false).map(metricsOf);
    this.optimizer?.dispose();
    this.optimizer = optimizer;
    // Softmax output + cross-entropy: the loss kernel applies the softmax (fused, stable), where the
    // output is read by nothing else and its layer is applied once.
    for (const l of this.weightLayers()) if (l instanceof Dense || l instanceof Activation || l instanceof Softmax) l.fusedSoftmax = false;
    this.outputLosses = g.outputs.map((o, i) => {
      const l = o.sourceLayer;
      const fused = losses[i] !== 'meanSquaredError' && (l instanceof Dense || l instanceof Activation || l instanceof Softmax) && l.activation === 'softmax' &&
        l.inboundNodes.length === 1 && !(g.consumers.get(o.id)?.length) && g.outputs.filter((x) => x === o).length === 1;
      if (fused) (l as Dense | Activation | Softmax).fusedSoftmax = true;
      return { name: names[i], loss: losses[i], weight: weights[i], acc: accs[i], fused, shape: o.sampleShape };
    });
    this.freePlans();
  }

  /** @internal */
  get compiledLosses(): readonly OutputLoss[] | undefined {
    return this.outputLosses;
  }

  private get anyFused(): boolean {
    return !!this.outputLosses?.some((o) => o.fused);
  }

  private plan(batch: number, training: boolean, keepAll = false): Plan {
    // Conv layers size their per-thread scratch for the current thread count.
    const key = `${batch}:${training}:${keepAll}:${getThreads()}:${this.fuseLayers}`;
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
    const g = this.graph();
    const program = planProgram(g, { batch, training, fuse: this.fuseLayers, keepAll }, wasmKernels);
    const shared = training && program.steps.some((e, i) => e.nodes.some((n) => program.steps.some((f, j) => j !== i && f.nodes.some((m) => m !== n && m.layer === n.layer && n.layer.weights.length))));
    p = {
      program,
      labels: [],
      stats: heap.alloc(64),
      gradScratch: shared ? heap.alloc(Math.max(1, this.paramCount) * 4) : 0,
    };
    this.plans.set(key, p);
    const bytes = (q: Plan) => q.program.activationBytes + q.program.gradientBytes;
    let held = 0;
    for (const q of this.plans.values()) if (q !== p) held += bytes(q);
    while (held > LayersModel.planCacheBytes) {
      const [oldest, old] = this.plans.entries().next().value as [string, Plan];
      held -= bytes(old);
      this.freePlan(old);
      this.plans.delete(oldest);
    }
    return p;
  }

  /** The plan's label buffers, one per output. */
  private labelsOf(p: Plan): number[] {
    if (!p.labels.length) {
      const heap = runtime().heap;
      p.labels = this.graph().outputs.map((o) => heap.alloc(Math.max(4, p.program.batch * sizeOfShape(o.sampleShape) * 4)));
    }
    return p.labels;
  }

  private freePlan(p: Plan): void {
    const heap = runtime().heap;
    p.program.free();
    for (const ptr of [...p.labels, p.stats, p.gradScratch]) if (ptr) heap.free(ptr);
  }

  private freePlans(): void {
    for (const p of this.plans.values()) this.freePlan(p);
    this.plans.clear();
  }

  /**
   * @internal The flat gradient buffer (same layout as params), allocated on the first training
   * step: a model that only predicts never holds a second copy of its weights' size.
   */
  get grads(): number {
    if (!this.gradsPtr && this.params) {
      const heap = runtime().heap, n = Math.max(1, this.paramCount);
      this.gradsPtr = heap.alloc(n * 4);
      heap.f32.fill(0, this.gradsPtr >>> 2, (this.gradsPtr >>> 2) + n);
    }
    return this.gradsPtr;
  }

  /** @internal The parameters may have changed (every writer of params calls it). */
  touchWeights(): void {
    this.weightsVersion = ++weightsVersions;
  }

  private ctx(batch: number, training: boolean, logits: boolean): StepContext {
    // A training step writes parameters (moving statistics in the forward, the optimizer after it).
    if (training) this.touchWeights();
    return { k: wasmKernels, params: this.params, grads: training ? this.grads : 0, batch, training, logits, weightsVersion: this.weightsVersion };
  }

  /** Backward with the gradients of shared layers summed over their applications. */
  private runBackward(p: Plan, ctx: StepContext): void {
    if (!p.gradScratch) {
      p.program.backward(ctx);
      return;
    }
    // Steps run last to first; a layer's first backward writes the real gradients, later ones
    // write into the scratch buffer and are added in (each weight overwritten, then summed).
    const seen = new Set<Layer>();
    const scratchCtx: StepContext = { ...ctx, grads: p.gradScratch };
    p.program.backward(ctx, (step) => {
      const layers = step.nodes.map((n) => n.layer).filter((l) => l.weights.length);
      const again = layers.some((l) => seen.has(l));
      for (const l of layers) seen.add(l);
      if (!again) return { ctx, after: undefined };
      return {
        ctx: scratchCtx,
        after: () => {
          for (const l of layers) for (const w of l.weights) wasmKernels.addInto(sizeOfShape(w.shape), p.gradScratch + w.offset * 4, this.grads + w.offset * 4);
        },
      };
    });
  }

  /** Rows each output's loss averages over, per example (Keras: every position of a rank > 1 output). */
  /** @internal */
  static perRow(o: OutputLoss): number {
    return sizeOfShape(o.shape) / o.shape[o.shape.length - 1];
  }

  /** Forward, losses and backward on examples idx[start..start+n), leaving dL/dparams in the gradient buffer. */
  /** @internal */
  gradientStep(x: Examples[], y: Labels[], idx: Int32Array, start: number, n: number) {
    this.acquire();
    const p = this.plan(n, true);
    x.forEach((xs, i) => xs.gather(idx, start, n, p.program.inputs[i] as number));
    y.forEach((ys, i) => ys.gather(idx, start, n, this.labelsOf(p)[i]));
    const ctx = this.ctx(n, true, this.anyFused);
    p.program.forward(ctx);
    const r = this.outputLosses!.map((o, i) => {
      const classes = o.shape[o.shape.length - 1];
      const rows = n * LayersModel.perRow(o);
      return batchLoss(o.loss, o.fused, rows, classes, p.program.outputs[i] as number, p.labels[i], p.program.outputGrads[i] as number, p.stats, o.weight);
    });
    this.runBackward(p, ctx);
    return { outputs: r, penalty: this.penaltyOf(p) };
  }

  /** The batch's regularization penalty the program's forward left (0 without regularizers). */
  private penaltyOf(p: Plan): number {
    const at = p.program.penalty;
    return at === undefined ? 0 : runtime().heap.f32[(at as number) >>> 2];
  }

  /**
   * @internal For gradient checks: the total loss over all of x, y as ONE training batch (dropout
   * active) and dL/dparams in the flat parameter layout (weightList()[i].spec.offset), no update.
   */
  lossAndGradients(x: ModelX, y: ModelY): { loss: number; grads: Float32Array } {
    this.checkAlive('lossAndGradients');
    if (!this.outputLosses) throw new Error('lossAndGradients: compile the model first: model.compile({optimizer, loss, metrics})');
    const xs = this.toInputs('lossAndGradients', x), ys = this.toTargets('lossAndGradients', y);
    this.checkData('lossAndGradients', xs, ys);
    const { outputs: r, penalty } = this.gradientStep(xs, ys, range(xs[0].count), 0, xs[0].count);
    const loss = penalty + r.reduce((t, ri, i) => t + this.outputLosses![i].weight * (ri.lossSum / (xs[0].count * LayersModel.perRow(this.outputLosses![i]))), 0);
    return { loss, grads: runtime().heap.readF32(this.grads, this.paramCount) };
  }

  /** x as one Examples per input (an array in input order, or an object keyed by input name). */
  /** @internal */
  toInputs(op: string, x: unknown): Examples[] {
    const names = this.inputNames;
    const one = (v: unknown, arg: string) => toExamples(op, arg, v);
    if (x instanceof Tensor || x instanceof Uint8Images) {
      if (names.length > 1) throw argError(op, 'x', x, `${names.length} inputs (${names.join(', ')}): an array or an object keyed by input name`);
      return [one(x, 'x')];
    }
    const isSource = (v: unknown) => v instanceof Tensor || v instanceof Uint8Images;
    if (Array.isArray(x) && (names.length > 1 || x.some(isSource))) {
      if (x.length !== names.length) throw argError(op, 'x', `an array of ${x.length}`, `${names.length} input${names.length > 1 ? 's' : ''} (${names.join(', ')})`);
      return x.map((v, i) => one(v, `x[${i}]`));
    }
    if (x && typeof x === 'object' && !Array.isArray(x) && !ArrayBuffer.isView(x) && Object.keys(x).length && Object.keys(x).every((k) => names.includes(k) || isSource((x as Record<string, unknown>)[k]))) {
      const o = x as Record<string, unknown>;
      const missing = names.filter((n) => !(n in o)), extra = Object.keys(o).filter((k) => !names.includes(k));
      if (missing.length || extra.length) throw argError(op, 'x', `an object with keys ${Object.keys(o).join(', ')}`, `the input names ${names.join(', ')}`);
      return names.map((n) => one(o[n], `x.${n}`));
    }
    return [one(x, 'x')];
  }

  /** y as one Labels per output. */
  /** @internal */
  toTargets(op: string, y: unknown): Labels[] {
    const names = this.outputNames;
    if (names.length === 1) {
      if (Array.isArray(y) && y.length === 1 && (y[0] instanceof Tensor || Array.isArray(y[0]) && names.length === 1 && typeof y[0][0] !== 'number')) {
        if (y[0] instanceof Tensor) return [toLabels(op, y[0])];
      }
      if (y && typeof y === 'object' && !(y instanceof Tensor) && !Array.isArray(y) && !ArrayBuffer.isView(y) && names[0] in (y as object)) {
        return [toLabels(op, (y as Record<string, unknown>)[names[0]])];
      }
      return [toLabels(op, y)];
    }
    if (Array.isArray(y)) {
      if (y.length !== names.length) throw argError(op, 'y', `an array of ${y.length}`, `${names.length} targets, one per output (${names.join(', ')})`);
      return y.map((v) => toLabels(op, v));
    }
    if (y && typeof y === 'object' && !(y instanceof Tensor)) {
      const o = y as Record<string, unknown>;
      const missing = names.filter((n) => !(n in o));
      if (missing.length) throw argError(op, 'y', `an object with keys ${Object.keys(o).join(', ')}`, `targets for the outputs ${names.join(', ')}`);
      return names.map((n) => toLabels(op, o[n]));
    }
    throw argError(op, 'y', y, `${names.length} targets, one per output (${names.join(', ')}): an array or an object keyed by output name`);
  }

  /** @internal */
  checkData(op: string, xs: Examples[], ys: Labels[] | undefined): void {
    const g = this.graph();
    xs.forEach((x, i) => {
      const want = g.inputs[i].sampleShape;
      if (x.sampleShape.join() !== want.join()) {
        const first = this.inputLayerLabel(i);
        throw new Error(`${op}: ${xs.length > 1 ? `x[${i}]` : 'x'} has examples of shape [${x.sampleShape}] (x shape [${x.count}, ${x.sampleShape}]), but the model's input layer ${first} expects [${want}] (inputShape) — shape x as [batch, ${want}]`);
      }
      if (x.count !== xs[0].count) throw new Error(`${op}: the inputs have different numbers of examples: ${xs.map((e) => e.count).join(', ')}`);
      if (x.count === 0) throw new Error(`${op}: x has no examples`);
    });
    if (!ys) return;
    ys.forEach((y, i) => {
      const label = ys.length > 1 ? ` (output ${this.outputNames[i]})` : '';
      if (y.count !== xs[0].count) throw new Error(`${op}: x has ${xs[0].count} examples but y${label} has ${y.count} labels; they must match`);
      const o = this.outputLosses![i];
      const out = o.shape, classes = out[out.length - 1];
      const sparse = o.loss === 'sparseCategoricalCrossentropy';
      const wantWidth = sparse ? sizeOfShape(out) / classes : sizeOfShape(out);
      if (y.width !== wantWidth) {
        throw new Error(`${op}: y${label} has ${y.width} value(s) per example, but loss '${o.loss}' with output shape [${out}] expects ${wantWidth}${sparse ? ' (a class id per example)' : ' (e.g. one-hot rows)'}`);
      }
      const v = y.values;
      for (let j = 0; j < v.length; j++) {
        if (!Number.isFinite(v[j])) throw new Error(`${op}: y${label}[${j}] is ${v[j]}; labels must be finite`);
        if (sparse && (!Number.isInteger(v[j]) || v[j] < 0 || v[j] >= classes)) {
          throw new Error(`${op}: label y${label}[${j}] = ${v[j]} is not a class index in [0, ${classes}) for ${o.loss}`);
        }
      }
    });
  }

  /** How errors name input i: Sequential says its first layer, as it always has. */
  protected inputLayerLabel(i: number): string {
    return this.graph().inputs[i].sourceLayer.name;
  }

  /** Trains on x, y (tfjs' fit). The loop is its own module (./fit.ts), loaded on first use. */
  async fit(x: ModelX, y: ModelY, args: FitArgs = {}): Promise<History> {
    this.checkAlive('fit');
    const { runFit } = await import('./fit.js');
    return runFit(this, x, y, args);
  }

  /**
   * Keras' log keys: loss (the weighted total, plus the regularization penalty) and acc for one
   * output; plus out_loss, out_acc per output for several.
   * @internal
   */
  logsOf(lossSum: number[], correct: number[], rows: number[], prefix: string, penalty = 0): Logs {
    const outs = this.outputLosses!;
    const logs: Logs = {};
    const means = lossSum.map((s, i) => s / rows[i]);
    const total = outs.length === 1 && outs[0].weight === 1 ? means[0] : means.reduce((t, m, i) => t + outs[i].weight * m, 0);
    logs[`${prefix}loss`] = penalty ? total + penalty : total;
    if (outs.length === 1) {
      if (outs[0].acc) logs[`${prefix}acc`] = correct[0] / rows[0];
      return logs;
    }
    outs.forEach((o, i) => { logs[`${prefix}${o.name}_loss`] = means[i]; });
    outs.forEach((o, i) => { if (o.acc) logs[`${prefix}${o.name}_acc`] = correct[i] / rows[i]; });
    return logs;
  }

  /** @internal */
  evaluateExamples(x: Examples[], y: Labels[], batchSize: number): EvalSums {
    const outs = this.outputLosses!;
    const acc = outs.map(() => ({ lossSum: 0, correct: 0, rows: 0 }));
    let penaltySum = 0;
    const count = x[0].count;
    const idx = range(count);
    this.acquire();
    for (let start = 0; start < count; start += batchSize) {
      const n = Math.min(batchSize, count - start);
      const p = this.plan(n, false);
      x.forEach((xs, i) => xs.gather(idx, start, n, p.program.inputs[i] as number));
      y.forEach((ys, i) => ys.gather(idx, start, n, this.labelsOf(p)[i]));
      // The fused softmax stays in the loss kernel (same numbers, numerically stable).
      p.program.forward(this.ctx(n, false, this.anyFused));
      outs.forEach((o, i) => {
        const classes = o.shape[o.shape.length - 1], rows = n * LayersModel.perRow(o);
        const r = batchLoss(o.loss, o.fused, rows, classes, p.program.outputs[i] as number, p.labels[i], 0, p.stats);
        acc[i].lossSum += r.lossSum;
        acc[i].correct += r.correct;
        acc[i].rows += rows;
      });
      penaltySum += this.penaltyOf(p) * n;
    }
    return { outputs: acc, penalty: penaltySum / count };
  }

  /**
   * Loss (and accuracy, if compiled with it) over x, y: scalars as tfjs' evaluate returns; with
   * several outputs [total loss, each output's loss…, each output's accuracy…].
   */
  evaluate(x: ModelX, y: ModelY, args: { batchSize?: number } = {}): Tensor | Tensor[] {
    this.checkAlive('evaluate');
    if (!this.outputLosses) throw new Error('evaluate: compile the model first: model.compile({optimizer, loss, metrics})');
    const xs = this.toInputs('evaluate', x), ys = this.toTargets('evaluate', y);
    this.checkData('evaluate', xs, ys);
    assertFiniteAll('evaluate', 'x', x);
    const evalBatch = assertPositiveInt('evaluate', 'batchSize', args.batchSize ?? 256);
    const gpuCtx = activeGpu();
    if (gpuCtx) {
      this.acquire();
      return loadedGpuModule()!.runnerFor(this, gpuCtx, this.gpuView()).evaluateTensors(xs, ys, evalBatch);
    }
    const { outputs: r, penalty } = this.evaluateExamples(xs, ys, evalBatch);
    const logs = this.logsOf(r.map((e) => e.lossSum), r.map((e) => e.correct), r.map((e) => e.rows), '', penalty);
    const values = Object.values(logs);
    return values.length === 1 ? scalar(values[0]) : values.map((v) => scalar(v));
  }

  /** Outputs for x, batch by batch: one tensor [N, ...outputShape], or one per output. */
  predict(x: ModelX, args: { batchSize?: number } = {}): Tensor | Tensor[] {
    this.checkAlive('predict');
    this.build();
    const xs = this.toInputs('predict', x);
    this.checkData('predict', xs, undefined);
    assertFiniteAll('predict', 'x', x);
    const batchSize = assertPositiveInt('predict', 'batchSize', args.batchSize ?? 32);
    const gpuCtx = activeGpu();
    this.acquire();
    if (gpuCtx) return loadedGpuModule()!.runnerFor(this, gpuCtx, this.gpuView()).predict(xs, batchSize);
    const g = this.graph();
    const count = xs[0].count;
    const results = g.outputs.map((o) => allocTensor([count, ...o.sampleShape]));
    const idx = range(count);
    for (let start = 0; start < count; start += batchSize) {
      const n = Math.min(batchSize, count - start);
      const p = this.plan(n, false);
      xs.forEach((e, i) => e.gather(idx, start, n, p.program.inputs[i] as number));
      p.program.forward(this.ctx(n, false, false));
      const f = runtime().heap.f32;
      g.outputs.forEach((o, i) => {
        const per = sizeOfShape(o.sampleShape), src = (p.program.outputs[i] as number) >>> 2;
        f.copyWithin((results[i].ptr >>> 2) + start * per, src, src + n * per);
      });
    }
    return results.length === 1 ? results[0] : results;
  }

  /** The output of every layer application for x (one batch), in the order they run: for looking at feature maps. */
  predictLayers(x: ModelX): Tensor[] {
    this.checkAlive('predictLayers');
    this.build();
    const xs = this.toInputs('predictLayers', x);
    this.checkData('predictLayers', xs, undefined);
    this.acquire();
    const count = xs[0].count;
    const p = this.plan(count, false, true);
    xs.forEach((e, i) => e.gather(range(count), 0, count, p.program.inputs[i] as number));
    p.program.forward(this.ctx(count, false, false));
    const f = runtime().heap.f32;
    return this.graph().nodes.map((n) => {
      const t = allocTensor([count, ...n.output.sampleShape]);
      const at = (p.program.tensors.get(n.output.id) as number) >>> 2;
      f.copyWithin(t.ptr >>> 2, at, at + t.size);
      return t;
    });
  }

  /**
   * @internal Bytes of a plan's activation and gradient slots for this batch size (memory tests and
   * bench/memory.mjs): `keepAll` is the plan predictLayers uses, every tensor kept (no liveness).
   */
  planBytes(batch: number, opts: { training?: boolean; keepAll?: boolean } = {}): { activations: number; gradients: number } {
    this.acquire();
    const p = this.plan(batch, !!opts.training, !!opts.keepAll);
    return { activations: p.program.activationBytes, gradients: p.program.gradientBytes };
  }

  /** @internal what the WebGPU runner reads (src/webgpu/model-runner.ts): the same graph the wasm planner runs. */
  gpuView(): ModelView {
    this.build();
    return {
      name: this.name, graph: this.graph(), weightLayers: this.weightLayers(), params: this.params, paramCount: this.paramCount,
      optimizer: this.optimizer, outputs: this.outputLosses, rng: this.rng, touchWeights: () => this.touchWeights(),
    };
  }

  countParams(): number {
    this.build();
    return this.weightLayers().reduce((s, l) => s + l.paramCount, 0);
  }

  /** A layer by name, or by index into model.layers (as tfjs' getLayer). */
  getLayer(nameOrIndex: string | number): Layer {
    const layers = this.layers;
    if (typeof nameOrIndex === 'number') {
      if (!Number.isInteger(nameOrIndex) || nameOrIndex < 0 || nameOrIndex >= layers.length) {
        throw argError('getLayer', 'index', nameOrIndex, `an index in [0, ${layers.length})`);
      }
      return layers[nameOrIndex];
    }
    const l = layers.find((x) => x.name === nameOrIndex);
    if (!l) throw argError('getLayer', 'name', nameOrIndex, `one of ${layers.map((x) => `'${x.name}'`).join(', ')}`);
    return l;
  }

  /** Copies of the weights in layer order (kernel, bias per layer), as tfjs' getWeights(). */
  getWeights(): Tensor[] {
    this.checkAlive('getWeights');
    this.build();
    this.acquire();
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
    this.acquire();
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
    this.touchWeights();
  }

  /** [{name: 'conv2d/kernel', spec}] in layer order. */
  weightList() {
    this.build();
    const all = this.weightLayers().flatMap((l) => l.weights.map((spec) => ({ name: `${l.name}/${spec.name}`, layer: l, spec })));
    // tfjs' model.weights order: the trainable weights, then the non-trainable ones (BatchNormalization's moving statistics).
    return [...all.filter((w) => w.spec.trainable !== false), ...all.filter((w) => w.spec.trainable === false)];
  }

  /** Weight values by name, read from the flat buffer (for saving). */
  weightValues(): { name: string; shape: number[]; data: Float32Array }[] {
    this.acquire();
    const heap = runtime().heap;
    return this.weightList().map(({ name, spec }) => ({
      name, shape: spec.shape.slice(), data: heap.readF32(this.params + spec.offset * 4, sizeOfShape(spec.shape)),
    }));
  }

  /** Keras' summary table: layer (type), output shape, params (and "Connected to" for graphs), and the totals. */
  summary(lineLength?: number, positions?: number[], printFn: (line: string) => void = console.log): void {
    this.checkAlive('summary');
    this.build();
    for (const line of summaryLines(this.name, this.summaryRows(), lineLength, positions)) printFn(line);
  }

  protected summaryRows(): { layer: Layer; outShape: (number | null)[][]; connected?: string[] }[] {
    const g = this.graph();
    const inGraph = new Set(g.nodes);
    return this.layers.map((l) => {
      const nodes = l instanceof InputLayer ? l.inboundNodes : l.inboundNodes.filter((n) => inGraph.has(n));
      return {
        layer: l, outShape: [[null, ...l.outShape]],
        connected: nodes.flatMap((n) => n.inputs.map((t) => `${t.sourceLayer.name}[${nodeIndexIn(t.node, inGraph)}][0]`)),
      };
    });
  }

  /** The Keras/tfjs topology for model.json. */
  toJSON(): Record<string, unknown> {
    this.build();
    return functionalTopology(this.name, this.graph());
  }

  /** Saves model.json + weights.bin to `file://DIR` or `DIR` (crash-safe), or to a tfjs IOHandler. See save-load.ts. */
  async save(urlOrPath: string | URL | IOHandler): Promise<SaveResult> {
    this.checkAlive('save');
    return saveModel(this, urlOrPath);
  }

  /**
   * The model as a serialized ONNX model (opset 13+, NHWC inputs with a dynamic batch), e.g. for
   * ONNX Runtime. Async as save() is: the exporter is its own module, loaded on first use.
   */
  async toONNX(opts?: OnnxExportOptions): Promise<Uint8Array> {
    this.checkAlive('toONNX');
    const { exportOnnx } = await import('../export/onnx.js');
    this.checkAlive('toONNX');
    this.acquire();
    return exportOnnx(this, opts);
  }

  /** What compile() was given, for model.json's training_config. */
  trainingConfig(): Record<string, unknown> | undefined {
    const outs = this.outputLosses;
    if (!this.optimizer || !outs) return undefined;
    const snake = (l: string) => l.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const one = outs.length === 1;
    const cfg: Record<string, unknown> = {
      loss: one ? snake(outs[0].loss) : Object.fromEntries(outs.map((o) => [o.name, snake(o.loss)])),
      // As tfjs writes and reads them: a list for every output, else {output: 'acc'} (tfjs cannot read lists there).
      metrics: outs.every((o) => o.acc === outs[0].acc) ? (outs[0].acc ? ['acc'] : []) : Object.fromEntries(outs.filter((o) => o.acc).map((o) => [o.name, 'acc'])),
      optimizer_config: { class_name: this.optimizer.className, config: this.optimizer.getConfig() },
    };
    // Only when needed: tfjs refuses any loss_weights ('not supported yet').
    if (outs.some((o) => o.weight !== 1)) cfg.loss_weights = one ? [outs[0].weight] : Object.fromEntries(outs.map((o) => [o.name, o.weight]));
    return cfg;
  }

  /**
   * Applies this model to new inputs as one layer (a nested model): its layers are applied again
   * to them, sharing their weights with this model.
   */
  apply(inputs: SymbolicTensor | SymbolicTensor[]): SymbolicTensor | SymbolicTensor[];
  apply(inputs: Tensor | Tensor[]): Tensor | Tensor[];
  apply(inputs: SymbolicTensor | SymbolicTensor[] | Tensor | Tensor[]): SymbolicTensor | SymbolicTensor[] | Tensor | Tensor[] {
    this.checkAlive('apply');
    const g = this.graph();
    const list = Array.isArray(inputs) ? inputs : [inputs];
    // Real tensors: computed now, as tfjs' model.apply does outside a graph.
    if (list.length && list.every((t) => t instanceof Tensor)) return this.predict(list.length === 1 ? list[0] as Tensor : list as Tensor[], { batchSize: Math.max(1, (list[0] as Tensor).shape[0]) });
    if (list.length !== g.inputs.length || list.some((t) => !(t instanceof SymbolicTensor))) {
      throw argError(`${this.name}.apply`, 'inputs', inputs, `${g.inputs.length} symbolic tensor${g.inputs.length > 1 ? 's' : ''} (the model's inputs: ${g.inputs.map((t) => `[${t.shape.map((d) => d ?? 'null')}]`).join(', ')})`);
    }
    (list as SymbolicTensor[]).forEach((t, i) => {
      if (t.sampleShape.join() !== g.inputs[i].sampleShape.join()) {
        throw new Error(`${this.name}.apply: input ${i} has shape [null,${t.sampleShape}], but the model's input ${g.inputs[i].sourceLayer.name} is [null,${g.inputs[i].sampleShape}]`);
      }
    });
    const map = new Map<SymbolicTensor, SymbolicTensor>();
    g.inputs.forEach((t, i) => map.set(t, list[i] as SymbolicTensor));
    for (const n of g.nodes) map.set(n.output, n.layer.apply(n.inputs.map((t) => map.get(t)!)));
    const outs = g.outputs.map((t) => map.get(t)!);
    return outs.length === 1 ? outs[0] : outs;
  }

  /** Frees the weights, gradients, buffers and optimizer state. The model cannot be used after. */
  dispose(): { refCountAfterDispose: number; numDisposedVariables: number } {
    if (this.disposed) return { refCountAfterDispose: 0, numDisposedVariables: 0 };
    const n = this.params ? this.weightList().length : 0;
    this.freePlans();
    loadedGpuModule()?.disposeRunner(this);
    this.optimizer?.dispose();
    const heap = runtime().heap;
    // Weights another model shares keep their values.
    for (const w of this.layout.keys()) {
      const h = w as WeightSpec & WeightHome;
      if (h.home === this) {
        h.orphan = heap.readF32(this.params + w.offset * 4, sizeOfShape(w.shape));
        h.home = undefined;
      }
    }
    if (this.params) heap.free(this.params);
    if (this.gradsPtr) heap.free(this.gradsPtr);
    this.params = this.gradsPtr = 0;
    this.disposed = true;
    return { refCountAfterDispose: 0, numDisposedVariables: n };
  }
}

/** A node's index among its layer's nodes that are in this graph (Keras renumbers per model). */
export function nodeIndexIn(node: LayerNode, inGraph: ReadonlySet<LayerNode>): number {
  if (node.layer instanceof InputLayer) return 0;
  return node.layer.inboundNodes.filter((n) => inGraph.has(n)).indexOf(node);
}

/** Lets timers, I/O and page events run between batches: setImmediate where it exists (Node,
 * Bun, Deno), since a 0 ms timeout is clamped to 1 ms or more there and browsers. */
export function yieldToEventLoop(): Promise<void> {
  const si = (globalThis as { setImmediate?: (cb: () => void) => void }).setImmediate;
  return new Promise((res) => (si ? si(res) : setTimeout(res, 0)));
}

/** NaN/Inf anywhere in a float input is an Error before any training happens. */
function assertFinite(op: string, arg: string, x: unknown): void {
  if (!(x instanceof Tensor)) return;
  const bad = firstNonFinite(x.size, x.ptr);
  if (bad >= 0) {
    const v = runtime().heap.f32[(x.ptr >>> 2) + bad];
    throw new Error(`${op}: ${arg} contains ${v} at flat index ${bad} (of shape [${x.shape}]); inputs must be finite numbers`);
  }
}
export function assertFiniteAll(op: string, arg: string, x: unknown): void {
  if (Array.isArray(x)) x.forEach((v, i) => assertFinite(op, `${arg}[${i}]`, v));
  else if (x && typeof x === 'object' && !(x instanceof Tensor) && !(x instanceof Uint8Images)) {
    for (const [k, v] of Object.entries(x)) assertFinite(op, `${arg}.${k}`, v);
  } else assertFinite(op, arg, x);
}

/** tf.model: a model from its input and output symbolic tensors. */
export function model(args: { inputs: SymbolicTensor | SymbolicTensor[]; outputs: SymbolicTensor | SymbolicTensor[]; name?: string; seed?: number }): LayersModel {
  return new LayersModel(args);
}

// layer.apply(realTensors): a one-node model computes it now (weights built and kept by the layer).
setEagerApply((layer, tensors) => {
  const ins = tensors.map((t) => symbolicInput({ shape: t.shape.slice(1) }));
  const out = layer.apply(ins.length === 1 ? ins[0] : ins);
  const m = new LayersModel({ inputs: ins, outputs: out });
  try {
    return m.predict(tensors.length === 1 ? tensors[0] : tensors, { batchSize: Math.max(1, tensors[0].shape[0]) }) as Tensor;
  } finally {
    m.dispose();
    // The eager call leaves no node behind (Keras' eager calls build no graph).
    layer.inboundNodes.pop();
  }
});
