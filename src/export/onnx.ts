// model.toONNX(): a model's graph (Sequential or functional) as an ONNX model (opset 13+) for ONNX
// Runtime and friends. The graph keeps simdcnn's interface — one NHWC input [N, ...] with a dynamic
// batch per model input (named after its input layer), one output per model output (named after
// its output layer) as model.predict returns them — and runs convolutions and pooling in ONNX's
// NCHW. The layout is tracked per tensor: a 4-D tensor exists in NHWC, NCHW or both (a Transpose
// is made the first time a consumer needs the other layout, and reused), so a tensor read by a
// convolution and by a Dense is transposed once; Flatten and Dense read NHWC, so the flattened
// features match our NHWC flatten exactly. Merges of 4-D tensors run in whichever layout needs
// fewer transposes (elementwise broadcasting and concatenation are layout-agnostic once the axes
// are permuted alike); inputs of lower rank gain size-1 axes right after the batch, as Keras does.

import { argError } from '../errors.js';
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import type { Layer, LayerNode, SymbolicTensor } from '../layers/layer.js';
import { Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract } from '../layers/merge.js';
import { AveragePooling2D, MaxPooling2D } from '../layers/pooling.js';
import { Activation, Dropout, Flatten } from '../layers/reshaping.js';
import type { ActivationName } from '../layers/activation-fns.js';
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

const SUPPORTED = 'Conv2D, Dense, MaxPooling2D, AveragePooling2D, Flatten, Dropout, Activation, Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate';
// The IR version each opset was released with: runtimes reject a model whose IR is older than its opset needs.
const IR_FOR_OPSET: Record<number, number> = { 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 };
const FLOAT = 1, INT64 = 7;
const ATTR_INT = 2, ATTR_INTS = 7;
const TO_NCHW = [0, 3, 1, 2], TO_NHWC = [0, 2, 3, 1];
/** An NHWC axis (batch = 0) in NCHW. */
const NCHW_AXIS = [0, 2, 3, 1];

type Attr = [name: string, value: number | number[]];
type Layout = 'nhwc' | 'nchw';

function attribute([name, v]: Attr): ProtoWriter {
  const a = new ProtoWriter().string(1, name);
  return Array.isArray(v) ? a.int(20, ATTR_INTS).packedInts(8, v) : a.int(20, ATTR_INT).int(3, v);
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

class GraphBuilder {
  nodes: ProtoWriter[] = [];
  initializers: ProtoWriter[] = [];
  private count = 0;
  private used = new Set<string>();

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
    return n;
  }

  ints(name: string, values: number[]): string {
    const n = this.unique(name);
    this.initializers.push(int64Tensor(n, values));
    return n;
  }
}

/** A graph tensor in ONNX: its name in each layout it has been made in (4-D only have NCHW). */
interface OnnxTensor {
  rank: number;
  names: Partial<Record<Layout, string>>;
  /** The layout it was made in. */
  primary: Layout;
}

const isSpatial = (l: Layer) => l instanceof Conv2D || l instanceof MaxPooling2D || l instanceof AveragePooling2D;
const isElementwiseMerge = (l: Layer): l is Add | Subtract | Multiply | Average | Maximum | Minimum =>
  l instanceof Add || l instanceof Subtract || l instanceof Multiply || l instanceof Average || l instanceof Maximum || l instanceof Minimum;

/** Serialized ONNX ModelProto of the model. Unsupported layers throw an Error naming them. */
export function exportOnnx(model: OnnxSource, opts: OnnxExportOptions = {}): Uint8Array {
  if (opts === null || typeof opts !== 'object') throw argError('toONNX', 'opts', opts, 'an object like {opset: 13}');
  const opset = opts.opset ?? 13;
  if (!(opset in IR_FOR_OPSET)) throw argError('toONNX', 'opset', opset, 'an integer from 13 to 21');
  model.build();
  const graph = model.graph();
  for (const { layer: l } of graph.nodes) {
    const ok = l instanceof Conv2D || l instanceof Dense || isSpatial(l) || l instanceof Flatten || l instanceof Dropout ||
      l instanceof Activation || isElementwiseMerge(l) || l instanceof Concatenate;
    if (!ok) throw new Error(`toONNX: layer '${l.name}' (${l.className}) has no ONNX export; supported layers: ${SUPPORTED}`);
  }
  const weights = new Map(model.weightValues().map((w) => [w.name, w]));
  const g = new GraphBuilder();

  // Graph inputs and outputs keep the layer names (made unique: an output may be read twice).
  const inputNames = graph.inputs.map((t) => g.unique(t.sourceLayer.name));
  const outputNames = graph.outputs.map((t) => g.unique(t.sourceLayer.name));

  const tensors = new Map<number, OnnxTensor>();
  graph.inputs.forEach((t, i) => tensors.set(t.id, { rank: t.rank, names: { nhwc: inputNames[i] }, primary: 'nhwc' }));
  const state = (t: SymbolicTensor) => tensors.get(t.id)!;
  /** The tensor's name in `layout`, transposing (once) from the other layout if needed. */
  const get = (t: SymbolicTensor, layout: Layout): string => {
    const s = state(t);
    if (s.rank !== 4) return s.names.nhwc!;
    let name = s.names[layout];
    if (!name) {
      const from = layout === 'nchw' ? s.names.nhwc! : s.names.nchw!;
      name = g.node('Transpose', [from], `${t.sourceLayer.name}/to_${layout}`, [['perm', layout === 'nchw' ? TO_NCHW : TO_NHWC]]);
      s.names[layout] = name;
    }
    return name;
  };
  const made = (t: SymbolicTensor, name: string, layout: Layout) =>
    tensors.set(t.id, { rank: t.rank, names: { [layout]: name }, primary: t.rank === 4 ? layout : 'nhwc' });

  /** The layout t's consumers mostly want (spatial ops: NCHW; Flatten, Dense, outputs: NHWC). */
  const wanted = (t: SymbolicTensor): Layout => {
    let c = 0, h = 0;
    for (const { node } of graph.consumers.get(t.id) ?? []) {
      if (isSpatial(node.layer)) c++;
      else if (node.layer instanceof Flatten || node.layer instanceof Dense) h++;
    }
    h += graph.outputs.filter((o) => o === t).length;
    return c > h ? 'nchw' : 'nhwc';
  };
  /**
   * Layout for a merge of 4-D tensors: the one needing the fewest elements transposed (a broadcast
   * [1, 1, C] gate moves to the conv map's NCHW, not the map to NHWC); ties: what the output's readers want.
   */
  const mergeLayout = (node: LayerNode): Layout => {
    const cost = (l: Layout) => node.inputs.filter((t) => !state(t).names[l]).reduce((n, t) => n + t.sampleShape.reduce((a, b) => a * b, 1), 0);
    const c = cost('nchw'), h = cost('nhwc');
    return c !== h ? (c < h ? 'nchw' : 'nhwc') : wanted(node.output);
  };

  /** Applies an activation to a tensor in `layout`; softmax is over the channel axis. */
  const activate = (a: ActivationName, x: string, rank: number, layout: Layout, base: string): string => {
    if (a === 'linear') return x;
    if (a === 'softmax') return g.node('Softmax', [x], base, [['axis', rank === 4 && layout === 'nchw' ? 1 : -1]]);
    // ONNX's default attributes are tfjs' constants (Elu α 1, Selu α/γ, HardSigmoid 0.2x + 0.5).
    const single: Partial<Record<ActivationName, string>> = {
      relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', elu: 'Elu', selu: 'Selu', softplus: 'Softplus', softsign: 'Softsign', hardSigmoid: 'HardSigmoid',
    };
    if (single[a]) return g.node(single[a]!, [x], base);
    if (a === 'swish') return g.node('Mul', [x, g.node('Sigmoid', [x], base)], base);
    if (a === 'mish') return g.node('Mul', [x, g.node('Tanh', [g.node('Softplus', [x], base)], base)], base);
    throw new Error(`toONNX: activation '${a}' (layer ${base}) has no ONNX export yet (exported: linear, softmax, ${Object.keys(single).join(', ')}, swish, mish)`);
  };

  // A shared layer's weights are one set of initializers, read by each of its nodes.
  const inits = new Map<string, string>();
  const init = (key: string, make: () => string) => {
    let n = inits.get(key);
    if (!n) inits.set(key, (n = make()));
    return n;
  };
  /** Lower-rank merge inputs gain size-1 axes after the batch (Keras' expand_dims at axis 1), cached per rank. */
  const expanded = new Map<string, string>();
  const expandTo = (t: SymbolicTensor, name: string, rank: number): string => {
    if (t.rank === rank) return name;
    const key = `${t.id}:${rank}`;
    let n = expanded.get(key);
    if (!n) {
      const axes = g.ints(`${t.sourceLayer.name}/unsqueeze_axes`, Array.from({ length: rank - t.rank }, (_, i) => i + 1));
      expanded.set(key, (n = g.node('Unsqueeze', [name, axes], t.sourceLayer.name)));
    }
    return n;
  };

  for (const node of graph.nodes) {
    const l = node.layer;
    const base = l.inboundNodes.length > 1 ? `${l.name}/${node.index}` : l.name;
    const x = node.inputs[0];
    const y = node.output;
    if (l instanceof Conv2D) {
      const inShape = x.sampleShape;
      const geo = conv2dGeometry(l.name, [1, ...inShape], [...l.kernelSize, inShape[2], l.filters], l.strides, l.padding, l.dilationRate);
      const inputs = [get(x, 'nchw')];
      inputs.push(init(`${l.name}/kernel`, () => {
        const k = weights.get(`${l.name}/kernel`)!;
        return g.weight(`${l.name}/kernel`, [l.filters, inShape[2], ...l.kernelSize], hwioToOihw(k.data, k.shape));
      }));
      if (l.useBias) inputs.push(init(`${l.name}/bias`, () => g.weight(`${l.name}/bias`, [l.filters], weights.get(`${l.name}/bias`)!.data)));
      const conv = g.node('Conv', inputs, base, [
        ['kernel_shape', [...l.kernelSize]], ['strides', [...l.strides]], ['dilations', [...l.dilationRate]],
        ['pads', [geo.padTop, geo.padLeft, geo.padBottom, geo.padRight]],
      ]);
      made(y, activate(l.activation, conv, 4, 'nchw', base), 'nchw');
    } else if (l instanceof MaxPooling2D || l instanceof AveragePooling2D) {
      const geo = poolGeometry(l.name, [1, ...x.sampleShape], l.poolSize, l.strides, l.padding);
      const attrs: Attr[] = [
        ['kernel_shape', [...l.poolSize]], ['strides', [...l.strides]],
        ['pads', [geo.padTop, geo.padLeft, geo.padBottom, geo.padRight]],
      ];
      // TensorFlow's 'same' average pooling divides by the taps inside the input only.
      if (l instanceof AveragePooling2D) attrs.push(['count_include_pad', 0]);
      made(y, g.node(l instanceof MaxPooling2D ? 'MaxPool' : 'AveragePool', [get(x, 'nchw')], base, attrs), 'nchw');
    } else if (l instanceof Flatten) {
      made(y, g.node('Flatten', [get(x, 'nhwc')], base, [['axis', 1]]), 'nhwc');
    } else if (l instanceof Dense) {
      const kName = init(`${l.name}/kernel`, () => {
        const k = weights.get(`${l.name}/kernel`)!;
        return g.weight(`${l.name}/kernel`, k.shape, k.data);
      });
      const bName = l.useBias ? init(`${l.name}/bias`, () => g.weight(`${l.name}/bias`, [l.units], weights.get(`${l.name}/bias`)!.data)) : '';
      const xin = get(x, 'nhwc');
      let out: string;
      if (x.rank === 2) {
        out = g.node('Gemm', bName ? [xin, kName, bName] : [xin, kName], base);
      } else {
        // Dense on a rank > 2 input acts on the last axis: MatMul broadcasts, Gemm would not.
        out = g.node('MatMul', [xin, kName], base);
        if (bName) out = g.node('Add', [out, bName], base);
      }
      made(y, activate(l.activation, out, y.rank, 'nhwc', base), 'nhwc');
    } else if (l instanceof Activation) {
      const s = state(x);
      // Softmax reads the channel axis: either layout works (axis 1 in NCHW); take one that exists.
      const layout: Layout = s.rank === 4 && s.names[s.primary] ? s.primary : 'nhwc';
      made(y, activate(l.activation, get(x, layout), y.rank, layout, base), layout);
    } else if (l instanceof Dropout) {
      // The identity at inference: the output is the input (sharing its transposes).
      tensors.set(y.id, state(x));
    } else if (isElementwiseMerge(l)) {
      const rank = y.rank;
      // Equal-rank 4-D inputs broadcast alike in NHWC and NCHW; other ranks are merged channel-last.
      const layout: Layout = rank === 4 && node.inputs.every((t) => t.rank === 4) ? mergeLayout(node) : 'nhwc';
      const ins = node.inputs.map((t) => expandTo(t, get(t, layout), rank));
      let out: string;
      if (l instanceof Subtract) out = g.node('Sub', ins, base);
      else if (l instanceof Multiply) out = ins.slice(1).reduce((acc, v) => g.node('Mul', [acc, v], base), ins[0]);
      else if (l instanceof Maximum) out = g.node('Max', ins, base);
      else if (l instanceof Minimum) out = g.node('Min', ins, base);
      else {
        out = g.node(ins.length === 2 ? 'Add' : 'Sum', ins, base);
        if (l instanceof Average) {
          const scale = init(`${l.name}/scale`, () => g.weight(`${l.name}/scale`, [], Float32Array.of(1 / ins.length)));
          out = g.node('Mul', [out, scale], base);
        }
      }
      made(y, out, layout);
    } else if (l instanceof Concatenate) {
      const rank = y.rank;
      const axis = l.axis < 0 ? l.axis + rank : l.axis;
      const layout: Layout = rank === 4 ? mergeLayout(node) : 'nhwc';
      const ins = node.inputs.map((t) => get(t, layout));
      made(y, g.node('Concat', ins, base, [['axis', layout === 'nchw' ? NCHW_AXIS[axis] : axis]]), layout);
    }
  }

  graph.outputs.forEach((t, i) => {
    g.node('Identity', [get(t, 'nhwc')], 'output', [], outputNames[i]);
  });

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
