// model.toONNX(): a model's graph (Sequential or functional) as an ONNX model (opset 13–21) for ONNX
// Runtime and friends. The graph keeps simdcnn's interface — one NHWC input [N, ...] with a dynamic
// batch per model input (named after its input layer), one output per model output (named after
// its output layer) as model.predict returns them — and runs convolutions and pooling in ONNX's
// NCHW.
//
// Layouts are tracked per tensor: a 4-D tensor exists in NHWC, NCHW or both (a Transpose is made
// the first time a consumer needs the layout it lacks, and reused), so no tensor is transposed
// twice in one direction. Three kinds of layers:
// - NCHW-only: the convolutions (Conv2D, DepthwiseConv2D and SeparableConv2D as grouped Convs,
//   Conv2DTranspose as ConvTranspose) and Max/AveragePooling2D: ONNX defines them channel-first;
// - NHWC-only: Flatten, Dense and Reshape, whose element order is our row-major NHWC one (so the
//   flattened features match ours exactly), and the graph outputs;
// - layout-free: everything elementwise or per-axis (activations and activation layers, batch
//   norm, padding, cropping, upsampling, global pooling, rescaling, dropout, merges) runs in the
//   layout its input already has, its axes, pads and per-channel constants permuted to match;
//   Permute folds the pending NCHW→NHWC transpose into its own perm. Where an input exists in both
//   layouts, the one the output's readers (looked through layout-free layers) mostly want wins.
// Merges of 4-D tensors pick the layout needing the fewest elements transposed; inputs of lower
// rank gain size-1 axes right after the batch, as Keras does.
//
// Every number is computed as the layer computes it in inference (moving statistics, dropout
// off, tfjs' activation formulas); a layer class or configuration with no exact ONNX form is an
// Error naming it, never an export that computes something else.

import { argError, describe } from '../errors.js';
import { ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU } from '../layers/activation-layers.js';
import type { ActivationName, KernelAct } from '../layers/activation-fns.js';
import { BatchNormalization } from '../layers/batch-norm.js';
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { Conv2DTranspose, DepthwiseConv2D, SeparableConv2D } from '../layers/depthwise.js';
import { GlobalAveragePooling2D, GlobalMaxPooling2D } from '../layers/global-pooling.js';
import type { Layer, LayerNode, SymbolicTensor } from '../layers/layer.js';
import { Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract } from '../layers/merge.js';
import { Cropping2D, ZeroPadding2D } from '../layers/padding.js';
import { AveragePooling2D, MaxPooling2D } from '../layers/pooling.js';
import { Rescaling, SpatialDropout2D } from '../layers/preprocessing.js';
import { Permute, Reshape } from '../layers/reshape.js';
import { Activation, Dropout, Flatten } from '../layers/reshaping.js';
import { UpSampling2D } from '../layers/upsampling.js';
import type { Graph } from '../model/graph.js';
import { conv2dGeometry } from '../ops/conv.js';
import { poolGeometry } from '../ops/pool.js';
import { ProtoWriter } from './protobuf.js';

/** What the exporter reads from a model (structural, so this file does not import the model). */
export interface OnnxSource {
  readonly name: string;
  graph(): Graph;
  build(): void;
  weightValues(): { name: string; shape: number[]; data: Float32Array }[];
}

export interface OnnxExportOptions {
  /** ONNX default-domain opset, 13 (default) to 21. */
  opset?: number;
}

// Spelled out: class names do not survive the browser build's minifier.
const EXPORTED: [new (...args: any[]) => Layer, string][] = [
  [Conv2D, 'Conv2D'], [Dense, 'Dense'], [MaxPooling2D, 'MaxPooling2D'], [AveragePooling2D, 'AveragePooling2D'], [Flatten, 'Flatten'],
  [Dropout, 'Dropout'], [Activation, 'Activation'], [Add, 'Add'], [Subtract, 'Subtract'], [Multiply, 'Multiply'], [Average, 'Average'],
  [Maximum, 'Maximum'], [Minimum, 'Minimum'], [Concatenate, 'Concatenate'], [DepthwiseConv2D, 'DepthwiseConv2D'],
  [SeparableConv2D, 'SeparableConv2D'], [Conv2DTranspose, 'Conv2DTranspose'], [BatchNormalization, 'BatchNormalization'],
  [GlobalAveragePooling2D, 'GlobalAveragePooling2D'], [GlobalMaxPooling2D, 'GlobalMaxPooling2D'], [ZeroPadding2D, 'ZeroPadding2D'],
  [Cropping2D, 'Cropping2D'], [UpSampling2D, 'UpSampling2D'], [Reshape, 'Reshape'], [Permute, 'Permute'], [Rescaling, 'Rescaling'],
  [SpatialDropout2D, 'SpatialDropout2D'], [ReLU, 'ReLU'], [LeakyReLU, 'LeakyReLU'], [PReLU, 'PReLU'], [ELU, 'ELU'],
  [ThresholdedReLU, 'ThresholdedReLU'], [Softmax, 'Softmax'],
];
const SUPPORTED = EXPORTED.map(([, n]) => n).join(', ');
// The IR version each opset was released with: runtimes reject a model whose IR is older than its opset needs.
const IR_FOR_OPSET: Record<number, number> = { 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 };
const FLOAT = 1, INT64 = 7;
const ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_STRING = 3, ATTR_INTS = 7;
const TO_NCHW = [0, 3, 1, 2], TO_NHWC = [0, 2, 3, 1];
/** An NHWC axis (batch = 0) in NCHW. */
const NCHW_AXIS = [0, 2, 3, 1];
/** protobuf's hard limit on one message: a bigger model needs ONNX external data, which this exporter does not write. */
const MAX_PROTO_BYTES = 2 ** 31 - 1;

type AttrValue = number | number[] | string | { float: number };
type Attr = [name: string, value: AttrValue];
type Layout = 'nhwc' | 'nchw';
const f32 = Math.fround;
const float = (v: number) => ({ float: v });

function attribute([name, v]: Attr): ProtoWriter {
  const a = new ProtoWriter().string(1, name);
  if (typeof v === 'string') return a.int(20, ATTR_STRING).string(4, v);
  if (Array.isArray(v)) return a.int(20, ATTR_INTS).packedInts(8, v);
  if (typeof v === 'object') return a.int(20, ATTR_FLOAT).float(2, v.float);
  return a.int(20, ATTR_INT).int(3, v);
}

function valueInfo(name: string, dims: (number | string)[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) shape.message(1, typeof d === 'string' ? new ProtoWriter().string(2, d) : new ProtoWriter().int(1, d));
  const tensorType = new ProtoWriter().int(1, FLOAT).message(2, shape);
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
}

function floatTensor(name: string, dims: number[], values: Float32Array): ProtoWriter {
  const raw = new Uint8Array(values.length * 4);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i], true);
  const t = new ProtoWriter();
  if (dims.length) t.packedInts(1, dims);
  return t.int(2, FLOAT).string(8, name).bytes(9, raw);
}

function int64Tensor(name: string, values: number[]): ProtoWriter {
  const raw = new Uint8Array(values.length * 8);
  const dv = new DataView(raw.buffer);
  values.forEach((v, i) => dv.setBigInt64(i * 8, BigInt(v), true));
  return new ProtoWriter().packedInts(1, [values.length]).int(2, INT64).string(8, name).bytes(9, raw);
}

/** HWIO [kh, kw, in, out] → ONNX's OIHW [out, in, kh, kw]. */
function hwioToOihw(k: Float32Array, [kh, kw, ci, co]: number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let h = 0; h < kh; h++) {
    for (let w = 0; w < kw; w++) {
      for (let i = 0; i < ci; i++) {
        const src = ((h * kw + w) * ci + i) * co;
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + h) * kw + w] = k[src + o];
      }
    }
  }
  return out;
}

/**
 * tfjs' depthwise kernel [kh, kw, C, dm] → the grouped Conv weight [C·dm, 1, kh, kw] (group = C).
 * ONNX gives group c the output channels c·dm … c·dm + dm − 1, which is tfjs' output order
 * (channel c, multiplier m at c·dm + m), so no output permutation is needed.
 */
function depthwiseToOnnx(k: Float32Array, [kh, kw, c, dm]: number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let h = 0; h < kh; h++) {
    for (let w = 0; w < kw; w++) {
      for (let i = 0; i < c * dm; i++) out[(i * kh + h) * kw + w] = k[(h * kw + w) * c * dm + i];
    }
  }
  return out;
}

/**
 * tfjs' transposed-conv kernel [kh, kw, out, in] → ConvTranspose's [in, out, kh, kw]. Both are the
 * kernel of the forward convolution whose input gradient the layer computes, so no spatial flip.
 */
function transposeKernelToOnnx(k: Float32Array, [kh, kw, co, ci]: number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let h = 0; h < kh; h++) {
    for (let w = 0; w < kw; w++) {
      for (let o = 0; o < co; o++) {
        const src = ((h * kw + w) * co + o) * ci;
        for (let i = 0; i < ci; i++) out[((i * co + o) * kh + h) * kw + w] = k[src + i];
      }
    }
  }
  return out;
}

/** [H, W, C] data (NHWC per example) → [C, H, W]. */
function hwcToChw(v: Float32Array, [h, w, c]: number[]): Float32Array {
  const out = new Float32Array(v.length);
  for (let i = 0; i < h * w; i++) for (let k = 0; k < c; k++) out[k * h * w + i] = v[i * c + k];
  return out;
}

class GraphBuilder {
  nodes: ProtoWriter[] = [];
  initializers: ProtoWriter[] = [];
  initializerBytes = 0;
  private count = 0;
  private used = new Set<string>();
  private scalars = new Map<number, string>();

  /** `name`, or `name_1`, `name_2`… : the first not yet taken by a tensor, node or graph input/output. */
  unique(name: string): string {
    let n = name;
    for (let k = 1; this.used.has(n); k++) n = `${name}_${k}`;
    this.used.add(n);
    return n;
  }

  /** Adds a node; returns its output's name (also the node's name). `out`: an output name already reserved by unique(). */
  node(op: string, inputs: string[], base: string, attrs: Attr[] = [], out?: string): string {
    const name = out ?? this.unique(`${base}/${op}_${this.count++}`);
    const n = new ProtoWriter();
    for (const i of inputs) n.string(1, i);
    n.string(2, name).string(3, out ? this.unique(`${out}/${op}_${this.count++}`) : name).string(4, op);
    for (const a of attrs) n.message(5, attribute(a));
    this.nodes.push(n);
    return name;
  }

  weight(name: string, dims: number[], values: Float32Array): string {
    const n = this.unique(name);
    this.initializers.push(floatTensor(n, dims, values));
    this.initializerBytes += values.length * 4;
    return n;
  }

  ints(name: string, values: number[]): string {
    const n = this.unique(name);
    this.initializers.push(int64Tensor(n, values));
    this.initializerBytes += values.length * 8;
    return n;
  }

  /** A float32 scalar constant, one initializer per value for the whole graph. */
  scalar(v: number): string {
    const key = f32(v);
    let n = this.scalars.get(key);
    if (!n) this.scalars.set(key, (n = this.weight(`const_${key}`, [], Float32Array.of(key))));
    return n;
  }
}

/** A graph tensor in ONNX: its name in each layout it has been made in (only 4-D tensors have NCHW). */
interface OnnxTensor {
  rank: number;
  names: Partial<Record<Layout, string>>;
  /** The layout it was made in (the other, if any, is a Transpose of it). */
  primary: Layout;
}

type Need = Layout | 'any';
/** The layout a layer reads a 4-D input in. */
function inputNeed(l: Layer): Need {
  const c = l.constructor;
  if (c === Conv2D || c === DepthwiseConv2D || c === SeparableConv2D || c === Conv2DTranspose || c === MaxPooling2D || c === AveragePooling2D) return 'nchw';
  if (c === Flatten || c === Dense || c === Reshape) return 'nhwc';
  return 'any';
}

const isElementwiseMerge = (l: Layer): l is Add | Subtract | Multiply | Average | Maximum | Minimum => {
  const c = l.constructor;
  return c === Add || c === Subtract || c === Multiply || c === Average || c === Maximum || c === Minimum;
};

/** The export refuses layers it cannot reproduce: unknown classes, and subclasses (they may compute differently). */
function checkExportable(l: Layer): void {
  if (EXPORTED.some(([c]) => l.constructor === c)) return;
  const base = EXPORTED.find(([c]) => l instanceof c);
  if (base) {
    throw new Error(`toONNX: layer '${l.name}' (${l.className}) is a subclass of ${base[1]}, which exports; a subclass may compute `
      + `differently, so it has no ONNX export (supported layers: ${SUPPORTED})`);
  }
  throw new Error(`toONNX: layer '${l.name}' (${l.className}) has no ONNX export; supported layers: ${SUPPORTED}`);
}

/** An option value the exporter has no exact ONNX form for: named, with what it handles. */
function unsupported(l: Layer, option: string, value: unknown, expected: string): Error {
  return new Error(`toONNX: layer '${l.name}' (${l.className}): ${option} ${describe(value)} has no ONNX export (exported: ${expected})`);
}

class Exporter {
  readonly g = new GraphBuilder();
  private readonly tensors = new Map<number, OnnxTensor>();
  private readonly weights: Map<string, { name: string; shape: number[]; data: Float32Array }>;
  /** A shared layer's weights are one set of initializers, read by each of its nodes. */
  private readonly inits = new Map<string, string>();
  /** Lower-rank merge inputs expanded to a rank, per tensor. */
  private readonly expanded = new Map<string, string>();
  private readonly wants = new Map<number, [number, number]>();

  constructor(private readonly graph: Graph, model: OnnxSource, private readonly opset: number) {
    this.weights = new Map(model.weightValues().map((w) => [w.name, w]));
  }

  private state(t: SymbolicTensor): OnnxTensor {
    return this.tensors.get(t.id)!;
  }

  input(t: SymbolicTensor, name: string): void {
    this.tensors.set(t.id, { rank: t.rank, names: { nhwc: name }, primary: 'nhwc' });
  }

  /** The tensor's name in `layout`, transposing (once) from the other layout if needed. */
  get(t: SymbolicTensor, layout: Layout): string {
    const s = this.state(t);
    if (s.rank !== 4) return s.names.nhwc!;
    let name = s.names[layout];
    if (!name) {
      const from = layout === 'nchw' ? s.names.nhwc! : s.names.nchw!;
      name = this.g.node('Transpose', [from], `${t.sourceLayer.name}/to_${layout}`, [['perm', layout === 'nchw' ? TO_NCHW : TO_NHWC]]);
      s.names[layout] = name;
    }
    return name;
  }

  private made(t: SymbolicTensor, name: string, layout: Layout): void {
    const primary = t.rank === 4 ? layout : 'nhwc';
    this.tensors.set(t.id, { rank: t.rank, names: { [primary]: name }, primary });
  }

  /** [NCHW readers, NHWC readers] of t, counting through layout-free layers to the readers that have a layout. */
  private demand(t: SymbolicTensor): [number, number] {
    let d = this.wants.get(t.id);
    if (d) return d;
    d = [0, this.graph.outputs.filter((o) => o === t).length];
    for (const { node } of this.graph.consumers.get(t.id) ?? []) {
      const need = inputNeed(node.layer);
      if (need === 'nchw') d[0]++;
      else if (need === 'nhwc') d[1]++;
      else if (node.output.rank === 4) {
        const [c, h] = this.demand(node.output);
        d[0] += c;
        d[1] += h;
      }
      // A layout-free layer with a lower-rank output (global pooling) reads either layout as cheaply.
    }
    this.wants.set(t.id, d);
    return d;
  }

  /** The layout t's readers mostly want (NHWC on a tie: the graph's outputs are NHWC). */
  private wanted(t: SymbolicTensor): Layout {
    const [c, h] = this.demand(t);
    return c > h ? 'nchw' : 'nhwc';
  }

  /** Where a layout-free layer computes: the layout its input has; if both, what its output's readers want. */
  private follow(x: SymbolicTensor, y: SymbolicTensor): Layout {
    const s = this.state(x);
    if (s.rank !== 4) return 'nhwc';
    if (s.names.nchw && s.names.nhwc) return y.rank === 4 ? this.wanted(y) : 'nchw';
    return s.names.nchw ? 'nchw' : 'nhwc';
  }

  /** A full-rank axis (batch 0, NHWC) of a rank-`rank` tensor, in `layout`. */
  private axisIn(axis: number, rank: number, layout: Layout): number {
    return rank === 4 && layout === 'nchw' ? NCHW_AXIS[axis] : axis;
  }

  private init(key: string, make: () => string): string {
    let n = this.inits.get(key);
    if (!n) this.inits.set(key, (n = make()));
    return n;
  }

  private weight(name: string) {
    const w = this.weights.get(name);
    if (!w) throw new Error(`toONNX: internal error: the model has no weight '${name}'`);
    return w;
  }

  /** A weight as an initializer (once per layout-specific form, `key`), converted by `convert`. */
  private param(name: string, key: string, dims: number[], convert: (v: Float32Array, shape: number[]) => Float32Array = (v) => v): string {
    return this.init(`${name}:${key}`, () => {
      const w = this.weight(name);
      return this.g.weight(name, dims, convert(w.data, w.shape));
    });
  }

  /** Reduces over `axes` (opset 18 moved ReduceMean/ReduceMax's axes from an attribute to an input). */
  private reduce(op: 'ReduceMean' | 'ReduceMax', x: string, axes: number[], keepDims: boolean, base: string): string {
    const keep: Attr = ['keepdims', keepDims ? 1 : 0];
    if (this.opset >= 18) return this.g.node(op, [x, this.g.ints(`${base}/axes`, axes)], base, [keep]);
    return this.g.node(op, [x], base, [['axes', axes], keep]);
  }

  /** Applies a named activation to a tensor in `layout`; softmax is over the channel axis. */
  activate(a: ActivationName, x: string, rank: number, layout: Layout, base: string): string {
    const g = this.g, c = (v: number) => g.scalar(v);
    switch (a) {
      case 'linear': return x;
      case 'softmax': return g.node('Softmax', [x], base, [['axis', rank === 4 && layout === 'nchw' ? 1 : -1]]);
      // ONNX's default attributes are tfjs' constants (Elu α 1, Selu α/γ in float32, HardSigmoid 0.2x + 0.5 clipped).
      case 'relu': return g.node('Relu', [x], base);
      case 'sigmoid': return g.node('Sigmoid', [x], base);
      case 'tanh': return g.node('Tanh', [x], base);
      case 'elu': return g.node('Elu', [x], base);
      case 'selu': return g.node('Selu', [x], base);
      case 'softplus': return g.node('Softplus', [x], base);
      case 'softsign': return g.node('Softsign', [x], base);
      case 'hardSigmoid': return g.node('HardSigmoid', [x], base);
      // Clip's bounds are inputs since opset 11.
      case 'relu6': return g.node('Clip', [x, c(0), c(6)], base);
      case 'swish': return g.node('Mul', [x, g.node('Sigmoid', [x], base)], base);
      case 'mish': return g.node('Mul', [x, g.node('Tanh', [g.node('Softplus', [x], base)], base)], base);
      // Our kernels' operation order, (0.5·x)·(1 + erf(x·(1/√2))); ONNX's Gelu op needs opset 20.
      case 'gelu': {
        const erf = g.node('Erf', [g.node('Mul', [x, c(0.7071067811865476)], base)], base);
        return g.node('Mul', [g.node('Mul', [x, c(0.5)], base), g.node('Add', [erf, c(1)], base)], base);
      }
      // tfjs' GeluNew, (0.5·x)·(1 + tanh(√(2/π)·(x + ((0.044715·x)·x)·x))), in our kernels' order.
      case 'gelu_new': {
        const cube = g.node('Mul', [g.node('Mul', [g.node('Mul', [x, c(0.044715)], base), x], base), x], base);
        const t = g.node('Tanh', [g.node('Mul', [g.node('Add', [x, cube], base), c(0.7978845608028654)], base)], base);
        return g.node('Mul', [g.node('Mul', [x, c(0.5)], base), g.node('Add', [t, c(1)], base)], base);
      }
    }
  }

  /** A parametric activation of the activation layers (ReLU, LeakyReLU, ELU, ThresholdedReLU). */
  private kernelAct(l: Layer, act: KernelAct, x: string, rank: number, layout: Layout, base: string): string {
    if (typeof act === 'string') return this.activate(act, x, rank, layout, base);
    const g = this.g, c = (v: number) => g.scalar(v);
    switch (act.op) {
      case 'elu': return g.node('Elu', [x], base, [['alpha', float(act.alpha)]]);
      case 'leakyRelu': return g.node('LeakyRelu', [x], base, [['alpha', float(act.alpha)]]);
      case 'thresholdedRelu': return g.node('ThresholdedRelu', [x], base, [['alpha', float(act.theta)]]);
      case 'reluX': {
        // Keras' ReLU: max if x ≥ max, x if x ≥ threshold, slope·(x − threshold) below.
        const { negativeSlope: a, maxValue: max, threshold: t } = act;
        const capped = Number.isFinite(max);
        if (t === 0) {
          if (a === 0) return capped ? g.node('Clip', [x, c(0), c(max)], base) : g.node('Relu', [x], base);
          // maxValue ≥ 0 (the layer checks it), so capping after the leaky part is the same as Keras' order.
          const leaky = g.node('LeakyRelu', [x], base, [['alpha', float(a)]]);
          return capped ? g.node('Min', [leaky, c(max)], base) : leaky;
        }
        const below = g.node('Mul', [g.node('Sub', [x, c(t)], base), c(a)], base);
        const y = g.node('Where', [g.node('GreaterOrEqual', [x, c(t)], base), x, below], base);
        return capped ? g.node('Where', [g.node('GreaterOrEqual', [x, c(max)], base), c(max), y], base) : y;
      }
      case 'softmaxAxis': throw unsupported(l, 'activation', act.op, 'the Softmax layer handles its own axis');
    }
  }

  /** Lower-rank merge inputs gain size-1 axes after the batch (Keras' expand_dims at axis 1), cached per rank. */
  private expandTo(t: SymbolicTensor, name: string, rank: number): string {
    if (t.rank === rank) return name;
    const key = `${t.id}:${rank}`;
    let n = this.expanded.get(key);
    if (!n) {
      const axes = this.g.ints(`${t.sourceLayer.name}/unsqueeze_axes`, Array.from({ length: rank - t.rank }, (_, i) => i + 1));
      this.expanded.set(key, (n = this.g.node('Unsqueeze', [name, axes], t.sourceLayer.name)));
    }
    return n;
  }

  /**
   * Layout for a merge of 4-D tensors: the one needing the fewest elements transposed (a broadcast
   * [1, 1, C] gate moves to the conv map's NCHW, not the map to NHWC); ties: what the output's readers want.
   */
  private mergeLayout(node: LayerNode): Layout {
    const cost = (l: Layout) => node.inputs.filter((t) => !this.state(t).names[l]).reduce((n, t) => n + t.sampleShape.reduce((a, b) => a * b, 1), 0);
    const c = cost('nchw'), h = cost('nhwc');
    return c !== h ? (c < h ? 'nchw' : 'nhwc') : this.wanted(node.output);
  }

  exportNode(node: LayerNode): void {
    const l = node.layer, g = this.g;
    const base = l.inboundNodes.length > 1 ? `${l.name}/${node.index}` : l.name;
    const x = node.inputs[0];
    const y = node.output;
    const c = l.constructor;
    const bias = (name: string, n: number) => this.param(`${name}/bias`, '', [n]);
    if (c === Conv2D) {
      const conv = l as Conv2D;
      const inShape = x.sampleShape;
      const geo = conv2dGeometry(l.name, [1, ...inShape], [...conv.kernelSize, inShape[2], conv.filters], conv.strides, conv.padding, conv.dilationRate);
      const inputs = [this.get(x, 'nchw'), this.param(`${l.name}/kernel`, 'oihw', [conv.filters, inShape[2], ...conv.kernelSize], hwioToOihw)];
      if (conv.useBias) inputs.push(bias(l.name, conv.filters));
      const out = g.node('Conv', inputs, base, [
        ['kernel_shape', [...conv.kernelSize]], ['strides', [...conv.strides]], ['dilations', [...conv.dilationRate]],
        ['pads', [geo.padTop, geo.padLeft, geo.padBottom, geo.padRight]],
      ]);
      this.made(y, this.activate(conv.activation, out, 4, 'nchw', base), 'nchw');
    } else if (c === DepthwiseConv2D || c === SeparableConv2D) {
      const dw = l as DepthwiseConv2D;
      const C = x.sampleShape[2], dm = dw.depthMultiplier, [kh, kw] = dw.kernelSize;
      const geo = conv2dGeometry(l.name, [1, ...x.sampleShape], [kh, kw, C, C * dm], dw.strides, dw.padding, dw.dilationRate);
      const inputs = [this.get(x, 'nchw'), this.param(`${l.name}/depthwise_kernel`, 'grouped', [C * dm, 1, kh, kw], depthwiseToOnnx)];
      const separable = c === SeparableConv2D;
      // A separable layer's bias belongs to its pointwise convolution.
      if (dw.useBias && !separable) inputs.push(bias(l.name, C * dm));
      let out = g.node('Conv', inputs, base, [
        ['group', C], ['kernel_shape', [kh, kw]], ['strides', [...dw.strides]], ['dilations', [...dw.dilationRate]],
        ['pads', [geo.padTop, geo.padLeft, geo.padBottom, geo.padRight]],
      ]);
      if (separable) {
        const sep = l as SeparableConv2D;
        const pw = [out, this.param(`${l.name}/pointwise_kernel`, 'oihw', [sep.filters, C * dm, 1, 1], hwioToOihw)];
        if (sep.useBias) pw.push(bias(l.name, sep.filters));
        out = g.node('Conv', pw, base, [['kernel_shape', [1, 1]]]);
      }
      this.made(y, this.activate(dw.activation, out, 4, 'nchw', base), 'nchw');
    } else if (c === Conv2DTranspose) {
      const tr = l as Conv2DTranspose;
      const [inH, inW, inC] = x.sampleShape, [outH, outW] = y.sampleShape;
      const [kh, kw] = tr.kernelSize, [sh, sw] = tr.strides;
      // The convolution whose input gradient the layer is: from our output size to our input size.
      const geo = conv2dGeometry(l.name, [1, outH, outW, tr.filters], [kh, kw, tr.filters, inC], tr.strides, tr.padding);
      // ConvTranspose's size is s·(in − 1) + k − pads + output_padding: output_padding supplies the
      // rows the forward convolution's stride skipped, so ORT gives exactly our output shape.
      const opH = outH + geo.padTop + geo.padBottom - kh - sh * (inH - 1);
      const opW = outW + geo.padLeft + geo.padRight - kw - sw * (inW - 1);
      if (opH < 0 || opH >= sh || opW < 0 || opW >= sw) {
        throw unsupported(l, 'output size', [outH, outW], `sizes a ConvTranspose reaches with output_padding in [0, stride); needs [${opH}, ${opW}]`);
      }
      const inputs = [this.get(x, 'nchw'), this.param(`${l.name}/kernel`, 'iohw', [inC, tr.filters, kh, kw], transposeKernelToOnnx)];
      if (tr.useBias) inputs.push(bias(l.name, tr.filters));
      const out = g.node('ConvTranspose', inputs, base, [
        ['kernel_shape', [kh, kw]], ['strides', [sh, sw]], ['pads', [geo.padTop, geo.padLeft, geo.padBottom, geo.padRight]],
        ['output_padding', [opH, opW]],
      ]);
      this.made(y, this.activate(tr.activation, out, 4, 'nchw', base), 'nchw');
    } else if (c === MaxPooling2D || c === AveragePooling2D) {
      const p = l as MaxPooling2D | AveragePooling2D;
      const geo = poolGeometry(l.name, [1, ...x.sampleShape], p.poolSize, p.strides, p.padding);
      const attrs: Attr[] = [
        ['kernel_shape', [...p.poolSize]], ['strides', [...p.strides]],
        ['pads', [geo.padTop, geo.padLeft, geo.padBottom, geo.padRight]],
      ];
      // TensorFlow's 'same' average pooling divides by the taps inside the input only.
      if (c === AveragePooling2D) attrs.push(['count_include_pad', 0]);
      this.made(y, g.node(c === MaxPooling2D ? 'MaxPool' : 'AveragePool', [this.get(x, 'nchw')], base, attrs), 'nchw');
    } else if (c === Flatten) {
      this.made(y, g.node('Flatten', [this.get(x, 'nhwc')], base, [['axis', 1]]), 'nhwc');
    } else if (c === Reshape) {
      // Our reshape is a view of row-major NHWC data; the batch stays free (−1), the rest is the resolved target.
      const shape = this.init(`${l.name}/shape:${y.sampleShape}`, () => g.ints(`${l.name}/shape`, [-1, ...y.sampleShape]));
      this.made(y, g.node('Reshape', [this.get(x, 'nhwc'), shape], base), 'nhwc');
    } else if (c === Dense) {
      const d = l as Dense;
      const kName = this.param(`${l.name}/kernel`, '', this.weight(`${l.name}/kernel`).shape);
      const bName = d.useBias ? bias(l.name, d.units) : '';
      const xin = this.get(x, 'nhwc');
      let out: string;
      if (x.rank === 2) {
        out = g.node('Gemm', bName ? [xin, kName, bName] : [xin, kName], base);
      } else {
        // Dense on a rank > 2 input acts on the last axis: MatMul broadcasts, Gemm would not.
        out = g.node('MatMul', [xin, kName], base);
        if (bName) out = g.node('Add', [out, bName], base);
      }
      this.made(y, this.activate(d.activation, out, y.rank, 'nhwc', base), 'nhwc');
    } else if (c === Activation) {
      const layout = this.follow(x, y);
      this.made(y, this.activate((l as Activation).activation, this.get(x, layout), y.rank, layout, base), layout);
    } else if (c === ReLU || c === LeakyReLU || c === ELU || c === ThresholdedReLU) {
      const layout = this.follow(x, y);
      const act = (l as ReLU | LeakyReLU | ELU | ThresholdedReLU).kernelAct();
      this.made(y, this.kernelAct(l, act, this.get(x, layout), y.rank, layout, base), layout);
    } else if (c === Softmax) {
      const sm = l as Softmax, layout = this.follow(x, y), rank = y.rank;
      const axis = sm.axis < 0 ? sm.axis + rank : sm.axis;
      this.made(y, g.node('Softmax', [this.get(x, layout)], base, [['axis', this.axisIn(axis, rank, layout)]]), layout);
    } else if (c === PReLU) {
      const pr = l as PReLU, layout = this.follow(x, y);
      const shape = pr.alphaShape();
      // The slope broadcasts from the right over [N, ...], so it takes the tensor's per-example layout.
      const slope = layout === 'nchw'
        ? this.param(`${l.name}/alpha`, 'chw', [shape[2], shape[0], shape[1]], hwcToChw)
        : this.param(`${l.name}/alpha`, '', shape);
      this.made(y, g.node('PRelu', [this.get(x, layout), slope], base), layout);
    } else if (c === BatchNormalization) {
      this.batchNorm(l as BatchNormalization, x, y, base);
    } else if (c === GlobalAveragePooling2D || c === GlobalMaxPooling2D) {
      const avg = c === GlobalAveragePooling2D, keep = (l as GlobalAveragePooling2D).keepDims;
      if (this.follow(x, y) === 'nchw') {
        const p = g.node(avg ? 'GlobalAveragePool' : 'GlobalMaxPool', [this.get(x, 'nchw')], base);
        // [N, C, 1, 1] is keepDims' [N, 1, 1, C] in NCHW; without keepDims, [N, C].
        if (keep) this.made(y, p, 'nchw');
        else this.made(y, g.node('Flatten', [p], base, [['axis', 1]]), 'nhwc');
      } else {
        this.made(y, this.reduce(avg ? 'ReduceMean' : 'ReduceMax', this.get(x, 'nhwc'), [1, 2], keep, base), 'nhwc');
      }
    } else if (c === ZeroPadding2D) {
      const [[t, b], [lf, r]] = (l as ZeroPadding2D).padding, layout = this.follow(x, y);
      const pads = layout === 'nchw' ? [0, 0, t, lf, 0, 0, b, r] : [0, t, lf, 0, 0, b, r, 0];
      const p = this.init(`${l.name}/pads:${layout}`, () => g.ints(`${l.name}/pads`, pads));
      this.made(y, g.node('Pad', [this.get(x, layout), p], base), layout);
    } else if (c === Cropping2D) {
      const [[t, b], [lf, r]] = (l as Cropping2D).cropping, [h, w] = x.sampleShape, layout = this.follow(x, y);
      const key = `${l.name}/slice:${layout}`;
      const starts = this.init(`${key}/starts`, () => g.ints(`${l.name}/starts`, [t, lf]));
      const ends = this.init(`${key}/ends`, () => g.ints(`${l.name}/ends`, [h - b, w - r]));
      const axes = this.init(`${key}/axes`, () => g.ints(`${l.name}/axes`, layout === 'nchw' ? [2, 3] : [1, 2]));
      this.made(y, g.node('Slice', [this.get(x, layout), starts, ends, axes], base), layout);
    } else if (c === UpSampling2D) {
      this.upsample(l as UpSampling2D, x, y, base);
    } else if (c === Permute) {
      this.permute(l as Permute, x, y, base);
    } else if (c === Rescaling) {
      const rs = l as Rescaling, layout = this.follow(x, y);
      // As the layer: x·scale, then + offset (two roundings).
      let out = g.node('Mul', [this.get(x, layout), g.scalar(rs.scale)], base);
      if (rs.offset !== 0) out = g.node('Add', [out, g.scalar(rs.offset)], base);
      this.made(y, out, layout);
    } else if (c === Dropout || c === SpatialDropout2D) {
      // The identity at inference: the output is the input (sharing its transposes).
      this.tensors.set(y.id, this.state(x));
    } else if (isElementwiseMerge(l)) {
      const rank = y.rank;
      // Equal-rank 4-D inputs broadcast alike in NHWC and NCHW; other ranks are merged channel-last.
      const layout: Layout = rank === 4 && node.inputs.every((t) => t.rank === 4) ? this.mergeLayout(node) : 'nhwc';
      const ins = node.inputs.map((t) => this.expandTo(t, this.get(t, layout), rank));
      let out: string;
      if (c === Subtract) out = g.node('Sub', ins, base);
      else if (c === Multiply) out = ins.slice(1).reduce((acc, v) => g.node('Mul', [acc, v], base), ins[0]);
      else if (c === Maximum) out = g.node('Max', ins, base);
      else if (c === Minimum) out = g.node('Min', ins, base);
      else {
        out = g.node(ins.length === 2 ? 'Add' : 'Sum', ins, base);
        if (c === Average) out = g.node('Mul', [out, g.scalar(1 / ins.length)], base);
      }
      this.made(y, out, layout);
    } else if (c === Concatenate) {
      const rank = y.rank, cat = l as Concatenate;
      const axis = cat.axis < 0 ? cat.axis + rank : cat.axis;
      const layout: Layout = rank === 4 ? this.mergeLayout(node) : 'nhwc';
      const ins = node.inputs.map((t) => this.get(t, layout));
      this.made(y, g.node('Concat', ins, base, [['axis', this.axisIn(axis, rank, layout)]]), layout);
    } else {
      checkExportable(l);
      throw new Error(`toONNX: internal error: layer '${l.name}' (${l.className}) passed the check but has no export`);
    }
  }

  /**
   * Inference batch norm: ONNX BatchNormalization where the normalized axis is the tensor's axis 1
   * (NCHW channels, or [N, C]); elsewhere x·a + b with the layer's own per-axis coefficients
   * a = γ/√(σ² + ε), b = β − μ·a (float32, as its kernel), shaped to broadcast along that axis.
   */
  private batchNorm(l: BatchNormalization, x: SymbolicTensor, y: SymbolicTensor, base: string): void {
    const g = this.g, rank = x.rank, layout = this.follow(x, y);
    const axis = this.axisIn(l.axis < 0 ? l.axis + rank : l.axis, rank, layout);
    const mean = this.weight(`${l.name}/moving_mean`).data, variance = this.weight(`${l.name}/moving_variance`).data;
    const C = mean.length;
    const gamma = l.scale ? this.weight(`${l.name}/gamma`).data : new Float32Array(C).fill(1);
    const beta = l.center ? this.weight(`${l.name}/beta`).data : new Float32Array(C);
    const xin = this.get(x, layout);
    if (axis === 1) {
      const w = (name: string, v: Float32Array) => this.init(`${l.name}/${name}:bn`, () => g.weight(`${l.name}/${name}`, [C], v));
      const ins = [xin, w('gamma', gamma), w('beta', beta), w('moving_mean', mean), w('moving_variance', variance)];
      this.made(y, g.node('BatchNormalization', ins, base, [['epsilon', float(l.epsilon)]]), layout);
      return;
    }
    const a = new Float32Array(C), b = new Float32Array(C);
    for (let i = 0; i < C; i++) {
      a[i] = f32(gamma[i] * f32(1 / f32(Math.sqrt(f32(variance[i] + l.epsilon)))));
      b[i] = f32(beta[i] - f32(mean[i] * a[i]));
    }
    const dims = Array.from({ length: rank - 1 }, (_, i) => (i === axis - 1 ? C : 1));
    const key = `${l.name}:affine:${dims}`;
    const aName = this.init(`${key}/a`, () => g.weight(`${l.name}/scale`, dims, a));
    const bName = this.init(`${key}/b`, () => g.weight(`${l.name}/offset`, dims, b));
    this.made(y, g.node('Add', [g.node('Mul', [xin, aName], base), bName], base), layout);
  }

  /**
   * Resize with source = output index / factor ('asymmetric'): nearest takes ⌊·⌋ ('floor'), linear
   * interpolates with the far tap clamped to the edge — tfjs' resizeBilinear without corner
   * alignment or half-pixel centers, which our bilinear kernel is ('half_pixel' when the layer
   * samples at half-pixel centers: ONNX's edge padding is our clamp at 0 and h − 1).
   */
  private upsample(l: UpSampling2D, x: SymbolicTensor, y: SymbolicTensor, base: string): void {
    const g = this.g, layout = this.follow(x, y), [sh, sw] = l.size;
    let attrs: Attr[];
    if (l.interpolation === 'nearest') attrs = [['mode', 'nearest'], ['coordinate_transformation_mode', 'asymmetric'], ['nearest_mode', 'floor']];
    else if (l.interpolation === 'bilinear') attrs = [['mode', 'linear'], ['coordinate_transformation_mode', l.halfPixelCenters ? 'half_pixel' : 'asymmetric']];
    else throw unsupported(l, 'interpolation', l.interpolation, "'nearest', 'bilinear'");
    const scales = this.init(`${l.name}/scales:${layout}`, () =>
      g.weight(`${l.name}/scales`, [4], Float32Array.from(layout === 'nchw' ? [1, 1, sh, sw] : [1, sh, sw, 1])));
    // Resize-13 inputs: X, roi (unused by these modes: empty), scales.
    this.made(y, g.node('Resize', [this.get(x, layout), '', scales], base, attrs), layout);
  }

  /**
   * Permute as one Transpose from whichever layout the input has to the one its readers want, so a
   * conv output is permuted without first going back to NHWC.
   */
  private permute(l: Permute, x: SymbolicTensor, y: SymbolicTensor, base: string): void {
    // From the layout x was made in: a Transpose of a Transpose would undo work.
    const s = this.state(x), from = s.primary;
    const to: Layout = y.rank === 4 ? this.wanted(y) : 'nhwc';
    /** Output position j of layout `to` → its NHWC axis → the input NHWC axis it reads → that axis' position in `from`. */
    const outAxis = (j: number) => (y.rank === 4 && to === 'nchw' ? TO_NCHW[j] : j);
    const srcAxis = (a: number) => (a === 0 ? 0 : l.dims[a - 1]);
    const perm = Array.from({ length: y.rank }, (_, j) => this.axisIn(srcAxis(outAxis(j)), x.rank, from));
    this.made(y, this.g.node('Transpose', [s.names[from]!], base, [['perm', perm]]), to);
  }
}

/** Serialized ONNX ModelProto of the model. Unsupported layers throw an Error naming them. */
export function exportOnnx(model: OnnxSource, opts: OnnxExportOptions = {}): Uint8Array {
  if (opts === null || typeof opts !== 'object') throw argError('toONNX', 'opts', opts, 'an object like {opset: 13}');
  const opset = opts.opset ?? 13;
  if (!(opset in IR_FOR_OPSET)) throw argError('toONNX', 'opset', opset, 'an integer from 13 to 21');
  model.build();
  const graph = model.graph();
  for (const { layer } of graph.nodes) checkExportable(layer);
  const e = new Exporter(graph, model, opset);
  const g = e.g;

  // Graph inputs and outputs keep the layer names (made unique: an output may be read twice).
  const inputNames = graph.inputs.map((t) => g.unique(t.sourceLayer.name));
  const outputNames = graph.outputs.map((t) => g.unique(t.sourceLayer.name));
  graph.inputs.forEach((t, i) => e.input(t, inputNames[i]));
  for (const node of graph.nodes) e.exportNode(node);
  graph.outputs.forEach((t, i) => {
    g.node('Identity', [e.get(t, 'nhwc')], 'output', [], outputNames[i]);
  });
  if (g.initializerBytes > MAX_PROTO_BYTES) {
    throw new Error(`toONNX: model '${model.name}' has ${g.initializerBytes} bytes of weights; one ONNX protobuf holds at most `
      + `${MAX_PROTO_BYTES} bytes (2 GiB), and this exporter does not write ONNX external data`);
  }

  const gp = new ProtoWriter();
  for (const n of g.nodes) gp.message(1, n);
  gp.string(2, model.name);
  for (const t of g.initializers) gp.message(5, t);
  graph.inputs.forEach((t, i) => gp.message(11, valueInfo(inputNames[i], ['N', ...t.sampleShape])));
  graph.outputs.forEach((t, i) => gp.message(12, valueInfo(outputNames[i], ['N', ...t.sampleShape])));

  return new ProtoWriter()
    .int(1, IR_FOR_OPSET[opset])
    .string(2, 'simdcnn')
    .string(3, '0.1.0')
    .message(7, gp)
    .message(8, new ProtoWriter().string(1, '').int(2, opset))
    .finish();
}
