// TensorFlow.js "layers-model" artifacts: model.json plus binary weight shards.
//
// What tf.loadLayersModel expects (tfjs-core io/types.ts ModelJSON, tfjs-layers models.ts):
//   {
//     "format": "layers-model",
//     "generatedBy": "...", "convertedBy": null,
//     "modelTopology": {                    // written by the model code, not here
//        "class_name": "Sequential" | "Model",
//        "config": { "name": ..., "layers": [ { "class_name": "Conv2D", "config": {...} }, ... ] },
//        "keras_version": "tfjs-layers x.y.z", "backend": "tensor_flow.js"
//     },
//     "weightsManifest": [ { "paths": ["weights.bin"],
//                            "weights": [ { "name": "conv2d_1/kernel", "shape": [3,3,1,32], "dtype": "float32" } ] } ],
//     "trainingConfig": { "loss": ..., "metrics": [...], "optimizer_config": { "class_name", "config" } }  // optional
//   }
// The binary data is the concatenation of every group's paths in order; inside it each weight is
// prod(shape) little-endian elements (4 bytes for float32/int32), in weightSpecs order, no padding.
// Weight names must match the model's weight names (layer name + '/kernel' etc.): tfjs matches by name.
// This file is pure (no node: imports) so browsers can use it; disk access is in file-node.ts.

export type WeightDtype = 'float32' | 'int32';

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: WeightDtype;
}

export interface NamedWeight {
  name: string;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface WeightsManifestGroup {
  paths: string[];
  weights: WeightSpec[];
}

export interface ModelJson {
  format: string;
  generatedBy: string;
  convertedBy: string | null;
  modelTopology: unknown;
  weightsManifest: WeightsManifestGroup[];
  trainingConfig?: unknown;
  [extra: string]: unknown;
}

function shapeSize(shape: readonly number[], what: string): number {
  if (!Array.isArray(shape)) throw new Error(`${what}: shape must be an array of integers, got ${JSON.stringify(shape)}`);
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(`${what}: shape [${shape.join(', ')}] must hold non-negative integers, got ${d}`);
    }
    n *= d;
  }
  return n;
}

/** Concatenate weights into one buffer with their specs, in the order given. */
export function encodeWeights(list: readonly NamedWeight[]): { weightSpecs: WeightSpec[]; data: ArrayBuffer } {
  const seen = new Set<string>();
  const specs: WeightSpec[] = [];
  let bytes = 0;
  for (const w of list) {
    if (typeof w.name !== 'string' || w.name === '') {
      throw new Error(`encodeWeights: weight name must be a non-empty string, got ${JSON.stringify(w.name)}`);
    }
    if (seen.has(w.name)) throw new Error(`encodeWeights: duplicate weight name "${w.name}"`);
    seen.add(w.name);
    const what = `encodeWeights: weight "${w.name}"`;
    let dtype: WeightDtype;
    if (w.data instanceof Float32Array) dtype = 'float32';
    else if (w.data instanceof Int32Array) dtype = 'int32';
    else {
      const got = (w.data as { constructor?: { name?: string } } | undefined)?.constructor?.name ?? typeof w.data;
      throw new Error(`${what}: data must be a Float32Array or Int32Array, got ${got}`);
    }
    const n = shapeSize(w.shape, what);
    if (n !== w.data.length) {
      throw new Error(`${what}: shape [${w.shape.join(', ')}] holds ${n} elements but data has ${w.data.length}`);
    }
    specs.push({ name: w.name, shape: [...w.shape], dtype });
    bytes += n * 4;
  }
  const out = new Uint8Array(bytes);
  let off = 0;
  for (const w of list) {
    out.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), off);
    off += w.data.byteLength;
  }
  return { weightSpecs: specs, data: out.buffer };
}

/**
 * Split weight data back into named arrays. The arrays are views into `data` (no copy) when
 * it is 4-byte aligned. Errors name the weight and the byte counts.
 */
export function decodeWeights(weightSpecs: readonly WeightSpec[], data: ArrayBuffer | Uint8Array): NamedWeight[] {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  let needed = 0;
  for (const s of weightSpecs) {
    const what = `weight "${s.name}"`;
    if ((s as { quantization?: unknown }).quantization !== undefined) {
      throw new Error(`${what}: quantized weights are not supported`);
    }
    if (s.dtype !== 'float32' && s.dtype !== 'int32') {
      throw new Error(`${what}: dtype ${JSON.stringify(s.dtype)} is not supported; expected "float32" or "int32"`);
    }
    needed += shapeSize(s.shape, what) * 4;
  }
  if (needed !== bytes.byteLength) {
    // Name the first weight that does not fit, which usually points at the mismatch.
    let off = 0;
    for (const s of weightSpecs) {
      const nb = shapeSize(s.shape, s.name) * 4;
      if (off + nb > bytes.byteLength) {
        throw new Error(
          `weight "${s.name}" [${s.shape.join(', ')}] ${s.dtype} needs ${nb} bytes at offset ${off}, but the ` +
            `weight data has only ${bytes.byteLength} bytes (the manifest needs ${needed})`,
        );
      }
      off += nb;
    }
    throw new Error(
      `weight data has ${bytes.byteLength} bytes but the manifest's ${weightSpecs.length} weights need ${needed}`,
    );
  }
  const aligned = bytes.byteOffset % 4 === 0;
  const out: NamedWeight[] = [];
  let off = 0;
  for (const s of weightSpecs) {
    const n = shapeSize(s.shape, s.name);
    const ctor = s.dtype === 'float32' ? Float32Array : Int32Array;
    const arr = aligned
      ? new ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset + off, n)
      : new ctor(bytes.slice(off, off + n * 4).buffer);
    out.push({ name: s.name, shape: [...s.shape], data: arr });
    off += n * 4;
  }
  return out;
}

export interface BuildModelJsonOptions {
  modelTopology: unknown;
  weightSpecs: WeightSpec[];
  weightsPath?: string;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  trainingConfig?: unknown;
}

/** The model.json object tf.loadLayersModel reads; one weights group with one file. */
export function buildModelJson(opts: BuildModelJsonOptions): ModelJson {
  if (opts.modelTopology === null || typeof opts.modelTopology !== 'object') {
    throw new Error(`buildModelJson: modelTopology must be an object, got ${JSON.stringify(opts.modelTopology)}`);
  }
  const path = opts.weightsPath ?? 'weights.bin';
  if (path === '' || /[\\/]/.test(path) || path === 'model.json') {
    throw new Error(`buildModelJson: weightsPath must be a plain file name other than model.json, got ${JSON.stringify(path)}`);
  }
  const json: ModelJson = {
    format: opts.format ?? 'layers-model',
    generatedBy: opts.generatedBy ?? 'simdcnn',
    convertedBy: opts.convertedBy ?? null,
    modelTopology: opts.modelTopology,
    weightsManifest: [{ paths: [path], weights: opts.weightSpecs.map((s) => ({ name: s.name, shape: [...s.shape], dtype: s.dtype })) }],
  };
  if (opts.trainingConfig !== undefined) json.trainingConfig = opts.trainingConfig;
  return json;
}

/**
 * Check that parsed JSON has the layers-model shape; `source` names the file in errors.
 * Returns the flattened weight specs of all groups in order.
 */
export function checkModelJson(json: unknown, source: string): WeightSpec[] {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error(`${source}: expected a JSON object, got ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`);
  }
  const j = json as Partial<ModelJson>;
  if (j.format !== undefined && j.format !== 'layers-model') {
    throw new Error(`${source}: format is ${JSON.stringify(j.format)}; expected "layers-model" (graph models are not supported)`);
  }
  if (j.modelTopology === null || typeof j.modelTopology !== 'object') {
    throw new Error(`${source}: modelTopology is missing or not an object`);
  }
  if (!Array.isArray(j.weightsManifest)) {
    throw new Error(`${source}: weightsManifest is missing or not an array`);
  }
  const specs: WeightSpec[] = [];
  j.weightsManifest.forEach((g, i) => {
    if (g === null || typeof g !== 'object' || !Array.isArray(g.paths) || !Array.isArray(g.weights)) {
      throw new Error(`${source}: weightsManifest[${i}] must have "paths" and "weights" arrays`);
    }
    for (const p of g.paths) {
      if (typeof p !== 'string' || p === '') {
        throw new Error(`${source}: weightsManifest[${i}].paths holds ${JSON.stringify(p)}; expected file names`);
      }
    }
    for (const w of g.weights) {
      if (w === null || typeof w !== 'object' || typeof w.name !== 'string' || !Array.isArray(w.shape)) {
        throw new Error(`${source}: weightsManifest[${i}].weights holds ${JSON.stringify(w)}; expected {name, shape, dtype}`);
      }
      specs.push(w);
    }
  });
  return specs;
}
