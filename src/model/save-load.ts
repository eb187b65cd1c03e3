// model.save / loadLayersModel in TensorFlow.js' layers-model format: model.json (topology,
// weights manifest, training config) + weights.bin, readable by tf.loadLayersModel and written
// by tf.LayersModel.save. Destinations: a folder path or file:// URL (Node, crash-safe through
// saveModelFiles), or a tfjs-style IOHandler object ({save(artifacts)} / {load()}) anywhere.

import { buildModelJson, checkModelJson, decodeWeights, encodeWeights, type ModelJson, type NamedWeight, type WeightSpec } from '../io/model-files.js';
import { loadModelFiles, saveModelFiles } from '../io/file-node.js';
import { assignWeights, compileFromTrainingConfig, modelFromTopology } from './deserialize.js';
import type { Sequential } from './sequential.js';

export const VERSION = '0.1.0';

/** tfjs' ModelArtifacts (the subset layers models use). */
export interface ModelArtifacts {
  modelTopology: unknown;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightSpecs?: (WeightSpec & { group?: string })[];
  weightData?: ArrayBuffer | ArrayBuffer[];
  trainingConfig?: unknown;
}

/** tfjs' SaveResult. */
export interface SaveResult {
  modelArtifactsInfo: {
    dateSaved: Date;
    modelTopologyType: 'JSON';
    modelTopologyBytes: number;
    weightSpecsBytes: number;
    weightDataBytes: number;
  };
}

/** tfjs' IOHandler, as far as save/load use it. */
export interface IOHandler {
  save?(artifacts: ModelArtifacts): Promise<SaveResult | { modelArtifactsInfo: unknown }>;
  load?(): Promise<ModelArtifacts>;
}

export interface SaveOptions {
  /** Extra files written beside model.json in the same atomic save (e.g. history.json). Files only. */
  extraFiles?: Record<string, string | Uint8Array>;
}

const utf8Bytes = (s: string) => new TextEncoder().encode(s).length;

/** The model as tfjs artifacts plus the model.json object written for them. */
export function modelArtifacts(model: Sequential): { artifacts: ModelArtifacts; modelJson: ModelJson; weightData: ArrayBuffer } {
  const { weightSpecs, data } = encodeWeights(model.weightValues());
  const trainingConfig = model.trainingConfig();
  const modelJson = buildModelJson({
    modelTopology: model.toJSON(),
    weightSpecs,
    generatedBy: `simdcnn ${VERSION}`,
    convertedBy: null,
    ...(trainingConfig ? { trainingConfig } : {}),
  });
  const artifacts: ModelArtifacts = {
    modelTopology: modelJson.modelTopology, format: modelJson.format, generatedBy: modelJson.generatedBy,
    convertedBy: null, weightSpecs, weightData: data,
  };
  if (trainingConfig) artifacts.trainingConfig = trainingConfig;
  return { artifacts, modelJson, weightData: data };
}

function saveResult(a: ModelArtifacts, weightDataBytes: number): SaveResult {
  return {
    modelArtifactsInfo: {
      dateSaved: new Date(),
      modelTopologyType: 'JSON',
      modelTopologyBytes: utf8Bytes(JSON.stringify(a.modelTopology)),
      weightSpecsBytes: utf8Bytes(JSON.stringify(a.weightSpecs)),
      weightDataBytes,
    },
  };
}

const isHandler = (v: unknown): v is IOHandler =>
  v !== null && typeof v === 'object' && !(v instanceof URL) && (typeof (v as IOHandler).save === 'function' || typeof (v as IOHandler).load === 'function');

/**
 * Saves `model` to `file://DIR`, `DIR` (model.json + weights.bin; the previous model stays intact
 * if anything fails) or an IOHandler.
 */
export async function saveModel(model: Sequential, target: string | URL | IOHandler, opts: SaveOptions = {}): Promise<SaveResult> {
  const { artifacts, modelJson, weightData } = modelArtifacts(model);
  if (isHandler(target)) {
    if (typeof target.save !== 'function') throw new Error('model.save: the IOHandler has no save() method');
    if (opts.extraFiles) throw new Error('model.save: extraFiles only apply to folder destinations');
    return (await target.save(artifacts)) as SaveResult;
  }
  await saveModelFiles(target, modelJson, weightData, opts.extraFiles ?? {});
  return saveResult(artifacts, weightData.byteLength);
}

function concat(data: ArrayBuffer | ArrayBuffer[] | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  if (!Array.isArray(data)) return new Uint8Array(data);
  const out = new Uint8Array(data.reduce((s, b) => s + b.byteLength, 0));
  let o = 0;
  for (const b of data) {
    out.set(new Uint8Array(b), o);
    o += b.byteLength;
  }
  return out;
}

export interface LoadOptions {
  /** Compile from the training config when there is one (default true). */
  compile?: boolean;
}

/** Builds the model from already-decoded files: topology, weights and (optionally) the training config. */
export function modelFromArtifacts(modelJson: { modelTopology: unknown; trainingConfig?: unknown }, weights: readonly NamedWeight[],
  source: string, opts: LoadOptions = {}): Sequential {
  const model = modelFromTopology(modelJson.modelTopology, source);
  try {
    assignWeights(model, weights, source);
    if (opts.compile !== false) {
      // Keras-converted files keep the training config inside the topology.
      const topo = modelJson.modelTopology as { training_config?: unknown } | null;
      const tc = modelJson.trainingConfig ?? topo?.training_config;
      if (tc !== undefined && tc !== null) {
        const why = compileFromTrainingConfig(model, tc);
        if (why) console.warn(`simdcnn: ${source} loaded without compiling (${why}); call model.compile() before evaluate or fit`);
      }
    }
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

/**
 * tf.loadLayersModel: `file://DIR/model.json`, a path to model.json or to its folder (Node), or
 * an IOHandler with load(). The model comes back compiled when the file has a training config.
 */
export async function loadLayersModel(source: string | URL | IOHandler, opts: LoadOptions = {}): Promise<Sequential> {
  if (isHandler(source)) {
    if (typeof source.load !== 'function') throw new Error('loadLayersModel: the IOHandler has no load() method');
    const a = await source.load();
    const specs = checkModelJson({ modelTopology: a.modelTopology, format: a.format, weightsManifest: [{ paths: [], weights: a.weightSpecs ?? [] }] }, 'loadLayersModel');
    const weights = decodeWeights(specs, concat(a.weightData)).map((w, i) => ({ ...w, group: specs[i] && (specs[i] as { group?: string }).group }));
    return modelFromArtifacts(a, weights, 'loadLayersModel', opts);
  }
  const files = await loadModelFiles(source);
  const weights = files.weights.map((w, i) => ({ ...w, group: (files.weightSpecs[i] as { group?: string }).group }));
  return modelFromArtifacts(files.modelJson, weights, `model ${files.path}`, opts);
}
