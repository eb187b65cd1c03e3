// model.toONNX(): the Sequential as an ONNX model (opset 13+) for ONNX Runtime and friends.
// The graph keeps simdcnn's interface — NHWC input [N, H, W, C] with a dynamic batch, outputs as
// model.predict returns them — and runs convolutions and pooling in ONNX's NCHW: a Transpose goes
// in before the first spatial op and back to NHWC before anything that reads the channel-last
// order (Flatten, Dense, softmax), so the flattened features match our NHWC flatten exactly.

import { argError } from '../errors.js';
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import type { Layer } from '../layers/layer.js';
import { AveragePooling2D, MaxPooling2D } from '../layers/pooling.js';
import { Activation, Dropout, Flatten } from '../layers/reshaping.js';
import type { ActivationName } from '../layers/activation-fns.js';
import { conv2dGeometry } from '../ops/conv.js';
import { poolGeometry } from '../ops/pool.js';
import { ProtoWriter } from './protobuf.js';

/** What the exporter reads from a Sequential (structural, so this file does not import the model). */
export interface OnnxSource {
  readonly name: string;
  readonly layers: Layer[];
  readonly inputShape: number[];
  build(): void;
  weightValues(): { name: string; shape: number[]; data: Float32Array }[];
}

export interface OnnxExportOptions {
  /** ONNX default-domain opset, 13 (default) to 21. */
  opset?: number;
}

const SUPPORTED = 'Conv2D, Dense, MaxPooling2D, AveragePooling2D, Flatten, Dropout, Activation';
// The IR version each opset was released with: runtimes reject a model whose IR is older than its opset needs.
const IR_FOR_OPSET: Record<number, number> = { 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 };
const FLOAT = 1;
const ATTR_INT = 2, ATTR_INTS = 7;

type Attr = [name: string, value: number | number[]];

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
  return new ProtoWriter().packedInts(1, dims).int(2, FLOAT).string(8, name).bytes(9, raw);
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

  node(op: string, inputs: string[], base: string, attrs: Attr[] = []): string {
    const out = `${base}/${op}_${this.count++}`;
    const n = new ProtoWriter();
    for (const i of inputs) n.string(1, i);
    n.string(2, out).string(3, out).string(4, op);
    for (const a of attrs) n.message(5, attribute(a));
    this.nodes.push(n);
    return out;
  }

  weight(name: string, dims: number[], values: Float32Array): string {
    this.initializers.push(floatTensor(name, dims, values));
    return name;
  }
}

/** Serialized ONNX ModelProto of the model. Unsupported layers throw an Error naming them. */
export function exportOnnx(model: OnnxSource, opts: OnnxExportOptions = {}): Uint8Array {
  if (opts === null || typeof opts !== 'object') throw argError('toONNX', 'opts', opts, 'an object like {opset: 13}');
  const opset = opts.opset ?? 13;
  if (!(opset in IR_FOR_OPSET)) throw argError('toONNX', 'opset', opset, 'an integer from 13 to 21');
  model.build();
  for (const l of model.layers) {
    const ok = l instanceof Conv2D || l instanceof Dense || l instanceof MaxPooling2D || l instanceof AveragePooling2D ||
      l instanceof Flatten || l instanceof Dropout || l instanceof Activation;
    if (!ok) throw new Error(`toONNX: layer '${l.name}' (${l.className}) has no ONNX export; supported layers: ${SUPPORTED}`);
  }
  const weights = new Map(model.weightValues().map((w) => [w.name, w]));
  const g = new GraphBuilder();
  const inputName = `${model.layers[0].name}_input`;
  let cur = inputName;
  // 'NHWC' = simdcnn's own layout; 'NCHW' only between spatial ops.
  let nchw = false;
  const toNchw = (base: string) => { if (!nchw) { cur = g.node('Transpose', [cur], base, [['perm', [0, 3, 1, 2]]]); nchw = true; } };
  const toNhwc = (base: string) => { if (nchw) { cur = g.node('Transpose', [cur], base, [['perm', [0, 2, 3, 1]]]); nchw = false; } };
  const activate = (a: ActivationName, base: string) => {
    if (a === 'linear') return;
    if (a === 'softmax') {
      // Softmax is over the channel (last) axis: opset 13's Softmax(axis=-1) is exactly that, in NHWC.
      toNhwc(base);
      cur = g.node('Softmax', [cur], base, [['axis', -1]]);
      return;
    }
    cur = g.node(a === 'relu' ? 'Relu' : a === 'sigmoid' ? 'Sigmoid' : 'Tanh', [cur], base);
  };

  for (const l of model.layers) {
    const base = l.name;
    if (l instanceof Conv2D) {
      const geo = conv2dGeometry(l.name, [1, ...l.inShape], [...l.kernelSize, l.inShape[2], l.filters], l.strides, l.padding, l.dilationRate);
      const k = weights.get(`${l.name}/kernel`)!;
      toNchw(base);
      const inputs = [cur];
      inputs.push(g.weight(`${l.name}/kernel`, [l.filters, l.inShape[2], ...l.kernelSize], hwioToOihw(k.data, k.shape)));
      if (l.useBias) inputs.push(g.weight(`${l.name}/bias`, [l.filters], weights.get(`${l.name}/bias`)!.data));
      cur = g.node('Conv', inputs, base, [
        ['kernel_shape', [...l.kernelSize]], ['strides', [...l.strides]], ['dilations', [...l.dilationRate]],
        ['pads', [geo.padTop, geo.padLeft, geo.padBottom, geo.padRight]],
      ]);
      activate(l.activation, base);
    } else if (l instanceof MaxPooling2D || l instanceof AveragePooling2D) {
      const geo = poolGeometry(l.name, [1, ...l.inShape], l.poolSize, l.strides, l.padding);
      toNchw(base);
      const attrs: Attr[] = [
        ['kernel_shape', [...l.poolSize]], ['strides', [...l.strides]],
        ['pads', [geo.padTop, geo.padLeft, geo.padBottom, geo.padRight]],
      ];
      // TensorFlow's 'same' average pooling divides by the taps inside the input only.
      if (l instanceof AveragePooling2D) attrs.push(['count_include_pad', 0]);
      cur = g.node(l instanceof MaxPooling2D ? 'MaxPool' : 'AveragePool', [cur], base, attrs);
    } else if (l instanceof Flatten) {
      toNhwc(base);
      cur = g.node('Flatten', [cur], base, [['axis', 1]]);
    } else if (l instanceof Dense) {
      toNhwc(base);
      const k = weights.get(`${l.name}/kernel`)!;
      const kName = g.weight(`${l.name}/kernel`, k.shape, k.data);
      const bName = l.useBias ? g.weight(`${l.name}/bias`, [l.units], weights.get(`${l.name}/bias`)!.data) : '';
      if (l.inShape.length === 1) {
        cur = g.node('Gemm', bName ? [cur, kName, bName] : [cur, kName], base);
      } else {
        // Dense on a rank > 2 input acts on the last axis: MatMul broadcasts, Gemm would not.
        cur = g.node('MatMul', [cur, kName], base);
        if (bName) cur = g.node('Add', [cur, bName], base);
      }
      activate(l.activation, base);
    } else if (l instanceof Activation) {
      activate(l.activation, base);
    }
    // Dropout: the identity at inference.
  }
  toNhwc('output');
  const outputName = 'output';
  g.nodes.push(new ProtoWriter().string(1, cur).string(2, outputName).string(3, 'output/Identity').string(4, 'Identity'));

  const graph = new ProtoWriter();
  for (const n of g.nodes) graph.message(1, n);
  graph.string(2, model.name);
  for (const t of g.initializers) graph.message(5, t);
  graph.message(11, valueInfo(inputName, ['N', ...model.inputShape]));
  graph.message(12, valueInfo(outputName, ['N', ...model.layers[model.layers.length - 1].outShape]));

  return new ProtoWriter()
    .int(1, IR_FOR_OPSET[opset])
    .string(2, 'simdcnn')
    .string(3, '0.1.0')
    .message(7, graph)
    .message(8, new ProtoWriter().string(1, '').int(2, opset))
    .finish();
}
