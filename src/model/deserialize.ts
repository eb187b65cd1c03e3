// model.json → model: rebuilds the layers and the graph from a Keras/tfjs topology, sets the
// weights by name and compiles from the training config. Pure (no node: imports) so browsers can
// use it with their own byte source; file access is in save-load.ts.
//
// Accepted: tfjs layers-model files (tfjs-layers 1.x–4.x), Keras 2 exports converted by
// tensorflowjs_converter (modelTopology.model_config) and Keras 3 configs ({module, class_name,
// config} nesting, `batch_shape`, dtype policies, `{args, kwargs}` inbound nodes with
// __keras_tensor__ keras_history). Sequential files give a Sequential; functional ones
// ('Model' / 'Functional': several inputs and outputs, branches, merges, shared layers, nested
// models) a LayersModel whose graph is rebuilt by applying each layer to its inbound tensors.

import { argError } from '../errors.js';
import { INITIALIZERS, type InitializerName } from '../layers/initializers.js';
import { InputLayer, input } from '../layers/input.js';
import { Layer, SymbolicTensor } from '../layers/layer.js';
import { MergeLayer } from '../layers/merge-layer.js';
import { layers } from '../layers/index.js';
import { buildShapeLayer } from './deserialize-shape.js';
import { buildBatchNorm } from './deserialize-batchnorm.js';
import { buildDepthwiseFamily } from './deserialize-depthwise.js';
import { tensor, type Tensor } from '../tensor.js';
import type { NamedWeight } from '../io/model-files.js';
import { Sequential } from './sequential.js';
import { LayersModel } from './layers-model.js';
import { train, type Optimizer } from './optimizers.js';
import { resolveLoss } from './losses.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
const short = (v: unknown) => JSON.stringify(v)?.slice(0, 200);

/** snake_case or PascalCase → camelCase ('glorot_uniform', 'GlorotUniform' → 'glorotUniform'). */
export function camelCase(s: string): string {
  return s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()).replace(/^[A-Z]/, (c) => c.toLowerCase());
}

/** The input shape (without batch) from batch_input_shape (Keras 2/tfjs) or batch_shape (Keras 3). */
function batchShape(cfg: Json): number[] | undefined {
  const s = cfg.batch_input_shape ?? cfg.batch_shape ?? cfg.batchInputShape;
  if (s === undefined || s === null) return undefined;
  if (!Array.isArray(s) || s.length < 2) throw new Error(`batch_input_shape ${JSON.stringify(s)} must be [batch, ...dims]`);
  return s.slice(1) as number[];
}
/** Our initializer name for a Keras/tfjs initializer config; undefined (= layer default) when unknown. */
function initializer(v: unknown): InitializerName | undefined {
  if (v === null || v === undefined) return undefined;
  let name: string | undefined;
  let cfg: Json = {};
  if (typeof v === 'string') name = v;
  else if (isObject(v) && typeof v.class_name === 'string') {
    name = v.class_name;
    if (isObject(v.config)) cfg = v.config;
  }
  if (name === undefined) return undefined;
  const c = camelCase(name).replace(/^lecun/, 'leCun');
  if ((INITIALIZERS as readonly string[]).includes(c)) return c as InitializerName;
  if (c === 'varianceScaling') {
    // What tfjs writes for glorot/he/lecun: pick ours from mode and distribution.
    const mode = String(cfg.mode ?? 'fan_in').replace('fanAvg', 'fan_avg').replace('fanIn', 'fan_in');
    const scale = Number(cfg.scale ?? 1);
    const normal = String(cfg.distribution ?? 'normal') !== 'uniform';
    const family = mode === 'fan_avg' && scale === 1 ? 'glorot' : mode === 'fan_in' && scale === 2 ? 'he' : mode === 'fan_in' && scale === 1 ? 'leCun' : undefined;
    if (family) return `${family}${normal ? 'Normal' : 'Uniform'}` as InitializerName;
  }
  // The loaded weights replace the initial values, so an initializer we lack only changes what
  // getConfig() reports afterwards; fall back to the layer's default rather than refuse the model.
  return undefined;
}

function activation(layerName: string, v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string') return v;
  // Keras 3 may serialize activations as {module, class_name: 'function', config: 'relu'}.
  if (isObject(v) && typeof v.config === 'string') return v.config;
  if (isObject(v) && typeof v.class_name === 'string') return camelCase(v.class_name);
  throw argError(layerName, 'activation', v, 'an activation name');
}

function pairOf(v: unknown): number | [number, number] | undefined {
  if (v === null || v === undefined) return undefined;
  return Array.isArray(v) ? (v as [number, number]) : (v as number);
}

function checkChannelsLast(layerName: string, className: string, cfg: Json): void {
  const f = cfg.data_format;
  if (f !== undefined && f !== null && f !== 'channels_last' && f !== 'channelsLast') {
    throw new Error(`layer ${layerName} (${className}): data_format ${JSON.stringify(f)} is not supported; simdcnn runs NHWC ('channels_last') only`);
  }
}

/** Keras 3 may nest a layer as {module, class_name, config, registered_name}: same fields we read. */
function layerEntry(entry: unknown, index: number): { className: string; cfg: Json } {
  if (!isObject(entry) || typeof entry.class_name !== 'string' || !isObject(entry.config)) {
    throw new Error(`layer ${index}: expected {class_name, config}, got ${JSON.stringify(entry)?.slice(0, 200)}`);
  }
  return { className: entry.class_name, cfg: entry.config };
}

/** The layer classes a file may hold, for the error on any other. */
const SUPPORTED = 'InputLayer, Conv2D, Dense, MaxPooling2D, AveragePooling2D, Flatten, Dropout, Activation, Add, Subtract, Multiply, ' +
  'Average, Maximum, Minimum, Concatenate, GlobalAveragePooling2D, GlobalMaxPooling2D, ZeroPadding2D, Cropping2D, UpSampling2D, ' +
  'Reshape, Permute, Rescaling, SpatialDropout2D, ReLU, LeakyReLU, PReLU, ELU, ThresholdedReLU, Softmax, BatchNormalization, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose, and nested Model / Functional / Sequential models';
const MODEL_CLASSES = ['Model', 'Functional', 'Sequential'];

/** One Keras layer config → our layer. `inputShape` is set for the first layer (or one that declares it). */
function buildLayer(className: string, cfg: Json, inputShape: number[] | undefined, index: number): Layer {
  const name = typeof cfg.name === 'string' ? cfg.name : undefined;
  const label = name ?? `#${index}`;
  const base: { name?: string; inputShape?: number[]; trainable?: boolean; activityRegularizer?: never } = {};
  if (name !== undefined) base.name = name;
  if (inputShape) base.inputShape = inputShape;
  if (typeof cfg.trainable === 'boolean') base.trainable = cfg.trainable;
  if (cfg.activity_regularizer != null) base.activityRegularizer = cfg.activity_regularizer as never;
  const opt = <T>(v: T | undefined | null) => (v === null ? undefined : v);
  const withActivation = () => {
    const a = activation(label, cfg.activation);
    return a === undefined ? {} : { activation: a as never };
  };
  const inits = () => {
    const o: { kernelInitializer?: InitializerName; biasInitializer?: InitializerName } = {};
    const k = initializer(cfg.kernel_initializer), b = initializer(cfg.bias_initializer);
    if (k) o.kernelInitializer = k;
    if (b) o.biasInitializer = b;
    // Regularizer configs ({class_name: 'L1L2' | 'L1' | 'L2', config}) are resolved by the layer.
    const reg = o as { kernelRegularizer?: never; biasRegularizer?: never };
    if (cfg.kernel_regularizer != null) reg.kernelRegularizer = cfg.kernel_regularizer as never;
    if (cfg.bias_regularizer != null) reg.biasRegularizer = cfg.bias_regularizer as never;
    return o;
  };
  try {
    switch (className) {
      case 'Conv2D':
      case 'Convolution2D': {
        checkChannelsLast(label, className, cfg);
        if (cfg.groups !== undefined && cfg.groups !== null && cfg.groups !== 1) {
          throw new Error(`groups ${JSON.stringify(cfg.groups)} is not supported (grouped convolution)`);
        }
        return layers.conv2d({
          ...base, filters: cfg.filters as number, kernelSize: pairOf(cfg.kernel_size) as number,
          strides: pairOf(cfg.strides), padding: opt(cfg.padding) as 'valid', dilationRate: pairOf(cfg.dilation_rate),
          useBias: opt(cfg.use_bias) as boolean | undefined, ...withActivation(), ...inits(),
        });
      }
      case 'Dense':
        return layers.dense({ ...base, units: cfg.units as number, useBias: opt(cfg.use_bias) as boolean | undefined, ...withActivation(), ...inits() });
      case 'MaxPooling2D':
      case 'MaxPool2D':
      case 'AveragePooling2D':
      case 'AvgPool2D': {
        checkChannelsLast(label, className, cfg);
        const args = { ...base, poolSize: pairOf(cfg.pool_size), strides: pairOf(cfg.strides), padding: opt(cfg.padding) as 'valid' };
        return className.startsWith('Max') ? layers.maxPooling2d(args) : layers.averagePooling2d(args);
      }
      case 'Flatten':
        checkChannelsLast(label, className, cfg);
        return layers.flatten(base);
      case 'Dropout':
        return layers.dropout({ ...base, rate: cfg.rate as number });
      case 'Activation':
        return layers.activation({ ...base, activation: activation(label, cfg.activation) as never });
      case 'Add':
        return layers.add(base);
      case 'Subtract':
        return layers.subtract(base);
      case 'Multiply':
        return layers.multiply(base);
      case 'Average':
        return layers.average(base);
      case 'Maximum':
        return layers.maximum(base);
      case 'Minimum':
        return layers.minimum(base);
      case 'Concatenate':
        return layers.concatenate({ ...base, ...(typeof cfg.axis === 'number' ? { axis: cfg.axis } : {}) });
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D':
      case 'ZeroPadding2D':
      case 'Cropping2D':
      case 'UpSampling2D':
      case 'Reshape':
      case 'Permute':
      case 'Rescaling':
      case 'SpatialDropout2D':
        return buildShapeLayer(className, cfg, base);
      case 'ReLU':
        return layers.reLU({ ...base, maxValue: opt(cfg.max_value) as number | undefined,
          negativeSlope: opt(cfg.negative_slope) as number | undefined, threshold: opt(cfg.threshold) as number | undefined });
      case 'LeakyReLU':
        // Keras 3 names it negative_slope.
        return layers.leakyReLU({ ...base, alpha: (opt(cfg.alpha) ?? opt(cfg.negative_slope)) as number | undefined });
      case 'PReLU': {
        const init = initializer(cfg.alpha_initializer);
        return layers.pReLU({ ...base, ...(init ? { alphaInitializer: init } : {}), sharedAxes: opt(cfg.shared_axes) as number[] | undefined });
      }
      case 'ELU':
        return layers.elu({ ...base, alpha: opt(cfg.alpha) as number | undefined });
      case 'ThresholdedReLU':
        return layers.thresholdedReLU({ ...base, theta: opt(cfg.theta) as number | undefined });
      case 'Softmax':
        return layers.softmax({ ...base, axis: opt(cfg.axis) as number | undefined });
      case 'BatchNormalization':
        return buildBatchNorm(cfg, base, initializer);
      case 'DepthwiseConv2D':
      case 'SeparableConv2D':
      case 'SeparableConvolution2D':
      case 'Conv2DTranspose':
      case 'Convolution2DTranspose':
        checkChannelsLast(label, className, cfg);
        return buildDepthwiseFamily(className, {
          ...base, kernelSize: pairOf(cfg.kernel_size) as number, strides: pairOf(cfg.strides), padding: opt(cfg.padding) as 'valid',
          dilationRate: pairOf(cfg.dilation_rate), useBias: opt(cfg.use_bias) as boolean | undefined, ...withActivation(),
        }, cfg, initializer);
      default:
        throw new Error(`layer type ${className} is not supported (simdcnn loads ${SUPPORTED})`);
    }
  } catch (err) {
    throw new Error(`cannot load layer ${label} (${className}): ${(err as Error).message}`, { cause: err });
  }
}


/** The dtype name of a config's dtype: a string, or Keras 3's DTypePolicy {class_name, config: {name}}. */
function dtypeName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObject(v) && isObject(v.config) && typeof v.config.name === 'string') return v.config.name;
  return undefined;
}

/** A Sequential file's layers → Sequential (or, when it holds a nested model, a one-path LayersModel). */
function sequentialFromConfig(config: unknown, label: string): LayersModel {
  let entries: unknown[];
  let name: string | undefined;
  // Keras < 2.2.3 wrote the layer list directly as config.
  if (Array.isArray(config)) entries = config;
  else if (isObject(config) && Array.isArray(config.layers)) {
    entries = config.layers;
    if (typeof config.name === 'string') name = config.name;
  } else throw new Error(`${label}: Sequential config has no layers array`);

  const built: (Layer | LayersModel)[] = [];
  let pendingInput: number[] | undefined;
  entries.forEach((entry, i) => {
    const { className, cfg } = layerEntry(entry, i);
    if (className === 'InputLayer') {
      const s = batchShape(cfg);
      if (!s) throw new Error(`InputLayer ${String(cfg.name)} has no batch_input_shape / batch_shape`);
      if (built.length) throw new Error(`InputLayer ${String(cfg.name)} must come first`);
      pendingInput = s;
      return;
    }
    if (MODEL_CLASSES.includes(className)) {
      built.push(nestedModel(className, cfg, String(cfg.name ?? `#${i}`)));
      return;
    }
    const own = batchShape(cfg);
    const inputShape = built.length === 0 ? (pendingInput ?? own) : undefined;
    if (built.length === 0 && !inputShape) {
      throw new Error(`the first layer ${String(cfg.name)} (${className}) has no batch_input_shape, and there is no InputLayer: the input shape is unknown`);
    }
    built.push(buildLayer(className, cfg, inputShape, i));
  });
  if (built.length === 0) throw new Error('the model has no layers');
  const seen = new Set<string>();
  for (const l of built) {
    if (seen.has(l.name)) throw new Error(`two layers are named ${l.name}; layer names must be unique`);
    seen.add(l.name);
  }
  if (built.every((l): l is Layer => l instanceof Layer)) return new Sequential({ layers: built, ...(name !== undefined ? { name } : {}) });
  // A model inside a Sequential (transfer learning: Sequential([base, Dense])): the same chain, as a graph.
  const first = built[0];
  const shape = pendingInput ?? (first instanceof LayersModel ? first.inputShape : first.declaredInputShape);
  if (!shape) throw new Error(`the first layer ${first.name} has no input shape`);
  const x0 = input({ shape, name: `${name ?? 'sequential'}_input` });
  let x: SymbolicTensor = x0;
  for (const l of built) {
    const y = l.apply(x);
    if (Array.isArray(y)) throw new Error(`nested model ${l.name} has ${y.length} outputs; inside a Sequential a layer must have one`);
    x = y as SymbolicTensor;
  }
  return new LayersModel({ inputs: x0, outputs: x, ...(name !== undefined ? { name } : {}) });
}

/** A model entry inside another model's layers: built (not allocated) so the outer model can apply it. */
function nestedModel(className: string, cfg: Json, name: string): LayersModel {
  try {
    return modelFromConfig(className, cfg, name);
  } catch (err) {
    throw new Error(`nested model ${name} (${className}): ${(err as Error).message}`, { cause: err });
  }
}

function modelFromConfig(className: string, cfg: unknown, label: string): LayersModel {
  if (className === 'Sequential') return sequentialFromConfig(cfg, label);
  if (!isObject(cfg)) throw new Error(`${label}: ${className} config is missing`);
  return functionalFromConfig(cfg);
}

/** A tensor named in a file: [layer, node, tensor], and which kind of reference it is. */
interface Ref {
  layer: string;
  node: number;
  tensor: number;
  /**
   * 'list': tfjs / Keras 2 inbound nodes; 'history': Keras 3 keras_history; 'io': input_layers /
   * output_layers. They number a nested model's applications differently (see FileLayer.base).
   */
  form: 'list' | 'history' | 'io';
}

/** One entry of a functional config's layers, built, with its applications so far. */
interface FileLayer {
  name: string;
  className: string;
  built: Layer | LayersModel;
  /** The tensors of each application (inbound node) in the file, in order. */
  nodes: Ref[][];
  /** Output tensors of each application made so far (an InputLayer's one node from the start). */
  outs: SymbolicTensor[][];
  /**
   * The file's node index of this layer's first application, per reference form. 0, except for
   * nested models: tfjs and Keras count the node a model gets when it is made as its node 0, so
   * their first application inside the outer model is node 1 (Keras 3 does so in
   * input/output_layers of Functional models, not in keras_history).
   */
  base: Record<Ref['form'], number>;
}

const isIndex = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

function listRef(v: unknown, where: string, form: Ref['form']): Ref {
  if (!Array.isArray(v) || v.length < 3 || v.length > 4 || typeof v[0] !== 'string' || !isIndex(v[1]) || !isIndex(v[2])) {
    throw new Error(`${where}: expected [layer_name, node_index, tensor_index${form === 'list' ? ', kwargs' : ''}], got ${short(v)}`);
  }
  return { layer: v[0], node: v[1], tensor: v[2], form };
}

/** The __keras_tensor__ references in a Keras 3 call's args or kwargs, in order (lists, tuples, dicts walked). */
function kerasTensors(v: unknown, out: Ref[], where: string): void {
  if (Array.isArray(v)) {
    for (const x of v) kerasTensors(x, out, where);
    return;
  }
  if (!isObject(v)) return;
  if (v.class_name === '__keras_tensor__' || (isObject(v.config) && 'keras_history' in v.config)) {
    const h = isObject(v.config) ? v.config.keras_history : undefined;
    if (!Array.isArray(h) || typeof h[0] !== 'string' || !isIndex(h[1]) || !isIndex(h[2])) {
      throw new Error(`${where}: a __keras_tensor__ needs keras_history [layer_name, node_index, tensor_index], got ${short(h)}`);
    }
    out.push({ layer: h[0], node: h[1], tensor: h[2], form: 'history' });
    return;
  }
  if (v.class_name === '__tuple__' && isObject(v.config)) kerasTensors(v.config.value, out, where);
  else if (v.class_name === undefined) for (const x of Object.values(v)) kerasTensors(x, out, where);
}

/** A layer entry's inbound_nodes: per application, the tensors it takes. */
function inboundNodes(entry: Json, name: string): Ref[][] {
  const raw = entry.inbound_nodes;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new Error(`layer ${name}: inbound_nodes must be a list, got ${short(raw)}`);
  return raw.map((node, k) => {
    const where = `layer ${name}: inbound node ${k}`;
    let refs: Ref[];
    if (Array.isArray(node)) {
      // [[name, node, tensor, kwargs], …], or one flat [name, node, tensor] (some Keras 2 metadata).
      refs = node.length && typeof node[0] === 'string' ? [listRef(node, where, 'list')] : node.map((r) => listRef(r, where, 'list'));
    } else if (isObject(node) && 'args' in node) {
      refs = [];
      kerasTensors(node.args, refs, where);
      const kw: Ref[] = [];
      kerasTensors(node.kwargs, kw, where);
      if (kw.length) throw new Error(`${where} passes tensors as keyword arguments (${kw.map((r) => r.layer).join(', ')}), which is not supported`);
    } else {
      throw new Error(`${where}: expected a list of [layer_name, node_index, tensor_index, kwargs] or Keras 3's {args, kwargs}, got ${short(node)}`);
    }
    if (refs.length === 0) throw new Error(`${where} has no input tensors`);
    return refs;
  });
}

/** input_layers / output_layers: a list of [name, node, tensor], one such triple (Keras 3), or a dict of them. */
function ioRefs(v: unknown, what: string): Ref[] {
  const out: Ref[] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x) && typeof x[0] === 'string') out.push(listRef(x, what, 'io'));
    else if (Array.isArray(x)) x.forEach(walk);
    else if (isObject(x)) Object.values(x).forEach(walk);
    else throw new Error(`${what}: expected [layer_name, node_index, tensor_index] entries, got ${short(v)}`);
  };
  if (v === undefined || v === null) throw new Error(`the model config has no ${what}`);
  walk(v);
  if (out.length === 0) throw new Error(`${what} is empty`);
  return out;
}

function inputLayerFrom(cfg: Json, name: string): InputLayer {
  const raw = cfg.batch_input_shape ?? cfg.batch_shape ?? cfg.batchInputShape;
  if (!Array.isArray(raw)) throw new Error(`InputLayer ${name} has no batch_input_shape / batch_shape`);
  const dtype = dtypeName(cfg.dtype);
  if (dtype !== undefined && dtype !== 'float32') throw new Error(`InputLayer ${name}: dtype ${JSON.stringify(dtype)} is not supported (float32 inputs only)`);
  if (cfg.sparse === true || cfg.ragged === true) throw new Error(`InputLayer ${name}: sparse and ragged inputs are not supported`);
  try {
    return new InputLayer({ batchShape: raw as (number | null)[], name });
  } catch (err) {
    throw new Error(`InputLayer ${name}: batch shape ${JSON.stringify(raw)}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * A functional config → LayersModel: every layer is built, then applied to its inbound tensors in
 * an order where they exist (sweeps over the layers until nothing changes, each layer's nodes in
 * their order, as Keras does), then the model is made from input_layers and output_layers.
 */
function functionalFromConfig(cfg: Json): LayersModel {
  const list = cfg.layers;
  if (!Array.isArray(list)) throw new Error('the model config has no layers array');
  const keras3 = list.some((e) => isObject(e) && ('module' in e || (Array.isArray(e.inbound_nodes) && e.inbound_nodes.some((n) => isObject(n)))));
  const byName = new Map<string, FileLayer>();
  const fileLayers: FileLayer[] = list.map((entry, i) => {
    const { className, cfg: lc } = layerEntry(entry, i);
    const e = entry as Json;
    const name = typeof e.name === 'string' ? e.name : typeof lc.name === 'string' ? lc.name : undefined;
    if (name === undefined) throw new Error(`layer ${i} (${className}) has no name`);
    const other = byName.get(name);
    if (other) throw new Error(`two layers are named ${name} (${other.className} and ${className}); layer names must be unique`);
    const nodes = inboundNodes(e, name);
    let built: Layer | LayersModel;
    if (className === 'InputLayer') built = inputLayerFrom(lc, name);
    else if (MODEL_CLASSES.includes(className)) built = nestedModel(className, { ...lc, name }, name);
    else built = buildLayer(className, { ...lc, name }, batchShape(lc), i);
    const f: FileLayer = { name, className, built, nodes, outs: built instanceof InputLayer ? [[built.output]] : [], base: { list: 0, history: 0, io: 0 } };
    byName.set(name, f);
    return f;
  });
  const inputRefs = ioRefs(cfg.input_layers, 'input_layers');
  const outputRefs = ioRefs(cfg.output_layers, 'output_layers');

  // Check every reference before applying anything: the layer exists, has that node and that output.
  const refs: { ref: Ref; where: string }[] = [
    ...fileLayers.flatMap((f) => f.nodes.flatMap((n, k) => n.map((ref) => ({ ref, where: `layer ${f.name} (${f.className}): inbound node ${k}` })))),
    ...inputRefs.map((ref) => ({ ref, where: 'input_layers' })),
    ...outputRefs.map((ref) => ({ ref, where: 'output_layers' })),
  ];
  const nodeCount = (f: FileLayer) => (f.built instanceof InputLayer ? 1 : f.nodes.length);
  for (const f of fileLayers) {
    if (!(f.built instanceof LayersModel)) continue;
    for (const form of ['list', 'history', 'io'] as const) {
      const seen = refs.filter((r) => r.ref.layer === f.name && r.ref.form === form).map((r) => r.ref.node);
      const def = form === 'history' || (keras3 && f.className === 'Sequential') ? 0 : 1;
      const fits = (b: number) => seen.every((n) => n >= b && n < b + nodeCount(f));
      f.base[form] = fits(def) || !fits(1 - def) ? def : 1 - def;
    }
  }
  const names = () => [...byName.keys()].slice(0, 12).join(', ') + (byName.size > 12 ? ', …' : '');
  for (const { ref, where } of refs) {
    const f = byName.get(ref.layer);
    if (!f) throw new Error(`${where} reads layer ${JSON.stringify(ref.layer)}, which is not in the model (its layers: ${names()})`);
    const n = nodeCount(f), b = f.base[ref.form];
    if (ref.node < b || ref.node >= b + n) {
      const has = n === 0 ? 'no inbound nodes (it is never applied)' : n === 1 ? `only node ${b}` : `nodes ${b}…${b + n - 1}`;
      throw new Error(`${where} reads node ${ref.node} of layer ${f.name} (${f.className}), which has ${has}`);
    }
    const outs = f.built instanceof LayersModel ? f.built.outputs.length : 1;
    if (ref.tensor >= outs) {
      throw new Error(`${where} reads output ${ref.tensor} of layer ${f.name} (${f.className}), which has ${outs === 1 ? 'one output (index 0)' : `${outs} outputs`}`);
    }
  }
  const tensorOf = (r: Ref): SymbolicTensor | undefined => {
    const f = byName.get(r.layer)!;
    return f.outs[r.node - f.base[r.form]]?.[r.tensor];
  };

  // Apply the nodes whose inputs exist, sweep after sweep: each sweep makes at least one node or ends.
  let progress = true;
  while (progress) {
    progress = false;
    for (const f of fileLayers) {
      if (f.built instanceof InputLayer) continue;
      while (f.outs.length < f.nodes.length) {
        const k = f.outs.length;
        const ins = f.nodes[k].map(tensorOf);
        if (ins.some((t) => t === undefined)) break;
        f.outs.push(applyNode(f, ins as SymbolicTensor[], k));
        progress = true;
      }
    }
  }
  const stuck = fileLayers.find((f) => !(f.built instanceof InputLayer) && f.outs.length < f.nodes.length);
  if (stuck) throw new Error(cycleMessage(stuck, byName, tensorOf));

  const inputs = inputRefs.map((r) => {
    const f = byName.get(r.layer)!;
    if (!(f.built instanceof InputLayer)) throw new Error(`input_layers names ${f.name} (${f.className}), which is not an InputLayer`);
    return tensorOf(r)!;
  });
  const outputs = outputRefs.map((r) => tensorOf(r)!);
  const name = typeof cfg.name === 'string' ? cfg.name : undefined;
  return new LayersModel({ inputs, outputs, ...(name !== undefined ? { name } : {}) });
}

function applyNode(f: FileLayer, ins: SymbolicTensor[], k: number): SymbolicTensor[] {
  const b = f.built;
  try {
    if (b instanceof LayersModel) {
      const r = b.apply(ins);
      return Array.isArray(r) ? r : [r];
    }
    return [b.apply(b instanceof MergeLayer || ins.length > 1 ? ins : ins[0])];
  } catch (err) {
    throw new Error(`layer ${f.name} (${f.className}), inbound node ${k}: ${(err as Error).message}`, { cause: err });
  }
}

/** Why the sweeps stopped: from a stuck node, follow what it waits for until a node repeats. */
function cycleMessage(start: FileLayer, byName: Map<string, FileLayer>, tensorOf: (r: Ref) => SymbolicTensor | undefined): string {
  const path: string[] = [];
  let f = start;
  for (;;) {
    const k = f.outs.length;
    const key = `${f.name} (node ${k})`;
    const at = path.indexOf(key);
    if (at >= 0) {
      return `the inbound nodes form a cycle, so no layer order computes them: ${[...path.slice(at), key].join(' needs ')}`;
    }
    path.push(key);
    // Node k waits on a tensor not made yet; its producer's next node must come first.
    const r = f.nodes[k].find((x) => tensorOf(x) === undefined)!;
    f = byName.get(r.layer)!;
  }
}

/** Rebuilds the model from a modelTopology (weights are still the initial ones): Sequential or LayersModel. */
/**
 * The model a topology describes, built. `initialize: false` leaves the weights at zero instead of
 * drawing their initial values, for a caller that sets every weight next (a model file's weights).
 */
export function modelFromTopology(topology: unknown, source = 'model', opts: { initialize?: boolean } = {}): LayersModel {
  let t = topology;
  // tensorflowjs_converter output of a Keras file: {keras_version, backend, model_config, training_config}.
  if (isObject(t) && isObject(t.model_config)) t = t.model_config;
  if (!isObject(t) || typeof t.class_name !== 'string') {
    throw new Error(`${source}: modelTopology must be {class_name, config}, got ${short(t)}`);
  }
  const cls = t.class_name;
  if (!MODEL_CLASSES.includes(cls)) {
    throw new Error(`${source}: model class ${JSON.stringify(cls)} is not supported; expected Sequential, Model or Functional`);
  }
  let model: LayersModel;
  try {
    model = modelFromConfig(cls, t.config, `${cls} model`);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`, { cause: err });
  }
  try {
    model.build(opts);
  } catch (err) {
    model.dispose();
    throw new Error(`${source}: ${(err as Error).message}`, { cause: err });
  }
  return model;
}

/**
 * tfjs and Keras weight names that may stand for our `${layer}/${weight}`: 'dense/kernel:0' (TF),
 * 'model/dense/kernel', 'dense/kernel_1' (tfjs' uniquified variables), 'dense_Dense1/kernel' (a
 * tfjs-style suffix on the layer) — but never one that names another layer of the model.
 */
function nameMatches(candidate: string, layer: string, weight: string, layerNames: Set<string>): boolean {
  const n = candidate.replace(/:\d+$/, '');
  const slash = n.lastIndexOf('/');
  if (slash < 0) return false;
  const w = n.slice(slash + 1), owner = n.slice(0, slash).split('/').pop()!;
  if (w !== weight && !new RegExp(`^${weight}_\\d+$`).test(w)) return false;
  if (owner === layer) return true;
  return owner.startsWith(`${layer}_`) && !layerNames.has(owner);
}

/**
 * Sets the model's weights from decoded weights, matched by name. Errors name the weight: one
 * missing, ambiguous, of another shape or dtype, or a model weight left over.
 */
export function assignWeights(model: LayersModel, weights: readonly NamedWeight[], source = 'model'): void {
  const list = model.weightList();
  const pool = weights.filter((w) => (w as { group?: string }).group !== 'optimizer');
  const byName = new Map(pool.map((w) => [w.name, w]));
  const used = new Set<NamedWeight>();
  // Names that match a model weight exactly are that weight's, whatever the looser rules say.
  const exact = new Set(list.map((w) => w.name).filter((n) => byName.has(n)));
  const layerNames = new Set(model.layers.map((l) => l.name));
  const picked: NamedWeight[] = [];
  for (const { name, layer, spec } of list) {
    let w = byName.get(name);
    if (!w) {
      const cands = pool.filter((c) => !used.has(c) && !exact.has(c.name) && nameMatches(c.name, layer.name, spec.name, layerNames));
      if (cands.length > 1) {
        throw new Error(`${source}: weight ${name} is ambiguous: the weights file has ${cands.map((c) => c.name).join(', ')}`);
      }
      w = cands[0];
    }
    if (!w || used.has(w)) {
      throw new Error(`${source}: weight ${name} (shape [${spec.shape}]) is missing from the weights manifest, which has ${pool.map((c) => c.name).join(', ') || 'no weights'}`);
    }
    if (w.shape.join() !== spec.shape.join()) {
      throw new Error(`${source}: weight ${w.name} has shape [${w.shape}] in the weights file, but layer ${layer.name} (${layer.className}) needs [${spec.shape}] for ${name}`);
    }
    if (!(w.data instanceof Float32Array)) throw new Error(`${source}: weight ${w.name} is int32; ${name} must be float32`);
    used.add(w);
    picked.push(w);
  }
  const extra = pool.filter((w) => !used.has(w));
  if (extra.length) {
    throw new Error(`${source}: the weights manifest has weights the model does not use: ${extra.map((w) => `${w.name} [${w.shape}]`).join(', ')} (the topology and the weights do not match)`);
  }
  const tensors: Tensor[] = picked.map((w) => tensor(w.data, w.shape));
  try {
    model.setWeights(tensors);
  } finally {
    for (const t of tensors) t.dispose();
  }
}

const num = (cfg: Json, ...keys: string[]): number | undefined => {
  for (const k of keys) if (typeof cfg[k] === 'number') return cfg[k] as number;
  return undefined;
};

/** A tfjs/Keras optimizer_config → our optimizer, or a reason it cannot be built. */
export function optimizerFromConfig(v: unknown): Optimizer | string {
  if (!isObject(v) || typeof v.class_name !== 'string') return `optimizer_config ${JSON.stringify(v)} is not {class_name, config}`;
  const cfg = isObject(v.config) ? v.config : {};
  const lr = num(cfg, 'learningRate', 'learning_rate', 'lr');
  switch (v.class_name.toLowerCase()) {
    case 'adam':
      if (cfg.amsgrad === true) return 'Adam with amsgrad is not supported';
      return train.adam(lr ?? 0.001, num(cfg, 'beta1', 'beta_1') ?? 0.9, num(cfg, 'beta2', 'beta_2') ?? 0.999, num(cfg, 'epsilon') ?? 1e-7);
    case 'sgd': {
      const momentum = num(cfg, 'momentum') ?? 0;
      const nesterov = cfg.nesterov === true || cfg.useNesterov === true;
      return momentum > 0 || nesterov ? train.momentum(lr ?? 0.01, momentum, nesterov) : train.sgd(lr ?? 0.01);
    }
    case 'momentum':
      return train.momentum(lr ?? 0.01, num(cfg, 'momentum') ?? 0.9, cfg.useNesterov === true || cfg.use_nesterov === true);
    default:
      return `optimizer ${v.class_name} is not supported (Adam, SGD, Momentum are)`;
  }
}

function lossName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length === 1) return lossName(v[0]);
  // Keras 3: {module: 'keras.losses', class_name: 'SparseCategoricalCrossentropy', config: {...}}.
  if (isObject(v) && typeof v.class_name === 'string') return camelCase(v.class_name);
  if (isObject(v)) {
    const vals = Object.values(v);
    if (vals.length === 1) return lossName(vals[0]);
  }
  return undefined;
}

function wantsAccuracy(v: unknown): boolean {
  if (typeof v === 'string') return /acc/i.test(v);
  if (Array.isArray(v)) return v.some(wantsAccuracy);
  if (isObject(v)) return typeof v.class_name === 'string' ? /acc/i.test(v.class_name) : Object.values(v).some(wantsAccuracy);
  return false;
}

/**
 * A training-config field for a model's outputs → one entry per output (undefined where it has
 * none): given once for all (`isOne`), as a list (one per output, or one for all), or as an
 * object keyed by output name. A string is why it cannot be read.
 */
function perOutput(field: string, v: unknown, names: string[], isOne: (x: unknown) => boolean): unknown[] | string {
  if (v === undefined || v === null) return names.map(() => undefined);
  if (isOne(v)) return names.map(() => v);
  if (Array.isArray(v)) {
    if (v.length === names.length) return v;
    if (v.length === 1) return names.map(() => v[0]);
    return `${field} has ${v.length} entries for ${names.length} outputs (${names.join(', ')})`;
  }
  if (isObject(v)) {
    const keys = Object.keys(v);
    // One output: whatever the key (Keras names it after the output layer, which may differ).
    if (names.length === 1 && keys.length === 1) return [v[keys[0]]];
    const extra = keys.filter((k) => !names.includes(k));
    if (extra.length) return `${field} has entries for ${extra.join(', ')}, which ${extra.length > 1 ? 'are not outputs' : 'is not an output'} (the outputs: ${names.join(', ')})`;
    return names.map((n) => v[n]);
  }
  return `${field} ${short(v)} is neither one value, a list nor an object keyed by output name`;
}

const isKerasObject = (x: unknown) => isObject(x) && typeof x.class_name === 'string';

/**
 * Compiles the model as its training config says (per output: loss, loss weight, accuracy
 * metric; the optimizer with its hyperparameters). Returns undefined when compiled, else why not
 * (the model then loads uncompiled: predict works, evaluate/fit need compile()).
 */
export function compileFromTrainingConfig(model: LayersModel, trainingConfig: unknown): string | undefined {
  if (!isObject(trainingConfig)) return 'there is no training config';
  const names = model.outputNames;
  const lossList = perOutput('loss', trainingConfig.loss, names, (x) => typeof x === 'string' || isKerasObject(x));
  if (typeof lossList === 'string') return lossList;
  const losses: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const loss = lossName(lossList[i]);
    try {
      resolveLoss(loss);
    } catch {
      return `loss ${JSON.stringify(lossList[i] ?? trainingConfig.loss)}${names.length > 1 ? ` (output ${names[i]})` : ''} is not supported`;
    }
    losses.push(loss!);
  }
  // A flat list of metrics applies to every output (tfjs, Keras 2); a list of lists is per output.
  const metricList = perOutput('metrics', trainingConfig.metrics, names,
    (x) => typeof x === 'string' || isKerasObject(x) || (Array.isArray(x) && !x.some((y) => Array.isArray(y))));
  if (typeof metricList === 'string') return metricList;
  const weightList = perOutput('loss_weights', trainingConfig.loss_weights, names, (x) => typeof x === 'number');
  if (typeof weightList === 'string') return weightList;
  const bad = weightList.findIndex((w) => w !== undefined && (typeof w !== 'number' || !Number.isFinite(w)));
  if (bad >= 0) return `loss_weights ${JSON.stringify(trainingConfig.loss_weights)}: the weight of output ${names[bad]} is not a finite number`;
  const optimizer = optimizerFromConfig(trainingConfig.optimizer_config ?? trainingConfig.optimizer);
  if (typeof optimizer === 'string') return optimizer;
  try {
    model.compile({
      optimizer, loss: losses,
      metrics: metricList.map((m) => (wantsAccuracy(m) ? ['accuracy'] : [])),
      lossWeights: weightList.map((w) => (w === undefined ? 1 : (w as number))),
    });
  } catch (err) {
    optimizer.dispose();
    return (err as Error).message;
  }
  return undefined;
}
