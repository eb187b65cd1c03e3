// An ONNX graph → a graph of our layers. Nodes are converted in the file's (topological) order;
// constants fold as they come (onnx-fold.ts); every other node becomes one or a few layers applied
// to the symbolic tensors of its inputs. Layout: ONNX's NCHW activations live as NHWC (see
// onnx-values.ts), weights are converted once here (OIHW → HWIO, [O, 1, kh, kw] → [kh, kw, C, dm],
// Gemm's [out, in] → Dense's [in, out], rows permuted when a Flatten left the features in HWC
// order), and a Permute layer appears only where the layout really changes: at the graph's inputs
// and outputs, and for an explicit Transpose of data (ShuffleNet's channel shuffle).
//
// Where an operator has no layer of its own it is composed from layers that compute exactly it
// (HardSwish = x · clip(x/6 + 1/2, 0, 1) from Rescaling, ReLU and Multiply; a channel slice = a
// Cropping2D over a [rows, channels, rest] view; a per-channel constant = a 1×1 depthwise
// convolution; a grouped convolution = a Conv2D per group's channel slice, concatenated;
// ConvTranspose = a 'valid' Conv2DTranspose cropped to ONNX's pads), so the model still trains,
// saves and exports with the existing layer zoo.

import { argError } from '../errors.js';
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { Conv2DTranspose, DepthwiseConv2D } from '../layers/depthwise.js';
import { BatchNormalization } from '../layers/batch-norm.js';
import { Activation, Flatten } from '../layers/reshaping.js';
import { AveragePooling2D, MaxPooling2D } from '../layers/pooling.js';
import { GlobalAveragePooling2D, GlobalMaxPooling2D } from '../layers/global-pooling.js';
import { Cropping2D, ZeroPadding2D } from '../layers/padding.js';
import { Permute, Reshape } from '../layers/reshape.js';
import { UpSampling2D } from '../layers/upsampling.js';
import { Rescaling } from '../layers/preprocessing.js';
import { Add, Concatenate, Multiply, Subtract } from '../layers/merge.js';
import { ELU, LeakyReLU, PReLU, ReLU, Softmax } from '../layers/activation-layers.js';
import { InputLayer } from '../layers/input.js';
import type { ActivationName } from '../layers/activation-fns.js';
import type { Layer, SymbolicTensor } from '../layers/layer.js';
import { ATTR, DT, dtypeName, isFloat, type OnnxAttribute, type OnnxGraph, type OnnxNode, type OnnxTensor } from './onnx-proto.js';
import {
  floatConst, foldBinary, foldConcat, foldExpand, foldGather, foldSlice, foldTranspose, foldWhere, intConst, isFloatConst, normAxis,
  numbersOf, reshapeDims, sliceRange,
} from './onnx-fold.js';
import {
  broadcastDims, internalShape, iota, isBatchDim, NHWC, onnxIndexOfInternal, sameList, showEl, size, transposeData, type Const, type IntEl,
  type Sym, type Value,
} from './onnx-values.js';

export const SUPPORTED_OPS = [
  'Add', 'AveragePool', 'BatchNormalization', 'Cast', 'Clip', 'Concat', 'Constant', 'ConstantOfShape', 'Conv', 'ConvTranspose', 'Div', 'Dropout', 'Elu',
  'Equal', 'Expand', 'Flatten', 'Gather', 'Gemm', 'GlobalAveragePool', 'GlobalMaxPool', 'HardSigmoid', 'HardSwish', 'Identity',
  'LeakyRelu', 'MatMul', 'MaxPool', 'Mul', 'PRelu', 'Pad', 'Range', 'ReduceMax', 'ReduceMean', 'Relu', 'Reshape', 'Resize', 'Selu', 'Shape',
  'Sigmoid', 'Slice', 'Softmax', 'Softplus', 'Softsign', 'Split', 'Squeeze', 'Sub', 'Tanh', 'Transpose', 'Unsqueeze', 'Upsample', 'Where',
  // Only as part of the erf form of GELU: Div(x, √2) → Erf → Add 1 → Mul x → Mul ½.
  'Erf',
];

export interface ConvertOptions {
  /** Per-example shapes (ONNX layout, no batch) for inputs whose non-batch dims are symbolic, by input name. */
  inputShapes?: Record<string, number[]>;
}

/** What the import hands the model: its graph ends, the weights to write, and the ONNX-side description. */
export interface Converted {
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
  /** Per layer, its weights' values in layer.weights order. */
  weights: Map<Layer, Float32Array[]>;
  onnxInputs: { name: string; shape: (number | string)[] }[];
  onnxOutputs: { name: string; shape: (number | string)[] }[];
}

const SELU_ALPHA = 1.6732632423543772, SELU_GAMMA = 1.0507009873554805;

/** Layer names from ONNX names: what Keras names accept (weights are saved as layer/weight). */
const cleanName = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+|_+$/g, '') || 'node';

class Converter {
  private readonly values = new Map<string, Value>();
  private readonly weights = new Map<Layer, Float32Array[]>();
  private readonly names = new Set<string>();
  private readonly consumers = new Map<string, OnnxNode[]>();
  private readonly graphOutputs: Set<string>;
  private readonly producers = new Map<string, OnnxNode>();
  private readonly skip = new Set<OnnxNode>();
  private readonly permuted = new Map<string, Sym>();
  private readonly inits = new Map<string, OnnxTensor>();
  /** The batch of the graph's inputs where it is a number (a Reshape may then spell it out). */
  private staticBatch: number | undefined;
  private node!: OnnxNode;

  constructor(private readonly graph: OnnxGraph, private readonly opset: number, private readonly opts: ConvertOptions) {
    this.graphOutputs = new Set(graph.outputs.map((o) => o.name));
    for (const o of graph.outputs) this.names.add(o.name);
    for (const n of graph.nodes) {
      for (const i of n.inputs) if (i) (this.consumers.get(i) ?? this.consumers.set(i, []).get(i)!).push(n);
      for (const o of n.outputs) if (o) this.producers.set(o, n);
    }
  }

  // ---- errors and names ----

  private where(n = this.node): string {
    return `onnx: node '${n.name || n.outputs[0]}' (${n.opType}, opset ${this.opset})`;
  }
  private fail(why: string): never {
    throw new Error(`${this.where()}: ${why}`);
  }
  private layerName(suffix = ''): string {
    const base = cleanName((this.node.name || this.node.outputs[0] || this.node.opType) + (suffix ? `_${suffix}` : ''));
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  // ---- attributes ----

  private attr(name: string): OnnxAttribute | undefined {
    return this.node.attributes.get(name);
  }
  private attrInt(name: string, dflt: number): number {
    const a = this.attr(name);
    if (!a) return dflt;
    if (a.type !== ATTR.INT) this.fail(`attribute ${name} must be an int, got attribute type ${a.type}`);
    return a.value as number;
  }
  private attrFloat(name: string, dflt: number): number {
    const a = this.attr(name);
    if (!a) return dflt;
    if (a.type !== ATTR.FLOAT) this.fail(`attribute ${name} must be a float, got attribute type ${a.type}`);
    return a.value as number;
  }
  private attrInts(name: string): number[] | undefined {
    const a = this.attr(name);
    if (!a) return undefined;
    if (a.type !== ATTR.INTS) this.fail(`attribute ${name} must be a list of ints, got attribute type ${a.type}`);
    return a.value as number[];
  }
  private attrString(name: string, dflt: string): string {
    const a = this.attr(name);
    if (!a) return dflt;
    if (a.type !== ATTR.STRING) this.fail(`attribute ${name} must be a string, got attribute type ${a.type}`);
    return a.value as string;
  }

  // ---- values ----

  private constOfTensor(t: OnnxTensor): Const {
    if (isFloat(t.dataType)) return floatConst(t.dims, t.data as Float32Array);
    return intConst(t.dims, t.data as number[]);
  }
  private value(name: string): Value | undefined {
    if (!name) return undefined;
    const v = this.values.get(name);
    if (!v) this.fail(`input '${name}' is produced by no earlier node, initializer or graph input (the graph is not in topological order, or is incomplete)`);
    return v;
  }
  /** A node input's value known before its node runs: an initializer or a Constant node's value (for look-ahead fusions). */
  private peekConst(name: string): Const | undefined {
    const v = this.values.get(name);
    if (v) return v.kind === 'const' ? v : undefined;
    const p = this.producers.get(name);
    const a = p?.opType === 'Constant' ? p.attributes.get('value') : undefined;
    return a?.type === ATTR.TENSOR ? this.constOfTensor(a.value as OnnxTensor) : undefined;
  }
  private sym(v: Value | undefined, what: string): Sym {
    if (!v) this.fail(`${what} is missing`);
    if (v.kind !== 'sym') this.fail(`${what} is a constant here; only data inputs are supported in this position`);
    return v;
  }
  private konst(v: Value | undefined, what: string): Const {
    if (!v) this.fail(`${what} is missing`);
    if (v.kind !== 'const') this.fail(`${what} must be a constant (an initializer or foldable shape arithmetic), but it is computed from the model's inputs`);
    return v;
  }
  private floats(v: Value | undefined, what: string): Float32Array {
    const c = this.konst(v, what);
    if (!isFloatConst(c)) this.fail(`${what} must be a float tensor`);
    return c.data;
  }
  private ints(v: Value | undefined, what: string): number[] {
    return numbersOf(this.konst(v, what), `${this.where()}: ${what}`);
  }
  private scalarOf(v: Value | undefined, what: string): number {
    const c = this.konst(v, what);
    if (c.data.length !== 1) this.fail(`${what} must hold one value, got shape [${c.dims}]`);
    return numbersOf(c, `${this.where()}: ${what}`)[0];
  }

  /** Applies a layer to symbolic tensors, with its weights' values (written into the model once it is built). */
  private apply(layer: Layer, inputs: SymbolicTensor[], weights?: Float32Array[]): SymbolicTensor {
    let out: SymbolicTensor;
    try {
      out = layer.apply(inputs.length === 1 ? inputs[0] : inputs);
    } catch (e) {
      this.fail(`could not build layer ${layer.className}: ${(e as Error).message}`);
    }
    if (weights) {
      layer.weights.forEach((w, i) => {
        if (weights[i].length !== size(w.shape)) this.fail(`internal error: ${w.name} of ${layer.name} needs ${size(w.shape)} values, got ${weights[i].length}`);
      });
      this.weights.set(layer, weights);
    }
    return out;
  }
  private out(st: SymbolicTensor, shape: number[], perm: number[], nonNeg: boolean, flat?: Sym['flat']): Sym {
    return { kind: 'sym', st, shape, perm, nonNeg, ...(flat ? { flat } : {}) };
  }

  // ---- layout ----

  /** The features of a pending flatten put into ONNX's order (a Permute of the unflattened view). */
  private unflat(v: Sym): Sym {
    if (!v.flat) return v;
    const key = `${v.st.id}:unflat`;
    const hit = this.permuted.get(key);
    if (hit) return hit;
    const { shape, perm } = v.flat;
    const view = this.out(this.apply(new Reshape({ targetShape: internalShape(shape, perm), name: this.layerName('unflatten') }), [v.st]), shape, perm, v.nonNeg);
    const ordered = this.toPerm(view, iota(shape.length));
    const st = this.apply(new Flatten({ name: this.layerName('flatten') }), [ordered.st]);
    const r = this.out(st, v.shape, [0, 1], v.nonNeg);
    this.permuted.set(key, r);
    return r;
  }

  /** v laid out as `perm` (a view where only size-1 axes move, else a Permute layer, made once per tensor and layout). */
  private toPerm(v0: Sym, perm: number[]): Sym {
    const v = this.unflat(v0);
    if (sameList(v.perm, perm)) return v;
    const key = `${v.st.id}:${perm}`;
    const hit = this.permuted.get(key);
    if (hit) return hit;
    const nonUnit = (p: number[]) => p.filter((a) => v.shape[a] !== 1);
    let st: SymbolicTensor;
    if (sameList(nonUnit(v.perm), nonUnit(perm))) {
      st = this.apply(new Reshape({ targetShape: internalShape(v.shape, perm), name: this.layerName('view') }), [v.st]);
    } else {
      const dims = perm.slice(1).map((a) => v.perm.indexOf(a));
      st = this.apply(new Permute({ dims, name: this.layerName(sameList(perm, NHWC) ? 'to_nhwc' : sameList(perm, iota(perm.length)) ? 'to_onnx_layout' : 'permute') }), [v.st]);
    }
    const r = this.out(st, v.shape, perm, v.nonNeg);
    this.permuted.set(key, r);
    return r;
  }

  private spatial(v: Sym, what = 'input'): Sym {
    if (v.shape.length !== 4) this.fail(`${what} has shape [${this.shapeText(v.shape)}]; only 2-D images (rank 4, NCHW) are supported`);
    return this.toPerm(v, NHWC);
  }
  private shapeText(s: number[]): string {
    return s.map((d, i) => (i === 0 ? 'batch' : String(d))).join(', ');
  }

  /** A reshape of a symbolic tensor to `target` (ONNX shape, target[0] = −1 the batch): views where the grouping of axes allows, one Permute where it does not. */
  private reshape(v0: Sym, target: number[]): Sym {
    if (sameList(v0.shape, target)) return v0;
    // A flatten of everything but the batch: the features may stay in internal order.
    if (target.length === 2 && !v0.flat && v0.shape.length > 2) return this.flatten(v0);
    const v = this.unflat(v0);
    const inAx = iota(v.shape.length).slice(1).filter((a) => v.shape[a] !== 1);
    const outAx = iota(target.length).slice(1).filter((a) => target[a] !== 1);
    const groups: { ins: number[]; outs: number[] }[] = [];
    let i = 0, j = 0;
    while (i < inAx.length || j < outAx.length) {
      const g = { ins: [] as number[], outs: [] as number[] };
      let p = 1, q = 1;
      do {
        if ((p <= q && i < inAx.length) || j >= outAx.length) {
          if (i >= inAx.length) this.fail(`cannot reshape [${this.shapeText(v.shape)}] to [${this.shapeText(target)}]`);
          p *= v.shape[inAx[i]];
          g.ins.push(inAx[i++]);
        } else {
          q *= target[outAx[j]];
          g.outs.push(outAx[j++]);
        }
      } while (p !== q);
      groups.push(g);
    }
    const pos = (a: number) => v.perm.indexOf(a);
    const ordered = groups.every((g) => g.ins.every((a, k) => k === 0 || pos(a) === pos(g.ins[k - 1]) + 1));
    if (!ordered) {
      // Make every group's axes adjacent and in ONNX order, groups where their first axis is.
      const sorted = [...groups].sort((a, b) => Math.min(...a.ins.map(pos)) - Math.min(...b.ins.map(pos)));
      const perm = [0, ...v.perm.slice(1).filter((a) => v.shape[a] === 1), ...sorted.flatMap((g) => g.ins)];
      return this.reshape(this.toPerm(v, perm), target);
    }
    const sorted = [...groups].sort((a, b) => pos(a.ins[0]) - pos(b.ins[0]));
    const ones = iota(target.length).slice(1).filter((a) => target[a] === 1);
    const perm = [0, ...ones, ...sorted.flatMap((g) => g.outs)];
    const inner = internalShape(target, perm);
    const st = sameList(inner, v.st.sampleShape) ? v.st : this.apply(new Reshape({ targetShape: inner, name: this.layerName('reshape') }), [v.st]);
    return this.out(st, target, perm, v.nonNeg);
  }

  /** Flatten to [N, features]: the features stay in internal order unless that is ONNX's. */
  private flatten(v: Sym): Sym {
    if (v.shape.length === 2) return v;
    const F = size(v.shape.slice(1));
    const st = this.apply(new Flatten({ name: this.layerName('flatten') }), [v.st]);
    const nonUnit = v.perm.filter((a) => v.shape[a] !== 1);
    const inOrder = nonUnit.every((a, k) => k === 0 || a > nonUnit[k - 1]);
    return this.out(st, [-1, F], [0, 1], v.nonNeg, inOrder ? undefined : { shape: v.shape, perm: v.perm });
  }

  /** Reads a node's batch-aware target shape (Reshape's shape input) into ONNX dims with −1 for the batch. */
  private batchTarget(x: Sym, els: IntEl[], allowZero: boolean): number[] {
    if (els.length === 0) this.fail('the target shape is empty (a scalar); the batch axis cannot be removed');
    const first = els[0];
    const rest = els.slice(1).map((e, k) => {
      if (isBatchDim(e)) this.fail(`target shape [${els.map(showEl)}] uses the batch size at axis ${k + 1}; only axis 0 may be the batch`);
      return e === 0 && !allowZero ? x.shape[k + 1] ?? this.fail(`target shape [${els.map(showEl)}] copies axis ${k + 1}, which the input [${this.shapeText(x.shape)}] lacks`) : e;
    });
    const okBatch = (isBatchDim(first) && first.batch === 1) || (first === 0 && !allowZero) || (first === this.staticBatch && this.staticBatch !== undefined)
      || (first === -1 && !rest.includes(-1));
    if (!okBatch) {
      this.fail(`target shape [${els.map(showEl)}] does not keep the batch as axis 0 (it must be the input's batch, 0, or −1 with the other dims known); a model imported here runs at any batch size`);
    }
    const per = size(x.shape.slice(1));
    const free = rest.indexOf(-1);
    if (free >= 0) {
      const known = size(rest.filter((_, k) => k !== free));
      if (known === 0 || per % known !== 0) this.fail(`cannot reshape [${this.shapeText(x.shape)}] to [${els.map(showEl)}]`);
      rest[free] = per / known;
    }
    if (size(rest) !== per || rest.some((d) => d < 1)) this.fail(`cannot reshape [${this.shapeText(x.shape)}] (${per} values per example) to [${els.map(showEl)}]`);
    return [-1, ...rest];
  }

  // ---- look-ahead fusions ----

  /** The one node reading `name`, when the graph's outputs do not also include it. */
  private onlyReader(name: string): OnnxNode | undefined {
    const r = this.consumers.get(name) ?? [];
    return r.length === 1 && !this.graphOutputs.has(name) ? r[0] : undefined;
  }

  /** ReLU or ReLU6 right after a convolution or dense layer, taken into it; returns the activation and the output name to bind. */
  private fusedActivation(out: string, allowed: ActivationName[]): { act: ActivationName; bind: string } {
    const r = this.onlyReader(out);
    let act: ActivationName | undefined;
    if (r?.opType === 'Relu') act = 'relu';
    else if (r?.opType === 'Clip') {
      const [lo, hi] = this.clipBounds(r);
      if (lo === 0 && hi === 6) act = 'relu6';
      else if (lo === 0 && hi === Infinity) act = 'relu';
    }
    if (!act || !allowed.includes(act) || !r) return { act: 'linear', bind: out };
    this.skip.add(r);
    return { act, bind: r.outputs[0] };
  }

  private clipBounds(n: OnnxNode): [number, number] {
    const read = (i: number, attr: string, dflt: number): number => {
      const a = n.attributes.get(attr);
      if (a) return a.value as number;
      const name = n.inputs[i];
      if (!name) return dflt;
      const c = this.peekConst(name);
      if (!c || c.data.length !== 1) return NaN;
      return Number((c.data as ArrayLike<IntEl>)[0]);
    };
    return [read(1, 'min', -Infinity), read(2, 'max', Infinity)];
  }

  // ---- the graph ----

  run(): Converted {
    const g = this.graph;
    for (const t of g.initializers) {
      this.inits.set(t.name, t);
      this.values.set(t.name, this.constOfTensor(t));
    }
    const inputs: SymbolicTensor[] = [];
    const onnxInputs: Converted['onnxInputs'] = [];
    for (const vi of g.inputs) {
      if (this.inits.has(vi.name)) continue; // IR < 4 lists initializers among the inputs
      const shape = vi.shape;
      if (!isFloat(vi.elemType)) throw new Error(`onnx: input '${vi.name}' has element type ${dtypeName(vi.elemType)}; only float inputs are supported`);
      if (!shape || shape.length < 2) throw new Error(`onnx: input '${vi.name}' has ${shape ? `shape [${shape}]` : 'no shape'}; expected [batch, ...dims] (rank ≥ 2)`);
      const given = this.opts.inputShapes?.[vi.name];
      const dims = shape.slice(1).map((d, k) => {
        const o = given?.[k];
        if (given && (!Number.isInteger(o) || (o as number) < 1 || given.length !== shape.length - 1)) {
          throw argError('loadOnnx', `inputShapes['${vi.name}']`, given, `${shape.length - 1} positive integers (the example shape without the batch, ONNX layout: [${shape.slice(1).map((x) => x ?? '?')}])`);
        }
        if (typeof d === 'number' && d > 0) {
          if (given && o !== d) throw argError('loadOnnx', `inputShapes['${vi.name}']`, given, `to match the fixed dims of the model's input [${shape.slice(1)}]`);
          return d;
        }
        if (given) return o as number;
        throw new Error(`onnx: input '${vi.name}' has shape [${shape.map((x) => x ?? '?')}] with dim ${k + 1} symbolic (${d ?? 'unknown'}); `
          + `pass loadOnnx(source, {inputShapes: {'${vi.name}': [${shape.slice(1).map((x) => (typeof x === 'number' && x > 0 ? x : '?'))}]}}) with the sizes to run at`);
      });
      if (typeof shape[0] === 'number' && shape[0] > 0) this.staticBatch = shape[0];
      const layer = new InputLayer({ shape: dims, name: vi.name });
      this.names.add(vi.name);
      inputs.push(layer.output);
      onnxInputs.push({ name: vi.name, shape: [shape[0] ?? 'batch', ...dims] as (number | string)[] });
      this.values.set(vi.name, this.out(layer.output, [-1, ...dims], iota(dims.length + 1), false));
    }
    if (!inputs.length) throw new Error('onnx: the graph has no inputs besides its initializers (nothing to predict from)');

    for (const n of g.nodes) {
      if (this.skip.has(n)) continue;
      this.node = n;
      if (n.domain && n.domain !== 'ai.onnx') this.fail(`operator domain '${n.domain}' is not supported (the default ONNX domain only)`);
      const handler = (this as unknown as Record<string, (ins: (Value | undefined)[]) => (Value | undefined)[] | Value>)[`op${n.opType}`];
      if (typeof handler !== 'function') {
        this.fail(`operator ${n.opType} is not supported; supported: ${SUPPORTED_OPS.join(', ')}`);
      }
      const ins = n.inputs.map((i) => this.value(i));
      const outs = handler.call(this, ins);
      const list = Array.isArray(outs) ? outs : [outs];
      n.outputs.forEach((o, k) => {
        if (!o) return;
        const v = list[k];
        if (!v) {
          if (this.consumers.has(o) || this.graphOutputs.has(o)) this.fail(`output ${k} ('${o}') is not supported (only the first output of ${n.opType} is computed)`);
          return;
        }
        this.values.set(o, v);
      });
    }

    const outputs: SymbolicTensor[] = [];
    const onnxOutputs: Converted['onnxOutputs'] = [];
    const named = new Map<Layer, string>();
    for (const vo of g.outputs) {
      const v = this.values.get(vo.name);
      if (!v) throw new Error(`onnx: graph output '${vo.name}' is produced by no node`);
      if (v.kind === 'const') throw new Error(`onnx: graph output '${vo.name}' is a constant (it does not depend on the inputs); not supported`);
      this.node = this.producers.get(vo.name) ?? { name: vo.name, opType: 'output', domain: '', inputs: [], outputs: [vo.name], attributes: new Map() };
      const canon = this.toPerm(v, iota(v.shape.length));
      let st = canon.st;
      const layer = st.sourceLayer;
      // Keras names a model's outputs after their layers: the output layer takes the ONNX name.
      if (layer instanceof InputLayer || named.has(layer) || inputs.some((t) => t.sourceLayer.name === vo.name)) {
        st = this.apply(new Reshape({ targetShape: st.sampleShape, name: this.layerName('output') }), [st]);
      }
      named.set(st.sourceLayer, vo.name);
      outputs.push(st);
      onnxOutputs.push({ name: vo.name, shape: [vo.shape?.[0] ?? 'batch', ...canon.shape.slice(1)] as (number | string)[] });
    }
    // layerName() never hands out these names (reserved in the constructor), so no layer clashes.
    for (const [layer, name] of named) layer.name = name;
    return { inputs, outputs, weights: this.weights, onnxInputs, onnxOutputs };
  }

  // =====================================================================================
  // Operators. Each returns the node's output value(s).
  // =====================================================================================

  // ---- constants and shape arithmetic ----

  opConstant(): Value {
    const a = [...this.node.attributes.values()][0];
    if (!a) this.fail('has no value attribute');
    switch (a.name) {
      case 'value': return this.constOfTensor(a.value as OnnxTensor);
      case 'value_float': return floatConst([], [a.value as number]);
      case 'value_floats': return floatConst([(a.value as number[]).length], a.value as number[]);
      case 'value_int': return intConst([], [a.value as number]);
      case 'value_ints': return intConst([(a.value as number[]).length], a.value as number[]);
      default: this.fail(`attribute ${a.name} is not supported (value, value_float(s), value_int(s))`);
    }
  }

  opShape([x]: (Value | undefined)[]): Value {
    if (!x) this.fail('input is missing');
    const dims: IntEl[] = x.kind === 'const' ? x.dims.slice() : x.shape.map((d, i) => (i === 0 ? { batch: 1 } : d));
    const r = dims.length;
    const norm = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const start = norm(this.attrInt('start', 0)), end = norm(this.attrInt('end', r));
    const out = dims.slice(start, end);
    return intConst([out.length], out);
  }

  opCast([x]: (Value | undefined)[]): Value {
    const to = this.attrInt('to', 0);
    if (!x) this.fail('input is missing');
    if (x.kind === 'sym') {
      if (!isFloat(to)) this.fail(`casts the model's data to ${dtypeName(to)}; only float data is supported`);
      return x;
    }
    if (isFloat(to)) return floatConst(x.dims, numbersOf(x, `${this.where()}: the cast input`));
    if (to === DT.BOOL) return intConst(x.dims, numbersOf(x, `${this.where()}: the cast input`).map((v) => (v ? 1 : 0)));
    if (isFloatConst(x)) return intConst(x.dims, Array.from(x.data, Math.trunc));
    return x;
  }

  opGather([data, indices]: (Value | undefined)[]): Value {
    const axis = this.attrInt('axis', 0);
    const idx = this.konst(indices, 'indices');
    const list = numbersOf(idx, `${this.where()}: indices`);
    if (data?.kind === 'const') return foldGather(data, list, idx.dims, axis, this.where());
    const x = this.sym(data, 'data');
    const a = normAxis(axis, x.shape.length, this.where());
    if (a === 0) this.fail('gathers along the batch axis; not supported');
    const len = x.shape[a];
    const norm = list.map((i) => (i < 0 ? i + len : i));
    if (norm.some((i, k) => i < 0 || i >= len || (k > 0 && i !== norm[k - 1] + 1))) {
      this.fail(`indices [${list}] on axis ${axis}: only a single index or a contiguous ascending run is supported`);
    }
    const sliced = this.slice(x, a, norm[0], norm[norm.length - 1] + 1);
    if (idx.dims.length === 1) return sliced;
    if (idx.dims.length === 0) return this.reshape(sliced, sliced.shape.filter((_, k) => k !== a));
    this.fail(`indices of rank ${idx.dims.length}; only a scalar or a 1-D run is supported`);
  }

  opUnsqueeze([x, axesIn]: (Value | undefined)[]): Value {
    const axesList = this.opset >= 13 ? this.ints(axesIn, 'axes') : this.attrInts('axes') ?? this.fail('has no axes');
    if (!x) this.fail('input is missing');
    const rank = (x.kind === 'const' ? x.dims.length : x.shape.length) + axesList.length;
    const axes = axesList.map((a) => normAxis(a, rank, this.where())).sort((p, q) => p - q);
    const old = x.kind === 'const' ? x.dims : x.shape;
    const dims: number[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) dims.push(axes.includes(i) ? 1 : old[k++]);
    if (x.kind === 'const') return { kind: 'const', dims, data: x.data };
    if (axes.includes(0)) this.fail('inserts an axis before the batch; not supported');
    return this.reshape(x, dims);
  }

  opSqueeze([x, axesIn]: (Value | undefined)[]): Value {
    if (!x) this.fail('input is missing');
    const old = x.kind === 'const' ? x.dims : x.shape;
    const given = this.opset >= 13 ? (axesIn ? this.ints(axesIn, 'axes') : undefined) : this.attrInts('axes');
    const axes = given ? given.map((a) => normAxis(a, old.length, this.where())) : iota(old.length).filter((i) => old[i] === 1 && !(x.kind === 'sym' && i === 0));
    for (const a of axes) if (old[a] !== 1) this.fail(`squeezes axis ${a} of size ${old[a]}`);
    const dims = old.filter((_, i) => !axes.includes(i));
    if (x.kind === 'const') return { kind: 'const', dims, data: x.data };
    if (axes.includes(0)) this.fail('squeezes the batch axis; not supported');
    return this.reshape(x, dims);
  }

  opConcat(ins: (Value | undefined)[]): Value {
    const axis = this.attrInt('axis', 0);
    const list = ins.filter((v): v is Value => !!v);
    if (list.every((v) => v.kind === 'const')) {
      // Empty shape pieces (a [0] tensor) are legal and common in shape arithmetic.
      const parts = (list as Const[]).filter((c) => size(c.dims) > 0 || list.length === 1);
      return parts.length ? foldConcat(parts, axis, this.where()) : list[0];
    }
    const syms = list.map((v, i) => this.sym(v, `input ${i}`));
    if (syms.length === 1) return syms[0];
    const rank = syms[0].shape.length;
    if (syms.some((s) => s.shape.length !== rank)) this.fail(`inputs have different ranks: ${syms.map((s) => `[${this.shapeText(s.shape)}]`).join(', ')}`);
    const a = normAxis(axis, rank, this.where());
    if (a === 0) this.fail('concatenates along the batch axis; not supported');
    return this.concat(syms, a);
  }

  /** Symbolic tensors of one rank joined along ONNX axis a (≥ 1) by a Concatenate, in the layout most of them have. */
  private concat(syms: Sym[], a: number, suffix = ''): Sym {
    const perm = (syms.find((s) => !s.flat && sameList(s.perm, NHWC)) ?? syms.find((s) => !s.flat) ?? this.unflat(syms[0])).perm;
    const xs = syms.map((s) => this.toPerm(s, perm));
    const st = this.apply(new Concatenate({ axis: perm.indexOf(a), name: this.layerName(suffix) }), xs.map((s) => s.st));
    const shape = xs[0].shape.slice();
    shape[a] = xs.reduce((t, s) => t + s.shape[a], 0);
    return this.out(st, shape, perm, xs.every((s) => s.nonNeg));
  }

  opConstantOfShape([shapeIn]: (Value | undefined)[]): Value {
    const dims = this.ints(shapeIn, 'shape');
    const a = this.attr('value');
    const t = a?.value as OnnxTensor | undefined;
    const v = t ? Number((t.data as ArrayLike<number>)[0]) : 0;
    const n = size(dims);
    return t && !isFloat(t.dataType) ? intConst(dims, new Array<number>(n).fill(v)) : floatConst(dims, new Array<number>(n).fill(v));
  }

  opRange([s, l, d]: (Value | undefined)[]): Value {
    const start = this.scalarOf(s, 'start'), limit = this.scalarOf(l, 'limit'), delta = this.scalarOf(d, 'delta');
    if (delta === 0) this.fail('delta is 0');
    const n = Math.max(Math.ceil((limit - start) / delta), 0);
    const vals = Array.from({ length: n }, (_, i) => start + i * delta);
    return isFloatConst(this.konst(s, 'start')) ? floatConst([n], vals) : intConst([n], vals);
  }

  opExpand([x, shapeIn]: (Value | undefined)[]): Value {
    const shape = this.ints(shapeIn, 'shape');
    return foldExpand(this.konst(x, 'input'), shape, this.where());
  }

  opWhere([c, a, b]: (Value | undefined)[]): Value {
    return foldWhere(this.konst(c, 'condition'), this.konst(a, 'X'), this.konst(b, 'Y'), this.where());
  }

  opEqual([a, b]: (Value | undefined)[]): Value {
    return foldBinary('Equal', this.konst(a, 'A'), this.konst(b, 'B'), this.where());
  }

  opIdentity([x]: (Value | undefined)[]): Value {
    if (!x) this.fail('input is missing');
    return x;
  }

  opDropout([x]: (Value | undefined)[]): Value[] {
    // Inference: the identity (PyTorch exports eval-mode dropout; fit() trains the layers without it).
    return [this.sym(x, 'input')];
  }

  // ---- arithmetic ----

  opAdd(ins: (Value | undefined)[]): Value {
    return this.binary('Add', ins);
  }
  opSub(ins: (Value | undefined)[]): Value {
    return this.binary('Sub', ins);
  }
  opMul(ins: (Value | undefined)[]): Value {
    return this.binary('Mul', ins);
  }
  opDiv(ins: (Value | undefined)[]): Value {
    const gelu = this.matchGelu(ins);
    if (gelu) return gelu;
    return this.binary('Div', ins);
  }

  private binary(op: 'Add' | 'Sub' | 'Mul' | 'Div', [a, b]: (Value | undefined)[]): Value {
    if (!a || !b) this.fail('an input is missing');
    if (a.kind === 'const' && b.kind === 'const') return foldBinary(op, a, b, this.where());
    if (a.kind === 'sym' && b.kind === 'sym') {
      if (op === 'Div') this.fail('divides two computed tensors; not supported (only division by a constant)');
      if (a.shape.length !== b.shape.length) this.fail(`inputs have ranks ${a.shape.length} and ${b.shape.length}; both must include the batch axis`);
      const dims = broadcastDims(a.shape.slice(1), b.shape.slice(1));
      if (!dims) this.fail(`shapes [${this.shapeText(a.shape)}] and [${this.shapeText(b.shape)}] do not broadcast`);
      const same = a.flat && b.flat && sameList(a.flat.shape, b.flat.shape) && sameList(a.flat.perm, b.flat.perm);
      const perm = same ? a.perm : (!a.flat && sameList(a.perm, NHWC) ? a : !b.flat && sameList(b.perm, NHWC) ? b : this.unflat(a)).perm;
      const x = same ? a : this.toPerm(a, perm), y = same ? b : this.toPerm(b, perm);
      const Cls = op === 'Add' ? Add : op === 'Sub' ? Subtract : Multiply;
      const st = this.apply(new Cls({ name: this.layerName() }), [x.st, y.st]);
      return this.out(st, [-1, ...dims], perm, op !== 'Sub' && x.nonNeg && y.nonNeg, same ? a.flat : undefined);
    }
    const symFirst = a.kind === 'sym';
    const x = (symFirst ? a : b) as Sym, c = (symFirst ? b : a) as Const;
    if (!isFloatConst(c)) this.fail('combines the data with an integer constant');
    if (op === 'Div' && !symFirst) this.fail('divides a constant by computed data; not supported');
    if (c.dims.length > x.shape.length) this.fail(`the constant [${c.dims}] has a higher rank than the data [${this.shapeText(x.shape)}]`);
    // x·s + o per element of the constant's broadcast.
    const scaleOf = (v: number) => (op === 'Mul' ? v : op === 'Div' ? 1 / v : op === 'Sub' && !symFirst ? -1 : 1);
    const offsetOf = (v: number) => (op === 'Add' ? v : op === 'Sub' ? (symFirst ? -v : v) : 0);
    if (c.data.length === 1) {
      const v = c.data[0];
      // Mul then Add by scalars (GoogLeNet's transform_input, normalization): one Rescaling.
      const next = op === 'Mul' ? this.onlyReader(this.node.outputs[0]) : undefined;
      let offset = offsetOf(v), bind: OnnxNode | undefined;
      if (next?.opType === 'Add') {
        const other = next.inputs.find((i) => i !== this.node.outputs[0]);
        const k = other !== undefined ? this.peekConst(other) : undefined;
        if (k && isFloatConst(k) && k.data.length === 1 && k.dims.length <= x.shape.length) {
          offset = k.data[0];
          bind = next;
        }
      }
      const st = this.apply(new Rescaling({ scale: scaleOf(v), offset, name: this.layerName() }), [x.st]);
      const r = this.out(st, x.shape, x.perm, x.nonNeg && scaleOf(v) >= 0 && offset >= 0, x.flat);
      if (bind) {
        this.skip.add(bind);
        this.values.set(bind.outputs[0], r);
      }
      return r;
    }
    return this.channelAffine(x, c, scaleOf, offsetOf, op);
  }

  /**
   * x·s[c] + o[c] for a constant varying along one trailing run of internal axes (a per-channel
   * constant on NHWC): a 1×1 depthwise convolution over a [rest, 1, run] view, weights s, bias o.
   */
  private channelAffine(x0: Sym, c: Const & { data: Float32Array }, scaleOf: (v: number) => number, offsetOf: (v: number) => number, op: string): Sym {
    let x = this.unflat(x0);
    const r = x.shape.length;
    const cd = [...new Array<number>(r - c.dims.length).fill(1), ...c.dims];
    if (cd[0] !== 1) this.fail(`the constant [${c.dims}] varies along the batch axis; not supported`);
    if (cd.some((d, i) => d !== 1 && d !== x.shape[i])) this.fail(`the constant [${c.dims}] does not broadcast to the data [${this.shapeText(x.shape)}] without growing it`);
    // The axes the constant varies along must come last (NHWC for a per-channel constant on NCHW data).
    const varies = (a: number) => cd[a] !== 1 && x.shape[a] !== 1;
    const tail = x.perm.slice(x.perm.length - x.perm.filter(varies).length);
    if (!tail.every(varies) || !tail.every((a, k) => k === 0 || a > tail[k - 1])) {
      x = this.toPerm(x, [...x.perm.filter((a) => !varies(a)), ...x.perm.filter(varies).sort((p, q) => p - q)]);
    }
    const inner = x.perm.map((a) => cd[a]);
    const first = inner.findIndex((d, i) => i > 0 && d !== 1);
    const run = inner.slice(first);
    if (run.some((d, k) => d !== x.st.sampleShape[first - 1 + k])) {
      this.fail(`the constant [${c.dims}] (laid out [${inner.slice(1)}] over the data's [${x.st.sampleShape}]) must vary along the channels only; ${op} by a constant varying along other axes is not supported`);
    }
    const G = size(run), A = size(x.st.sampleShape.slice(0, first - 1));
    const values = Array.from(transposeData(c.data as Float32Array, cd, x.perm).subarray(0, G));
    const w = Float32Array.from(values.map(scaleOf)), bias = Float32Array.from(values.map(offsetOf));
    const useBias = bias.some((v) => v !== 0);
    const view = sameList(x.st.sampleShape, [A, 1, G]) || (x.st.sampleShape.length === 3 && first === 3) ? x.st
      : this.apply(new Reshape({ targetShape: [A, 1, G], name: this.layerName('view') }), [x.st]);
    const layer = new DepthwiseConv2D({ kernelSize: 1, useBias, name: this.layerName() });
    let st = this.apply(layer, [view], useBias ? [w, bias] : [w]);
    if (st.sampleShape.join() !== x.st.sampleShape.join()) st = this.apply(new Reshape({ targetShape: x.st.sampleShape, name: this.layerName('unview') }), [st]);
    return this.out(st, x.shape, x.perm, false);
  }

  /** Div(x, √2) → Erf → Add(1) → Mul(x) → Mul(0.5): PyTorch's exact GELU, as one activation. */
  private matchGelu([a, b]: (Value | undefined)[]): Value | undefined {
    if (a?.kind !== 'sym' || b?.kind !== 'const' || b.data.length !== 1 || Math.abs(Number(b.data[0]) - Math.SQRT2) > 1e-4) return undefined;
    const x = this.node.inputs[0];
    const erf = this.onlyReader(this.node.outputs[0]);
    if (erf?.opType !== 'Erf') return undefined;
    const add = this.onlyReader(erf.outputs[0]);
    const isConst = (n: OnnxNode, v: number, skip: string) => {
      const o = n.inputs.find((i) => i !== skip);
      const k = o !== undefined ? this.peekConst(o) : undefined;
      return !!k && k.data.length === 1 && Math.abs(Number(k.data[0]) - v) < 1e-6;
    };
    if (add?.opType !== 'Add' || !isConst(add, 1, erf.outputs[0])) return undefined;
    const mul = this.onlyReader(add.outputs[0]);
    if (mul?.opType !== 'Mul' || !mul.inputs.includes(x)) return undefined;
    const half = this.onlyReader(mul.outputs[0]);
    if (half?.opType !== 'Mul' || !isConst(half, 0.5, mul.outputs[0])) return undefined;
    for (const n of [erf, add, mul, half]) this.skip.add(n);
    const v = this.unary(a, new Activation({ activation: 'gelu', name: this.layerName('gelu') }), false);
    this.values.set(half.outputs[0], v);
    return v;
  }

  opErf(): Value {
    this.fail('Erf is supported only as part of GELU (Div by √2 → Erf → Add 1 → Mul by the input → Mul by 0.5)');
  }

  // ---- activations ----

  private unary(x: Sym, layer: Layer, nonNeg: boolean): Sym {
    return this.out(this.apply(layer, [x.st]), x.shape, x.perm, nonNeg, x.flat);
  }
  private activation(ins: (Value | undefined)[], act: ActivationName, nonNeg: boolean): Value {
    return this.unary(this.sym(ins[0], 'input'), new Activation({ activation: act, name: this.layerName() }), nonNeg);
  }

  opRelu(ins: (Value | undefined)[]): Value {
    return this.activation(ins, 'relu', true);
  }
  opTanh(ins: (Value | undefined)[]): Value {
    return this.activation(ins, 'tanh', false);
  }
  opSoftplus(ins: (Value | undefined)[]): Value {
    return this.activation(ins, 'softplus', true);
  }
  opSoftsign(ins: (Value | undefined)[]): Value {
    return this.activation(ins, 'softsign', false);
  }
  opSigmoid(ins: (Value | undefined)[]): Value {
    const x = this.sym(ins[0], 'input');
    // x · sigmoid(x) (PyTorch's SiLU export): one swish activation.
    const mul = this.onlyReader(this.node.outputs[0]);
    if (mul?.opType === 'Mul' && mul.inputs.length === 2 && mul.inputs.includes(this.node.inputs[0]) && mul.inputs.includes(this.node.outputs[0])) {
      this.skip.add(mul);
      const v = this.unary(x, new Activation({ activation: 'swish', name: this.layerName('swish') }), false);
      this.values.set(mul.outputs[0], v);
      return v;
    }
    return this.unary(x, new Activation({ activation: 'sigmoid', name: this.layerName() }), true);
  }
  opLeakyRelu(ins: (Value | undefined)[]): Value {
    return this.unary(this.sym(ins[0], 'input'), new LeakyReLU({ alpha: this.attrFloat('alpha', 0.01), name: this.layerName() }), false);
  }
  opElu(ins: (Value | undefined)[]): Value {
    return this.unary(this.sym(ins[0], 'input'), new ELU({ alpha: this.attrFloat('alpha', 1), name: this.layerName() }), false);
  }
  opSelu(ins: (Value | undefined)[]): Value {
    const alpha = this.attrFloat('alpha', SELU_ALPHA), gamma = this.attrFloat('gamma', SELU_GAMMA);
    if (Math.abs(alpha - SELU_ALPHA) > 1e-6 || Math.abs(gamma - SELU_GAMMA) > 1e-6) {
      this.fail(`alpha ${alpha} and gamma ${gamma}: only SELU's standard constants (${SELU_ALPHA}, ${SELU_GAMMA}) are supported`);
    }
    return this.activation(ins, 'selu', false);
  }
  opPRelu([xv, sv]: (Value | undefined)[]): Value {
    const x = this.unflat(this.sym(xv, 'input'));
    const slope = this.floats(sv, 'slope');
    const sc = this.konst(sv, 'slope');
    const r = x.shape.length;
    if (sc.dims.length > r) this.fail(`slope [${sc.dims}] has a higher rank than the input [${this.shapeText(x.shape)}]`);
    const sd = [...new Array<number>(r - sc.dims.length).fill(1), ...sc.dims];
    // PyTorch's per-channel PReLU exports slope [C, 1, 1], which ONNX broadcasting aligns at the right.
    if (sd.some((d, i) => d !== 1 && d !== x.shape[i])) this.fail(`slope [${sc.dims}] does not broadcast to the input [${this.shapeText(x.shape)}]`);
    if (sd[0] !== 1) this.fail(`slope [${sc.dims}] varies along the batch`);
    const v = x.shape.length === 4 ? this.toPerm(x, NHWC) : x;
    const inner = v.perm.slice(1).map((a) => sd[a]);
    const sharedAxes = inner.map((d, i) => (d === 1 ? i + 1 : 0)).filter((a) => a > 0);
    const alpha = transposeData(slope, sd, v.perm);
    const layer = new PReLU({ sharedAxes: sharedAxes.length ? sharedAxes : undefined, name: this.layerName() });
    return this.out(this.apply(layer, [v.st], [alpha]), v.shape, v.perm, false);
  }
  opClip(ins: (Value | undefined)[]): Value {
    const x = this.sym(ins[0], 'input');
    const [lo, hi] = this.clipBounds(this.node);
    if (Number.isNaN(lo) || Number.isNaN(hi)) this.fail('min and max must be constants');
    if (lo === 0) {
      return this.unary(x, new ReLU({ maxValue: hi === Infinity ? undefined : hi, name: this.layerName() }), true);
    }
    if (lo > hi) this.fail(`min ${lo} > max ${hi}`);
    // clip(x, a, b) = relu(x − a, max b − a) + a; with a = −∞: b − relu(b − x).
    if (lo === -Infinity) {
      if (hi === Infinity) return x;
      const neg = this.unary(x, new Rescaling({ scale: -1, offset: hi, name: this.layerName('flip') }), false);
      const r = this.unary(neg, new ReLU({ name: this.layerName() }), true);
      return this.unary(r, new Rescaling({ scale: -1, offset: hi, name: this.layerName('unflip') }), false);
    }
    const shifted = this.unary(x, new Rescaling({ scale: 1, offset: -lo, name: this.layerName('shift') }), false);
    const r = this.unary(shifted, new ReLU({ maxValue: hi === Infinity ? undefined : hi - lo, name: this.layerName() }), true);
    return this.unary(r, new Rescaling({ scale: 1, offset: lo, name: this.layerName('unshift') }), lo >= 0);
  }
  /** clip(αx + β, 0, 1): tfjs' hardSigmoid where (α, β) = (0.2, 0.5), else a Rescaling and a ReLU capped at 1. */
  private hardSigmoid(x: Sym, alpha: number, beta: number): Sym {
    if (Math.abs(alpha - 0.2) < 1e-7 && Math.abs(beta - 0.5) < 1e-7) return this.unary(x, new Activation({ activation: 'hardSigmoid', name: this.layerName() }), true);
    const lin = this.unary(x, new Rescaling({ scale: alpha, offset: beta, name: this.layerName('affine') }), false);
    return this.unary(lin, new ReLU({ maxValue: 1, name: this.layerName() }), true);
  }
  opHardSigmoid(ins: (Value | undefined)[]): Value {
    const x = this.sym(ins[0], 'input');
    const alpha = this.attrFloat('alpha', 0.2), beta = this.attrFloat('beta', 0.5);
    // x · hardsigmoid(x) with PyTorch's 1/6, 1/2: PyTorch's HardSwish export before opset 14.
    const mul = this.onlyReader(this.node.outputs[0]);
    if (mul?.opType === 'Mul' && mul.inputs.includes(this.node.inputs[0]) && mul.inputs.includes(this.node.outputs[0]) && mul.inputs.length === 2) {
      this.skip.add(mul);
      const v = this.hardSwish(x, alpha, beta);
      this.values.set(mul.outputs[0], v);
      return v;
    }
    return this.hardSigmoid(x, alpha, beta);
  }
  private hardSwish(x0: Sym, alpha: number, beta: number): Sym {
    const x = this.unflat(x0);
    const h = this.hardSigmoid(x, alpha, beta);
    return this.out(this.apply(new Multiply({ name: this.layerName('hardswish') }), [x.st, h.st]), x.shape, x.perm, false);
  }
  opHardSwish(ins: (Value | undefined)[]): Value {
    return this.hardSwish(this.sym(ins[0], 'input'), 1 / 6, 0.5);
  }
  opSoftmax(ins: (Value | undefined)[]): Value {
    const x = this.unflat(this.sym(ins[0], 'input'));
    const r = x.shape.length;
    const a = normAxis(this.attrInt('axis', this.opset >= 13 ? -1 : 1), r, this.where());
    if (a === 0) this.fail('softmax over the batch axis; not supported');
    // Before opset 13, Softmax flattens the axes from `axis` on into one: the same only when it is the last non-unit axis.
    if (this.opset < 13 && x.shape.slice(a + 1).some((d) => d !== 1)) {
      this.fail(`axis ${a} with trailing dims [${x.shape.slice(a + 1)}]: before opset 13 Softmax normalizes over all of them jointly, which is not supported`);
    }
    return this.out(this.apply(new Softmax({ axis: x.perm.indexOf(a), name: this.layerName() }), [x.st]), x.shape, x.perm, true);
  }

  // ---- convolution and dense ----

  /** [top, left, bottom, right] from pads or auto_pad. */
  private pads2d(inH: number, inW: number, k: number[], s: number[], d: number[]): number[] {
    const auto = this.attrString('auto_pad', 'NOTSET');
    if (auto === 'VALID') return [0, 0, 0, 0];
    if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
      const p = [inH, inW].map((n, i) => {
        const total = Math.max((Math.ceil(n / s[i]) - 1) * s[i] + (k[i] - 1) * d[i] + 1 - n, 0);
        const small = Math.floor(total / 2);
        return auto === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
      });
      return [p[0][0], p[1][0], p[0][1], p[1][1]];
    }
    if (auto !== 'NOTSET') this.fail(`auto_pad '${auto}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
    const pads = this.attrInts('pads') ?? [0, 0, 0, 0];
    if (pads.length !== 4 || pads.some((p) => p < 0 || !Number.isInteger(p))) this.fail(`pads [${pads}]: expected 4 non-negative integers [top, left, bottom, right]`);
    return pads;
  }

  /** Whether TensorFlow's 'same' padding (smaller half first) is exactly these pads. */
  private isTfSame(inH: number, inW: number, k: number[], s: number[], d: number[], pads: number[]): boolean {
    return [inH, inW].every((n, i) => {
      const out = Math.ceil(n / s[i]);
      const total = Math.max((out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - n, 0);
      const top = Math.floor(total / 2);
      return pads[i] === top && pads[i + 2] === total - top;
    });
  }

  /** 'valid', 'same', or 'valid' after a ZeroPadding2D layer (the planner folds it into the convolution). */
  private convPadding(x: Sym, k: number[], s: number[], d: number[]): { x: Sym; padding: 'valid' | 'same' } {
    const [H, W] = x.st.sampleShape;
    const pads = this.pads2d(H, W, k, s, d);
    if (pads.every((p) => p === 0)) return { x, padding: 'valid' };
    if (this.isTfSame(H, W, k, s, d, pads)) return { x, padding: 'same' };
    return { x: this.zeroPad(x, pads), padding: 'valid' };
  }

  private zeroPad(x: Sym, [t, l, b, r]: number[]): Sym {
    const st = this.apply(new ZeroPadding2D({ padding: [[t, b], [l, r]], name: this.layerName('pad') }), [x.st]);
    const shape = x.shape.slice();
    shape[2] += t + b;
    shape[3] += l + r;
    return this.out(st, shape, x.perm, x.nonNeg);
  }

  opConv([xv, wv, bv]: (Value | undefined)[]): Value {
    const x0 = this.spatial(this.sym(xv, 'X'));
    const wc = this.konst(wv, 'W (the filter)');
    const w = this.floats(wv, 'W');
    const bias = bv ? this.floats(bv, 'B') : undefined;
    if (wc.dims.length !== 4) this.fail(`W has shape [${wc.dims}]; only 2-D convolutions (W [out, in/group, kh, kw]) are supported`);
    const [O, Cg, kh, kw] = wc.dims;
    const C = x0.st.sampleShape[2];
    const ks = this.attrInts('kernel_shape');
    if (ks && !sameList(ks, [kh, kw])) this.fail(`kernel_shape [${ks}] does not match W's [${kh}, ${kw}]`);
    const strides = this.attrInts('strides') ?? [1, 1], dil = this.attrInts('dilations') ?? [1, 1];
    const group = this.attrInt('group', 1);
    if (bias && bias.length !== O) this.fail(`B has ${bias.length} values for ${O} output channels`);
    if (!Number.isInteger(group) || group < 1) this.fail(`group ${group}: must be a positive integer`);
    if (group > 1 && (C % group !== 0 || O % group !== 0 || Cg * group !== C)) {
      this.fail(`group ${group} with ${C} input channels and W [${wc.dims}] (${O} output channels, ${Cg} input channels per group): `
        + `the input channels (${C}) and the output channels (${O}) must both divide into ${group} groups, and W's dim 1 must be ${C} / ${group}`);
    }
    const { x, padding } = this.convPadding(x0, [kh, kw], strides, dil);
    const outName = this.node.outputs[0];
    if (group === 1) {
      if (Cg !== C) this.fail(`W expects ${Cg} input channels, the input has ${C}`);
      const { act, bind } = this.fusedActivation(outName, ['relu', 'relu6']);
      const kernel = new Float32Array(w.length);
      // OIHW → HWIO.
      for (let o = 0; o < O; o++) for (let c = 0; c < C; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
        kernel[((i * kw + j) * C + c) * O + o] = w[((o * C + c) * kh + i) * kw + j];
      }
      const layer = new Conv2D({ filters: O, kernelSize: [kh, kw], strides: strides as [number, number], padding, dilationRate: dil as [number, number], useBias: !!bias, activation: act, name: this.layerName() });
      const st = this.apply(layer, [x.st], bias ? [kernel, bias] : [kernel]);
      return this.bindOut(bind, outName, st, act);
    }
    if (group === C && Cg === 1 && O % C === 0) {
      const dm = O / C;
      const { act, bind } = this.fusedActivation(outName, ['relu', 'relu6']);
      // [C·dm, 1, kh, kw] → [kh, kw, C, dm]: output channel c·dm + m in both.
      const kernel = new Float32Array(w.length);
      for (let c = 0; c < C; c++) for (let m = 0; m < dm; m++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
        kernel[((i * kw + j) * C + c) * dm + m] = w[((c * dm + m) * kh + i) * kw + j];
      }
      const layer = new DepthwiseConv2D({ kernelSize: [kh, kw], depthMultiplier: dm, strides: strides as [number, number], padding, dilationRate: dil as [number, number], useBias: !!bias, activation: act, name: this.layerName() });
      const st = this.apply(layer, [x.st], bias ? [kernel, bias] : [kernel]);
      return this.bindOut(bind, outName, st, act);
    }
    // Grouped (ResNeXt): per group a channel slice of the (padded) input and a Conv2D with that
    // group's filters (output channels [g·O/group, (g+1)·O/group)), concatenated in group order.
    const Og = O / group;
    const { act, bind } = this.fusedActivation(outName, ['relu', 'relu6']);
    const parts: Sym[] = [];
    for (let g = 0; g < group; g++) {
      const xg = this.slice(x, 1, g * Cg, (g + 1) * Cg);
      const kernel = new Float32Array(kh * kw * Cg * Og);
      // The group's [Og, Cg, kh, kw] block of OIHW → HWIO.
      for (let o = 0; o < Og; o++) for (let c = 0; c < Cg; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
        kernel[((i * kw + j) * Cg + c) * Og + o] = w[(((g * Og + o) * Cg + c) * kh + i) * kw + j];
      }
      const layer = new Conv2D({ filters: Og, kernelSize: [kh, kw], strides: strides as [number, number], padding, dilationRate: dil as [number, number], useBias: !!bias, activation: act, name: this.layerName(`group${g}`) });
      const st = this.apply(layer, [xg.st], bias ? [kernel, bias.slice(g * Og, (g + 1) * Og)] : [kernel]);
      parts.push(this.out(st, [-1, Og, st.sampleShape[0], st.sampleShape[1]], NHWC, act !== 'linear'));
    }
    const v = this.concat(parts, 1, 'groups');
    if (bind !== outName) this.values.set(bind, v);
    return v;
  }

  /**
   * ConvTranspose (group 1, no dilation): a Conv2DTranspose ('valid': every input row's full
   * kernel footprint, length n·s + max(k − s, 0)), then a Cropping2D to ONNX's window of it —
   * pad_begin off the start, and off the end whatever lies past s·(n − 1) + output_padding + k −
   * pad_end. Where that window reaches past the layer's rows (output_padding beyond the end
   * padding), zero rows at the end of the input extend the layer by bias-only rows, which is
   * what ONNX has there. Where TensorFlow's 'same' cropping is exactly ONNX's window (DCGAN's
   * k 4, s 2, p 1; k = s with no padding) the layer alone does it.
   */
  opConvTranspose([xv, wv, bv]: (Value | undefined)[]): Value {
    const x0 = this.spatial(this.sym(xv, 'X'));
    const wc = this.konst(wv, 'W (the filter)');
    const w = this.floats(wv, 'W');
    const bias = bv ? this.floats(bv, 'B') : undefined;
    if (wc.dims.length !== 4) this.fail(`W has shape [${wc.dims}]; only 2-D transposed convolutions (W [in, out/group, kh, kw]) are supported`);
    const [Cw, O, kh, kw] = wc.dims;
    const [H, W, C] = x0.st.sampleShape;
    const group = this.attrInt('group', 1);
    if (group !== 1) this.fail(`group ${group}: only group 1 is supported for ConvTranspose (W [${wc.dims}], ${C} input channels)`);
    if (Cw !== C) this.fail(`W [${wc.dims}] expects ${Cw} input channels, the input has ${C}`);
    const ks = this.attrInts('kernel_shape');
    if (ks && !sameList(ks, [kh, kw])) this.fail(`kernel_shape [${ks}] does not match W's [${kh}, ${kw}]`);
    const s = this.attrInts('strides') ?? [1, 1], d = this.attrInts('dilations') ?? [1, 1];
    const op = this.attrInts('output_padding') ?? [0, 0];
    for (const [name, v, min] of [['strides', s, 1], ['dilations', d, 1], ['output_padding', op, 0]] as const) {
      if (v.length !== 2 || v.some((e) => !Number.isInteger(e) || e < min)) this.fail(`${name} [${v}]: expected 2 integers ≥ ${min}`);
    }
    if (d.some((v) => v !== 1)) this.fail(`dilations [${d}]: only 1 is supported (Conv2DTranspose has no dilation)`);
    if (bias && bias.length !== O) this.fail(`B has ${bias.length} values for ${O} output channels`);
    const n = [H, W], k = [kh, kw];
    // ONNX's extent before the pads come off: s·(n − 1) + output_padding + k.
    const full = n.map((v, i) => s[i] * (v - 1) + op[i] + k[i]);
    const pads = this.transposePads(n, k, s, op, full);
    const outSize = full.map((f, i) => f - pads[i] - pads[i + 2]);
    if (outSize.some((v) => v < 1)) this.fail(`pads [${pads}] leave an output of [${outSize}] for input [${n}], kernel [${k}], strides [${s}], output_padding [${op}]`);
    const outName = this.node.outputs[0];
    const { act, bind } = this.fusedActivation(outName, ['relu', 'relu6']);
    // [C, O, kh, kw] → [kh, kw, O, C] (the layer's kernel is the forward convolution's HWIO, its output our input).
    const kernel = new Float32Array(w.length);
    for (let c = 0; c < C; c++) for (let o = 0; o < O; o++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      kernel[((i * kw + j) * O + o) * C + c] = w[((c * O + o) * kh + i) * kw + j];
    }
    const layerLen = (v: number, i: number) => v * s[i] + Math.max(k[i] - s[i], 0);
    const end = outSize.map((v, i) => pads[i] + v); // exclusive, in the layer's 'valid' coordinates
    const extra = n.map((v, i) => Math.max(Math.ceil((end[i] - layerLen(v, i)) / s[i]), 0));
    let x = x0;
    if (extra.some((e) => e > 0)) x = this.zeroPad(x0, [0, 0, extra[0], extra[1]]);
    const m = [x.st.sampleShape[0], x.st.sampleShape[1]];
    const crop = n.map((_, i) => [pads[i], layerLen(m[i], i) - end[i]]);
    // TensorFlow's 'same': the n·s rows from floor(max(k − s, 0)/2) on.
    const same = extra.every((e) => e === 0) && n.every((v, i) => outSize[i] === v * s[i] && pads[i] === Math.floor(Math.max(k[i] - s[i], 0) / 2));
    const padding = same ? 'same' : 'valid';
    const layer = new Conv2DTranspose({ filters: O, kernelSize: [kh, kw], strides: s as [number, number], padding, useBias: !!bias, activation: act, name: this.layerName() });
    let st = this.apply(layer, [x.st], bias ? [kernel, bias] : [kernel]);
    if (padding === 'valid' && crop.some(([a, b]) => a > 0 || b > 0)) {
      st = this.apply(new Cropping2D({ cropping: [crop[0] as [number, number], crop[1] as [number, number]], name: this.layerName('crop') }), [st]);
    }
    if (st.sampleShape[0] !== outSize[0] || st.sampleShape[1] !== outSize[1]) {
      this.fail(`internal error: the transposed convolution gives [${st.sampleShape.slice(0, 2)}], ONNX's size is [${outSize}]`);
    }
    return this.bindOut(bind, outName, st, act);
  }

  /** ConvTranspose's [top, left, bottom, right]: pads, or derived from output_shape or auto_pad as the ONNX spec says. */
  private transposePads(n: number[], k: number[], s: number[], op: number[], full: number[]): number[] {
    const auto = this.attrString('auto_pad', 'NOTSET');
    if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(auto)) this.fail(`auto_pad '${auto}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
    let target = this.attrInts('output_shape');
    if (target && target.length === 4) target = target.slice(2);
    if (target && target.length !== 2) this.fail(`output_shape [${target}]: expected the 2 spatial sizes`);
    if (!target && auto.startsWith('SAME')) target = n.map((v, i) => v * s[i]);
    if (target) {
      const why = this.attr('output_shape') ? `output_shape [${target}]` : `auto_pad ${auto} (output [${target}] = input × strides)`;
      const total = full.map((f, i) => f - target![i]);
      if (total.some((t) => t < 0)) {
        this.fail(`${why} is larger than the transposed convolution's extent [${full}] (input [${n}], kernel [${k}], strides [${s}], output_padding [${op}]); not supported`);
      }
      // An odd total: the extra pixel comes off the end for SAME_UPPER, off the start otherwise (the spec's equations).
      const start = total.map((t) => (auto === 'SAME_UPPER' ? Math.floor(t / 2) : t - Math.floor(t / 2)));
      return [start[0], start[1], total[0] - start[0], total[1] - start[1]];
    }
    if (auto === 'VALID') return [0, 0, 0, 0];
    const pads = this.attrInts('pads') ?? [0, 0, 0, 0];
    if (pads.length !== 4 || pads.some((p) => p < 0 || !Number.isInteger(p))) this.fail(`pads [${pads}]: expected 4 non-negative integers [top, left, bottom, right]`);
    return pads;
  }

  /** The output of a layer with a fused activation, bound to the activation node's output too. */
  private bindOut(bind: string, own: string, st: SymbolicTensor, act: ActivationName): Sym {
    const shape = [-1, st.sampleShape[2], st.sampleShape[0], st.sampleShape[1]];
    const v = st.sampleShape.length === 3 ? this.out(st, shape, NHWC, act !== 'linear') : this.out(st, [-1, ...st.sampleShape], iota(st.sampleShape.length + 1), act !== 'linear');
    if (bind !== own) this.values.set(bind, v);
    return v;
  }

  private dense(x: Sym, kernel: Float32Array, K: number, M: number, bias: Float32Array | undefined, outName: string): Sym {
    if (x.shape.length !== 2 && x.perm[x.perm.length - 1] !== x.shape.length - 1) x = this.toPerm(x, iota(x.shape.length));
    // Features of a pending flatten are in internal order: permute the kernel's rows to match.
    let k = kernel;
    if (x.flat) {
      const map = onnxIndexOfInternal(x.flat.shape, x.flat.perm);
      k = new Float32Array(kernel.length);
      for (let f = 0; f < K; f++) k.set(kernel.subarray(map[f] * M, map[f] * M + M), f * M);
    }
    const { act, bind } = this.fusedActivation(outName, ['relu']);
    const layer = new Dense({ units: M, useBias: !!bias, activation: act, name: this.layerName() });
    const st = this.apply(layer, [x.st], bias ? [k, bias] : [k]);
    const shape = [...x.shape.slice(0, -1), M];
    const v = this.out(st, shape, x.flat ? [0, 1] : x.perm, act === 'relu');
    if (bind !== outName) this.values.set(bind, v);
    return v;
  }

  opGemm([av, bv, cv]: (Value | undefined)[]): Value {
    const A = this.sym(av, 'A');
    if (A.shape.length !== 2) this.fail(`A has shape [${this.shapeText(A.shape)}]; Gemm takes a matrix [batch, features]`);
    if (this.attrInt('transA', 0)) this.fail('transA = 1 on the data (it would transpose the batch) is not supported');
    const bc = this.konst(bv, 'B');
    const B = this.floats(bv, 'B');
    const transB = this.attrInt('transB', 0), alpha = this.attrFloat('alpha', 1), beta = this.attrFloat('beta', 1);
    if (bc.dims.length !== 2) this.fail(`B has shape [${bc.dims}]; expected a matrix`);
    const [K, M] = transB ? [bc.dims[1], bc.dims[0]] : bc.dims;
    if (K !== A.shape[1]) this.fail(`B has ${K} rows (after transB) for ${A.shape[1]} input features`);
    const kernel = new Float32Array(K * M);
    for (let k = 0; k < K; k++) for (let m = 0; m < M; m++) kernel[k * M + m] = alpha * (transB ? B[m * K + k] : B[k * M + m]);
    let bias: Float32Array | undefined;
    if (cv) {
      const cc = this.konst(cv, 'C');
      const C = this.floats(cv, 'C');
      if (size(cc.dims) !== M && size(cc.dims) !== 1) this.fail(`C has shape [${cc.dims}]; only a bias broadcast over the batch ([${M}], [1, ${M}] or a scalar) is supported`);
      bias = Float32Array.from({ length: M }, (_, m) => beta * C[C.length === 1 ? 0 : m]);
    }
    return this.dense(A, kernel, K, M, bias, this.node.outputs[0]);
  }

  opMatMul([av, bv]: (Value | undefined)[]): Value {
    if (av?.kind === 'const' && bv?.kind === 'const') this.fail('multiplies two constants; not folded');
    const A = this.sym(av, 'A');
    const bc = this.konst(bv, 'B (the weights)');
    const B = this.floats(bv, 'B');
    if (bc.dims.length !== 2) this.fail(`B has shape [${bc.dims}]; only a constant weight matrix [in, out] is supported`);
    const [K, M] = bc.dims;
    if (A.shape[A.shape.length - 1] !== K) this.fail(`A [${this.shapeText(A.shape)}] has ${A.shape[A.shape.length - 1]} features, B [${bc.dims}] expects ${K}`);
    // MatMul then Add of a [M] constant (PyTorch's Linear on >2-D inputs): the Add is the bias.
    let bias: Float32Array | undefined;
    let outName = this.node.outputs[0];
    const add = this.onlyReader(outName);
    if (add?.opType === 'Add') {
      const other = add.inputs.find((i) => i !== outName);
      const k = other !== undefined ? this.peekConst(other) : undefined;
      if (k && isFloatConst(k) && (size(k.dims) === M) && k.dims.length <= A.shape.length && k.dims[k.dims.length - 1] === M) {
        bias = (k.data as Float32Array).slice();
        this.skip.add(add);
        const v = this.dense(A, B.slice(), K, M, bias, add.outputs[0]);
        this.values.set(add.outputs[0], v);
        return v;
      }
    }
    return this.dense(A, B.slice(), K, M, bias, outName);
  }

  opBatchNormalization([xv, sv, bv, mv, vv]: (Value | undefined)[]): (Value | undefined)[] {
    const x0 = this.sym(xv, 'X');
    if (this.attrInt('training_mode', 0)) this.fail('training_mode = 1 (batch statistics at inference) is not supported; export the model in eval mode');
    const scale = this.floats(sv, 'scale'), B = this.floats(bv, 'B'), mean = this.floats(mv, 'input_mean'), variance = this.floats(vv, 'input_var');
    const x = x0.shape.length === 4 ? this.toPerm(x0, NHWC) : this.unflat(x0);
    const C = x.shape[1];
    for (const [n, v] of [['scale', scale], ['B', B], ['mean', mean], ['var', variance]] as const) {
      if (v.length !== C) this.fail(`${n} has ${v.length} values for ${C} channels`);
    }
    const axis = x.perm.indexOf(1);
    const layer = new BatchNormalization({ axis: axis === x.perm.length - 1 ? -1 : axis, epsilon: this.attrFloat('epsilon', 1e-5), momentum: this.attrFloat('momentum', 0.9), name: this.layerName() });
    return [this.out(this.apply(layer, [x.st], [scale, B, mean, variance]), x.shape, x.perm, false)];
  }

  // ---- pooling ----

  private pool(kind: 'max' | 'avg', xv: Value | undefined): Sym {
    const x0 = this.spatial(this.sym(xv, 'X'));
    const k = this.attrInts('kernel_shape') ?? this.fail('has no kernel_shape');
    if (k.length !== 2) this.fail(`kernel_shape [${k}]: only 2-D pooling is supported`);
    const s = this.attrInts('strides') ?? [1, 1];
    const d = this.attrInts('dilations') ?? [1, 1];
    if (d.some((v) => v !== 1)) this.fail(`dilations [${d}] are not supported for pooling`);
    const ceil = this.attrInt('ceil_mode', 0) === 1;
    const [H, W] = x0.st.sampleShape;
    const pads = this.pads2d(H, W, k, s, d);
    // Ceil mode: one more window where it starts inside the input (or its start padding), as PyTorch/ONNX Runtime do.
    const extra = [H, W].map((n, i) => {
      const span = n + pads[i] + pads[i + 2] - k[i];
      if (span < 0) this.fail(`kernel [${k}] is larger than the padded input [${H + pads[0] + pads[2]}, ${W + pads[1] + pads[3]}]`);
      if (!ceil) return 0;
      let out = Math.ceil(span / s[i]) + 1;
      if ((out - 1) * s[i] >= n + pads[i]) out--;
      return Math.max((out - 1) * s[i] + k[i] - (n + pads[i] + pads[i + 2]), 0);
    });
    const full = [pads[0], pads[1], pads[2] + extra[0], pads[3] + extra[1]];
    const Cls = kind === 'max' ? MaxPooling2D : AveragePooling2D;
    const make = (x: Sym, padding: 'valid' | 'same') => {
      const st = this.apply(new Cls({ poolSize: k as [number, number], strides: s as [number, number], padding, name: this.layerName() }), [x.st]);
      return this.out(st, [-1, st.sampleShape[2], st.sampleShape[0], st.sampleShape[1]], NHWC, x.nonNeg);
    };
    if (full.every((p) => p === 0)) return make(x0, 'valid');
    const countPad = kind === 'avg' && this.attrInt('count_include_pad', 0) === 1;
    // TensorFlow's 'same' leaves padding out of the max and out of the average's count.
    if (!countPad && this.isTfSame(H, W, k, s, d, full)) return make(x0, 'same');
    if (kind === 'max') {
      if (!x0.nonNeg) this.fail(`pads [${pads}]${ceil ? ' with ceil_mode' : ''} on data that may be negative: only padding TensorFlow's 'same' places, or any padding of non-negative data (after ReLU), is supported`);
      return make(this.zeroPad(x0, full), 'valid');
    }
    if (!countPad) this.fail(`pads [${pads}]${ceil ? ' with ceil_mode' : ''} with count_include_pad = 0: only TensorFlow's 'same' placement of the padding is supported`);
    if (extra.some((e) => e > 0)) this.fail('ceil_mode with count_include_pad = 1 is not supported');
    return make(this.zeroPad(x0, full), 'valid');
  }

  opMaxPool([x]: (Value | undefined)[]): (Value | undefined)[] {
    if (this.attrInt('storage_order', 0) !== 0 && this.node.outputs[1]) this.fail('storage_order 1 is not supported');
    return [this.pool('max', x)];
  }
  opAveragePool([x]: (Value | undefined)[]): Value {
    return this.pool('avg', x);
  }

  private globalPool(kind: 'avg' | 'max', xv: Value | undefined, keepDims: boolean): Sym {
    const x = this.spatial(this.sym(xv, 'X'));
    const Cls = kind === 'avg' ? GlobalAveragePooling2D : GlobalMaxPooling2D;
    const st = this.apply(new Cls({ keepDims, name: this.layerName() }), [x.st]);
    const C = x.shape[1];
    return keepDims ? this.out(st, [-1, C, 1, 1], NHWC, x.nonNeg) : this.out(st, [-1, C], [0, 1], x.nonNeg);
  }
  opGlobalAveragePool([x]: (Value | undefined)[]): Value {
    return this.globalPool('avg', x, true);
  }
  opGlobalMaxPool([x]: (Value | undefined)[]): Value {
    return this.globalPool('max', x, true);
  }
  private reduce(kind: 'avg' | 'max', [xv, axesIn]: (Value | undefined)[]): Value {
    const x = this.sym(xv, 'data');
    const r = x.shape.length;
    const axes = (this.opset >= 18 && axesIn ? this.ints(axesIn, 'axes') : this.attrInts('axes')) ?? this.fail('reduces over all axes (the batch too); not supported');
    const norm = axes.map((a) => normAxis(a, r, this.where())).sort();
    if (r !== 4 || !sameList(norm, [2, 3])) this.fail(`reduces over axes [${axes}] of [${this.shapeText(x.shape)}]: only the spatial axes [2, 3] of NCHW are supported (global pooling)`);
    return this.globalPool(kind, x, this.attrInt('keepdims', 1) === 1);
  }
  opReduceMean(ins: (Value | undefined)[]): Value {
    return this.reduce('avg', ins);
  }
  opReduceMax(ins: (Value | undefined)[]): Value {
    return this.reduce('max', ins);
  }

  // ---- shape ----

  opFlatten([xv]: (Value | undefined)[]): Value {
    if (xv?.kind === 'const') {
      const a = normAxis(this.attrInt('axis', 1), xv.dims.length + 1, this.where());
      return { kind: 'const', dims: [size(xv.dims.slice(0, a)), size(xv.dims.slice(a))], data: xv.data };
    }
    const x = this.sym(xv, 'input');
    const axis = this.attrInt('axis', 1);
    const a = axis < 0 ? axis + x.shape.length : axis;
    if (a !== 1) this.fail(`axis ${axis}: only axis 1 (keep the batch, flatten the rest) is supported`);
    return this.flatten(x);
  }

  opReshape([xv, sv]: (Value | undefined)[]): Value {
    const allowZero = this.attrInt('allowzero', 0) === 1;
    const target = this.konst(sv, 'shape');
    if (xv?.kind === 'const') return { kind: 'const', dims: reshapeDims(xv.dims, this.ints(sv, 'shape'), allowZero, this.where()), data: xv.data };
    const x = this.sym(xv, 'data');
    return this.reshape(x, this.batchTarget(x, target.data as IntEl[], allowZero));
  }

  opTranspose([xv]: (Value | undefined)[]): Value {
    if (!xv) this.fail('input is missing');
    const rank = xv.kind === 'const' ? xv.dims.length : xv.shape.length;
    const p = this.attrInts('perm') ?? iota(rank).reverse();
    if (xv.kind === 'const') return foldTranspose(xv, p);
    if (p[0] !== 0) this.fail(`perm [${p}] moves the batch axis; not supported`);
    const x = this.unflat(xv);
    // Only the bookkeeping changes: internal axis i now holds output axis p⁻¹(perm[i]).
    return this.out(x.st, p.map((a) => x.shape[a]), x.perm.map((a) => p.indexOf(a)), x.nonNeg);
  }

  /** x[..., start:end, ...] along ONNX axis a: a Cropping2D over the view [before, len, after]. */
  private slice(x0: Sym, a: number, start: number, end: number): Sym {
    const x = this.unflat(x0);
    const len = x.shape[a];
    if (start === 0 && end === len) return x;
    if (end <= start) this.fail(`slice [${start}, ${end}) of axis ${a} (length ${len}) is empty`);
    const ia = x.perm.indexOf(a);
    const s = x.st.sampleShape;
    const A = size(s.slice(0, ia - 1)), L = s[ia - 1], B = size(s.slice(ia));
    const view = sameList(s, [A, L, B]) ? x.st : this.apply(new Reshape({ targetShape: [A, L, B], name: this.layerName('view') }), [x.st]);
    let st = this.apply(new Cropping2D({ cropping: [[0, 0], [start, L - end]], name: this.layerName('slice') }), [view]);
    const inner = s.slice();
    inner[ia - 1] = end - start;
    if (!sameList(st.sampleShape, inner)) st = this.apply(new Reshape({ targetShape: inner, name: this.layerName('unview') }), [st]);
    const shape = x.shape.slice();
    shape[a] = end - start;
    return this.out(st, shape, x.perm, x.nonNeg);
  }

  opSlice(ins: (Value | undefined)[]): Value {
    const [xv] = ins;
    let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
    if (this.opset >= 10) {
      starts = this.ints(ins[1], 'starts');
      ends = this.ints(ins[2], 'ends');
      axes = ins[3] ? this.ints(ins[3], 'axes') : undefined;
      steps = ins[4] ? this.ints(ins[4], 'steps') : undefined;
    } else {
      starts = this.attrInts('starts') ?? this.fail('has no starts');
      ends = this.attrInts('ends') ?? this.fail('has no ends');
      axes = this.attrInts('axes');
    }
    if (!xv) this.fail('data is missing');
    const rank = xv.kind === 'const' ? xv.dims.length : xv.shape.length;
    axes ??= iota(starts.length);
    steps ??= starts.map(() => 1);
    if (xv.kind === 'const') return foldSlice(xv, starts, ends, axes, steps, this.where());
    let x = xv;
    axes.forEach((ax, k) => {
      const a = normAxis(ax, rank, this.where());
      if (a === 0) {
        if (starts[k] === 0 && ends[k] >= 2 ** 31 - 1 && steps![k] === 1) return;
        this.fail('slices the batch axis; not supported');
      }
      if (steps![k] !== 1) this.fail(`step ${steps![k]} on axis ${a}: only step 1 is supported`);
      const idx = sliceRange(starts[k], ends[k], 1, x.shape[a]);
      if (!idx.length) this.fail(`slice [${starts[k]}, ${ends[k]}) of axis ${a} (length ${x.shape[a]}) is empty`);
      x = this.slice(x, a, idx[0], idx[idx.length - 1] + 1);
    });
    return x;
  }

  opSplit(ins: (Value | undefined)[]): Value[] {
    const x = this.sym(ins[0], 'input');
    const a = normAxis(this.attrInt('axis', 0), x.shape.length, this.where());
    if (a === 0) this.fail('splits the batch axis; not supported');
    const len = x.shape[a];
    const n = this.node.outputs.length;
    let parts = this.opset >= 13 ? (ins[1] ? this.ints(ins[1], 'split') : undefined) : this.attrInts('split');
    if (!parts) {
      const k = this.attrInt('num_outputs', n);
      const each = Math.ceil(len / k);
      parts = iota(k).map((i) => Math.min(each, len - i * each));
    }
    if (parts.reduce((s, p) => s + p, 0) !== len || parts.length !== n) this.fail(`split sizes [${parts}] do not cover axis ${a} of length ${len} with ${n} outputs`);
    let start = 0;
    return parts.map((p) => this.slice(x, a, start, (start += p)));
  }

  opPad(ins: (Value | undefined)[]): Value {
    const x = this.sym(ins[0], 'data');
    const mode = this.attrString('mode', 'constant');
    if (mode !== 'constant') this.fail(`mode '${mode}' is not supported (only 'constant' zero padding)`);
    let pads = this.opset >= 11 ? this.ints(ins[1], 'pads') : this.attrInts('pads') ?? this.fail('has no pads');
    const value = this.opset >= 11 ? (ins[2] ? this.scalarOf(ins[2], 'constant_value') : 0) : this.attrFloat('value', 0);
    if (value !== 0) this.fail(`constant_value ${value}: only zero padding is supported`);
    const r = x.shape.length;
    if (ins[3]) {
      const axes = this.ints(ins[3], 'axes').map((q) => normAxis(q, r, this.where()));
      const full = new Array<number>(2 * r).fill(0);
      axes.forEach((q, k) => { full[q] = pads[k]; full[q + r] = pads[k + axes.length]; });
      pads = full;
    }
    if (pads.length !== 2 * r) this.fail(`pads [${pads}] for rank ${r}: expected ${2 * r} values`);
    if (pads.every((p) => p === 0)) return x;
    if (r !== 4 || pads[0] || pads[1] || pads[4] || pads[5]) this.fail(`pads [${pads}]: only padding the spatial axes (2, 3) of NCHW data is supported`);
    let v = this.spatial(x);
    const [t, l, b, rr] = [pads[2], pads[3], pads[6], pads[7]];
    const pos = [t, l, b, rr].map((p) => Math.max(p, 0)), neg = [t, l, b, rr].map((p) => Math.max(-p, 0));
    if (pos.some((p) => p > 0)) v = this.zeroPad(v, pos);
    if (neg.some((p) => p > 0)) {
      const st = this.apply(new Cropping2D({ cropping: [[neg[0], neg[2]], [neg[1], neg[3]]], name: this.layerName('crop') }), [v.st]);
      v = this.out(st, [-1, v.shape[1], st.sampleShape[0], st.sampleShape[1]], NHWC, v.nonNeg);
    }
    return v;
  }

  opResize(ins: (Value | undefined)[]): Value {
    const x = this.sym(ins[0], 'X');
    const r = x.shape.length;
    let factors: number[] | undefined;
    const scalesIn = this.node.opType === 'Upsample' ? (this.opset >= 9 ? ins[1] : undefined) : this.opset === 10 ? ins[1] : ins[2];
    const sizesIn = this.node.opType === 'Resize' && this.opset >= 11 ? ins[3] : undefined;
    const attrScales = this.node.opType === 'Upsample' && this.opset < 9 ? this.attr('scales')?.value as number[] | undefined : undefined;
    const scales = attrScales ?? (scalesIn && size(this.konst(scalesIn, 'scales').dims) > 0 ? Array.from(this.floats(scalesIn, 'scales')) : undefined);
    if (scales) {
      if (scales.length !== r) this.fail(`scales [${scales}] for rank ${r}`);
      factors = scales.map((s) => Math.round(s));
      if (scales.some((s, i) => Math.abs(s - factors![i]) > 1e-6 || factors![i] < 1)) this.fail(`scales [${scales}]: only integer upsampling factors are supported`);
    } else if (sizesIn) {
      const sizes = this.ints(sizesIn, 'sizes');
      if (sizes.length !== r) this.fail(`sizes [${sizes}] for rank ${r}`);
      factors = sizes.map((s, i) => (i === 0 ? 1 : s / x.shape[i]));
      if (factors.some((f) => !Number.isInteger(f) || f < 1)) this.fail(`sizes [${sizes}] for input [${this.shapeText(x.shape)}]: only integer upsampling factors are supported`);
    } else this.fail('has neither scales nor sizes');
    if (r !== 4 || factors[0] !== 1 || factors[1] !== 1) this.fail(`factors [${factors}]: only resizing the spatial axes of NCHW data is supported`);
    if (factors[2] === 1 && factors[3] === 1) return x;
    const mode = this.attrString('mode', 'nearest');
    const coord = this.node.opType === 'Upsample' ? 'asymmetric' : this.attrString('coordinate_transformation_mode', this.opset >= 11 ? 'half_pixel' : 'asymmetric');
    const nearestMode = this.attrString('nearest_mode', 'round_prefer_floor');
    let interpolation: 'nearest' | 'bilinear';
    if (mode === 'nearest') {
      // With integer factors these all repeat each pixel factor times.
      const repeat = (coord === 'asymmetric' && nearestMode === 'floor') || this.node.opType === 'Upsample' || this.opset === 10
        || ((coord === 'half_pixel' || coord === 'pytorch_half_pixel') && (nearestMode === 'round_prefer_floor' || nearestMode === 'round_prefer_ceil'));
      if (!repeat) this.fail(`nearest resizing with coordinate_transformation_mode '${coord}' and nearest_mode '${nearestMode}' is not supported (it does not repeat pixels)`);
      interpolation = 'nearest';
    } else if (mode === 'linear' || mode === 'bilinear') {
      // pytorch_half_pixel differs from half_pixel only where an output axis has length 1, which
      // an integer factor gives only at factor 1 (the identity either way).
      if (coord !== 'asymmetric' && coord !== 'half_pixel' && coord !== 'pytorch_half_pixel') {
        this.fail(`linear resizing with coordinate_transformation_mode '${coord}' is not supported (asymmetric — tfjs' resizeBilinear — or half_pixel / pytorch_half_pixel — PyTorch's align_corners=False)`);
      }
      interpolation = 'bilinear';
    } else this.fail(`mode '${mode}' is not supported (nearest, or linear with asymmetric or half-pixel coordinates)`);
    const v = this.spatial(x);
    const halfPixelCenters = interpolation === 'bilinear' && coord !== 'asymmetric';
    const st = this.apply(new UpSampling2D({ size: [factors[2], factors[3]], interpolation, halfPixelCenters, name: this.layerName() }), [v.st]);
    return this.out(st, [-1, v.shape[1], st.sampleShape[0], st.sampleShape[1]], NHWC, v.nonNeg);
  }
  opUpsample(ins: (Value | undefined)[]): Value {
    return this.opResize(ins);
  }
}

/** Converts a decoded ONNX graph (default-domain opset `opset`) into our layers. */
export function convertGraph(graph: OnnxGraph, opset: number, opts: ConvertOptions = {}): Converted {
  return new Converter(graph, opset, opts).run();
}
