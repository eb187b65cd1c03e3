// tf.io.fromMemory for layers models: an IOHandler over model.json (parsed or text) and the weight
// bytes already in memory. This is how runtimes without a file system or fetchable files load a
// saved model: workerd imports model.json as a JSON module and weights.bin as a data module.
import { checkModelJson, type ModelJson } from '../io/model-files.js';
import type { IOHandler, ModelArtifacts } from '../model/save-load.js';

type Bytes = ArrayBuffer | ArrayBufferView;

function toArrayBuffer(b: Bytes): ArrayBuffer {
  if (b instanceof ArrayBuffer) return b;
  if (ArrayBuffer.isView(b)) return new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice().buffer;
  throw new Error(`fromMemory: weightData must be an ArrayBuffer or a typed array, got ${b === null ? 'null' : typeof b}`);
}

/**
 * An IOHandler for `loadLayersModel`: `fromMemory(modelJson, weightData)` with model.json's
 * contents (object or JSON text) and the concatenated weight files' bytes.
 */
export function fromMemory(modelJson: ModelJson | string, weightData: Bytes): IOHandler {
  let json: unknown = modelJson;
  if (typeof modelJson === 'string') {
    try {
      json = JSON.parse(modelJson);
    } catch (err) {
      throw new Error(`fromMemory: modelJson is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  const weightSpecs = checkModelJson(json, 'fromMemory: modelJson');
  const data = toArrayBuffer(weightData);
  const j = json as ModelJson;
  const artifacts: ModelArtifacts = { modelTopology: j.modelTopology, format: j.format, weightSpecs, weightData: data };
  if (j.trainingConfig !== undefined) artifacts.trainingConfig = j.trainingConfig;
  return { load: async () => artifacts };
}
