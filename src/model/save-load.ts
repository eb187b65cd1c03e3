// model.save / loadLayersModel in TensorFlow.js' layers-model format: model.json (topology,
// weights manifest, training config) + weights.bin, readable by tf.loadLayersModel and written
// by tf.LayersModel.save. Destinations: a folder path or file:// URL (Node, crash-safe through
// saveModelFiles), or a tfjs-style IOHandler object ({save(artifacts)} / {load()}) anywhere.

import { buildModelJson, encodeWeights, type ModelJson, type NamedWeight, type WeightSpec } from '../io/model-files.js';
import { saveModelFiles } from '../io/file-node.js';
import type { LayersModel } from './layers-model.js';

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
export function modelArtifacts(model: LayersModel): { artifacts: ModelArtifacts; modelJson: ModelJson; weightData: ArrayBuffer } {
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

export const isHandler = (v: unknown): v is IOHandler =>
  v !== null && typeof v === 'object' && !(v instanceof URL) && (typeof (v as IOHandler).save === 'function' || typeof (v as IOHandler).load === 'function');

/**
 * Saves `model` to `file://DIR`, `DIR` (model.json + weights.bin; the previous model stays intact
 * if anything fails) or an IOHandler.
 */
export async function saveModel(model: LayersModel, target: string | URL | IOHandler, opts: SaveOptions = {}): Promise<SaveResult> {
  const { artifacts, modelJson, weightData } = modelArtifacts(model);
  if (isHandler(target)) {
    if (typeof target.save !== 'function') throw new Error('model.save: the IOHandler has no save() method');
    if (opts.extraFiles) throw new Error('model.save: extraFiles only apply to folder destinations');
    return (await target.save(artifacts)) as SaveResult;
  }
  await saveModelFiles(target, modelJson, weightData, opts.extraFiles ?? {});
  return saveResult(artifacts, weightData.byteLength);
}

export interface LoadOptions {
  /** Compile from the training config when there is one (default true). */
  compile?: boolean;
}

/**
 * tf.loadLayersModel: `file://DIR/model.json`, a path to model.json or to its folder (Node), or
 * an IOHandler with load(). The model comes back compiled when the file has a training config.
 * The reader (topology, weights, training config: ./load.ts) is loaded on first use, so in the
 * browser build it is its own chunk (simdcnn-load.js), outside the core every page downloads.
 */
export async function loadLayersModel(source: string | URL | IOHandler, opts: LoadOptions = {}): Promise<LayersModel> {
  const { readLayersModel } = await import('./load.js');
  return readLayersModel(source, opts);
}
