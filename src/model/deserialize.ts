// model.json → Sequential: rebuilds the layers from a Keras/tfjs topology, sets the weights by
// name and compiles from the training config. Pure (no node: imports) so browsers can use it with
// their own byte source; file access is in save-load.ts.
//
// Accepted: tfjs layers-model files (tfjs-layers 1.x–4.x), Keras 2 exports converted by
// tensorflowjs_converter (modelTopology.model_config) and, leniently, Keras 3 configs ({module,
// class_name, config} nesting, `batch_shape`, dtype policies). Functional models ('Model' /
// 'Functional') load when their layers form a single chain.

import { argError } from '../errors.js';
import { INITIALIZERS, type InitializerName } from '../layers/initializers.js';
import { Layer } from '../layers/layer.js';
import { layers } from '../layers/index.js';
import { tensor, type Tensor } from '../tensor.js';
import type { NamedWeight } from '../io/model-files.js';
import { Sequential } from './sequential.js';
import type { LayersModel } from './layers-model.js';
import { train, type Optimizer } from './optimizers.js';
import { resolveLoss } from './losses.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

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

/** One Keras layer config → our layer. `inputShape` is set for the first layer. */
function buildLayer(className: string, cfg: Json, inputShape: number[] | undefined, index: number): Layer {
  const name = typeof cfg.name === 'string' ? cfg.name : undefined;
  const label = name ?? `#${index}`;
  const base: { name?: string; inputShape?: number[]; trainable?: boolean } = {};
  if (name !== undefined) base.name = name;
  if (inputShape) base.inputShape = inputShape;
  if (typeof cfg.trainable === 'boolean') base.trainable = cfg.trainable;
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
      default:
        throw new Error(`layer type ${className} is not supported (simdcnn has Conv2D, Dense, MaxPooling2D, AveragePooling2D, Flatten, Dropout, Activation)`);
    }
  } catch (err) {
    throw new Error(`cannot load layer ${label} (${className}): ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The layer list of a Functional model whose layers form one chain (each layer fed by the one
 * before it), in order; anything else (branches, merges, several inputs) is an Error.
 */
function chainOfFunctional(cfg: Json): unknown[] {
  const list = cfg.layers;
  if (!Array.isArray(list)) throw new Error('the model config has no layers array');
  const inboundOf = (entry: Json): string[] => {
    const nodes = entry.inbound_nodes;
    if (!Array.isArray(nodes) || nodes.length === 0) return [];
    if (nodes.length > 1) return ['<shared>', '<shared>'];
    const node = nodes[0];
    // Keras 2 / tfjs: [[name, nodeIndex, tensorIndex, kwargs], ...]; Keras 3: {args: [{config: {keras_history: [name, ...]}}]}.
    if (Array.isArray(node)) return node.map((n) => (Array.isArray(n) ? String(n[0]) : '?'));
    if (isObject(node) && Array.isArray(node.args)) {
      return node.args.map((a) => {
        const h = isObject(a) && isObject(a.config) ? a.config.keras_history : undefined;
        return Array.isArray(h) ? String(h[0]) : '?';
      });
    }
    return ['?'];
  };
  let prev: string | undefined;
  for (const e of list) {
    if (!isObject(e)) throw new Error('a layer entry is not an object');
    const name = String(isObject(e.config) ? e.config.name : e.name);
    const inbound = inboundOf(e);
    const ok = prev === undefined ? inbound.length === 0 : inbound.length === 1 && inbound[0] === prev;
    if (!ok) {
      throw new Error(`only single-chain models load: layer ${name} (${String(e.class_name)}) takes input from ${inbound.length ? inbound.join(', ') : 'nothing'}${prev ? `, not just from ${prev}` : ''}`);
    }
    prev = name;
  }
  return list;
}

/** Rebuilds the model from a modelTopology (weights are still the initial ones). */
export function modelFromTopology(topology: unknown, source = 'model'): Sequential {
  let t = topology;
  // tensorflowjs_converter output of a Keras file: {keras_version, backend, model_config, training_config}.
  if (isObject(t) && isObject(t.model_config)) t = t.model_config;
  if (!isObject(t) || typeof t.class_name !== 'string') {
    throw new Error(`${source}: modelTopology must be {class_name, config}, got ${JSON.stringify(t)?.slice(0, 200)}`);
  }
  const cls = t.class_name;
  let entries: unknown[];
  let name: string | undefined;
  if (cls === 'Sequential') {
    // Keras < 2.2.3 wrote the layer list directly as config.
    const cfg = t.config;
    if (Array.isArray(cfg)) entries = cfg;
    else if (isObject(cfg) && Array.isArray(cfg.layers)) {
      entries = cfg.layers;
      if (typeof cfg.name === 'string') name = cfg.name;
    } else throw new Error(`${source}: Sequential config has no layers array`);
  } else if (cls === 'Model' || cls === 'Functional') {
    if (!isObject(t.config)) throw new Error(`${source}: ${cls} config is missing`);
    try {
      entries = chainOfFunctional(t.config);
    } catch (err) {
      throw new Error(`${source}: ${cls} model cannot be loaded: ${(err as Error).message}`, { cause: err });
    }
    if (typeof t.config.name === 'string') name = t.config.name;
  } else {
    throw new Error(`${source}: model class ${JSON.stringify(cls)} is not supported; expected Sequential (or a single-chain Model/Functional)`);
  }

  const built: Layer[] = [];
  let pendingInput: number[] | undefined;
  try {
    entries.forEach((entry, i) => {
      const { className, cfg } = layerEntry(entry, i);
      if (className === 'InputLayer') {
        const s = batchShape(cfg);
        if (!s) throw new Error(`InputLayer ${String(cfg.name)} has no batch_input_shape / batch_shape`);
        if (built.length) throw new Error(`InputLayer ${String(cfg.name)} must come first`);
        pendingInput = s;
        return;
      }
      const own = batchShape(cfg);
      const inputShape = built.length === 0 ? (pendingInput ?? own) : undefined;
      if (built.length === 0 && !inputShape) {
        throw new Error(`the first layer ${String(cfg.name)} (${className}) has no batch_input_shape, and there is no InputLayer: the input shape is unknown`);
      }
      built.push(buildLayer(className, cfg, inputShape, i));
    });
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`, { cause: err });
  }
  if (built.length === 0) throw new Error(`${source}: the model has no layers`);
  const seen = new Set<string>();
  for (const l of built) {
    if (seen.has(l.name)) throw new Error(`${source}: two layers are named ${l.name}; layer names must be unique`);
    seen.add(l.name);
  }
  const model = new Sequential({ layers: built, ...(name !== undefined ? { name } : {}) });
  try {
    model.build();
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
 * Compiles the model as its training config says (loss, accuracy metric, optimizer with its
 * hyperparameters). Returns undefined when compiled, else why not (the model then loads
 * uncompiled: predict works, evaluate/fit need compile()).
 */
export function compileFromTrainingConfig(model: LayersModel, trainingConfig: unknown): string | undefined {
  if (!isObject(trainingConfig)) return 'there is no training config';
  const loss = lossName(trainingConfig.loss);
  try {
    resolveLoss(loss);
  } catch {
    return `loss ${JSON.stringify(trainingConfig.loss)} is not supported`;
  }
  const optimizer = optimizerFromConfig(trainingConfig.optimizer_config);
  if (typeof optimizer === 'string') return optimizer;
  model.compile({ optimizer, loss: loss!, metrics: wantsAccuracy(trainingConfig.metrics) ? ['accuracy'] : [] });
  return undefined;
}
