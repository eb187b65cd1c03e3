// Reading a model (loadLayersModel): the model files or an IOHandler's artifacts → topology →
// layers, weights and training config. Its own module so that the browser build can fetch it on
// first use (save-load.ts imports it dynamically) instead of putting it in every page's core.

import { checkModelJson, decodeWeights, type NamedWeight } from '../io/model-files.js';
import { loadModelFiles } from '../io/file-node.js';
import { assignWeights, compileFromTrainingConfig, modelFromTopology } from './deserialize.js';

export { optimizerFromConfig } from './deserialize.js';
import { isHandler, type IOHandler, type LoadOptions } from './save-load.js';
import type { LayersModel } from './layers-model.js';

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

/** Builds the model from already-decoded files: topology, weights and (optionally) the training config. */
export function modelFromArtifacts(modelJson: { modelTopology: unknown; trainingConfig?: unknown }, weights: readonly NamedWeight[],
  source: string, opts: LoadOptions = {}): LayersModel {
  // Every weight comes from the files: no random initial values to draw first (MobileNetV2: 150 ms).
  const model = modelFromTopology(modelJson.modelTopology, source, { initialize: false });
  try {
    assignWeights(model, weights, source);
    if (opts.compile !== false) {
      // Keras-converted files keep the training config inside the topology; Keras 3 keeps its
      // compile_config in the model config.
      type Topo = { training_config?: unknown; compile_config?: unknown; model_config?: { compile_config?: unknown } } | null;
      const topo = modelJson.modelTopology as Topo;
      const tc = modelJson.trainingConfig ?? topo?.training_config ?? topo?.model_config?.compile_config ?? topo?.compile_config;
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

/** loadLayersModel's body (see save-load.ts). */
export async function readLayersModel(source: string | URL | IOHandler, opts: LoadOptions = {}): Promise<LayersModel> {
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
