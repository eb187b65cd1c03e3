// loadOnnx's body, its own module so the browser build fetches it on first use (simdcnn-onnx-import.js)
// instead of putting the reader in every page's core: bytes from wherever they are, decoded
// (onnx-proto.ts), converted to our layers (onnx-convert.ts), and a model built with the weights
// written into its parameter buffer once.

import { runtime } from '../backend/runtime.js';
import { sizeOfShape } from '../layers/layer.js';
import { LayersModel } from '../model/layers-model.js';
import { convertGraph, type ConvertOptions } from './onnx-convert.js';
import { decodeModel } from './onnx-proto.js';

export interface LoadOnnxOptions extends ConvertOptions {
  /** The model's name (default: the ONNX graph's name, else 'onnx_model'). */
  name?: string;
  /** Seed of the model's generator (shuffling and dropout in a later fit). */
  seed?: number;
}

/** An input or output as the ONNX file declares it: its name and its NCHW shape, symbolic dims by name. */
export interface OnnxTensorInfo {
  name: string;
  shape: (number | string)[];
}

/**
 * A model imported from ONNX: a LayersModel whose predict takes and returns the ONNX graph's own
 * tensors (NCHW for PyTorch exports), while the layers inside run NHWC.
 */
export class OnnxModel extends LayersModel {
  /** The graph's inputs, in order, as the file declares them (with the sizes it is run at). */
  onnxInputs: OnnxTensorInfo[] = [];
  onnxOutputs: OnnxTensorInfo[] = [];
  /** producer_name and producer_version of the file (e.g. 'pytorch 1.13.1'). */
  producer = '';
  /** The default-domain opset the graph was written for. */
  opset = 0;
}

const isNode = () => typeof process !== 'undefined' && !!process.versions?.node;

/** The bytes of a Uint8Array / ArrayBuffer, an http(s) URL (fetch), or a path / file:// URL (Node). */
export async function readOnnxSource(source: unknown): Promise<{ bytes: Uint8Array; label: string }> {
  if (source instanceof Uint8Array) return { bytes: source, label: 'the given bytes' };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), label: 'the given bytes' };
  if (ArrayBuffer.isView(source)) return { bytes: new Uint8Array(source.buffer, source.byteOffset, source.byteLength), label: 'the given bytes' };
  const url = source instanceof URL ? source.href : source;
  if (typeof url !== 'string' || url === '') {
    throw new Error(`loadOnnx: source must be a Uint8Array, an ArrayBuffer, a path, a file:// URL or an http(s) URL, got ${source === null ? 'null' : typeof source}`);
  }
  if (/^https?:\/\//i.test(url)) {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`loadOnnx: fetching ${url} failed: HTTP ${res.status} ${res.statusText}`);
    return { bytes: new Uint8Array(await res.arrayBuffer()), label: url };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^file:\/\//i.test(url)) {
    throw new Error(`loadOnnx: ${url}: only http(s):// and file:// URLs (or plain paths) are supported`);
  }
  if (!isNode()) throw new Error(`loadOnnx: ${url}: reading files needs Node; in a browser pass an http(s) URL or the bytes`);
  // Not a static import: the browser build of this chunk must not reference node: modules.
  const fsName = 'node:fs/promises', urlName = 'node:url';
  const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises');
  let path = url;
  if (/^file:\/\//i.test(url)) {
    const rest = url.slice('file://'.length);
    // file:///abs is a URL; file://./rel (as tfjs-node writes it) a relative path.
    path = rest.startsWith('/') ? ((await import(/* @vite-ignore */ urlName)) as typeof import('node:url')).fileURLToPath(url) : rest;
  }
  try {
    return { bytes: new Uint8Array(await fs.readFile(path)), label: path };
  } catch (e) {
    throw new Error(`loadOnnx: cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Decodes, converts and builds; see loadOnnx (src/import/load-onnx.ts). */
export function importOnnx(bytes: Uint8Array, opts: LoadOnnxOptions = {}, label = 'the given bytes'): OnnxModel {
  if (opts === null || typeof opts !== 'object') throw new Error(`loadOnnx: options must be an object, got ${typeof opts}`);
  const proto = decodeModel(bytes);
  const opset = proto.opsets.get('') ?? 0;
  if (opset < 7 || opset > 21) {
    throw new Error(`onnx: ${label} imports default-domain opset ${opset || 'none'}; supported: 7 to 21 (PyTorch exports 9–18)`);
  }
  const c = convertGraph(proto.graph, opset, opts);
  const model = new OnnxModel({ inputs: c.inputs, outputs: c.outputs, name: opts.name ?? (proto.graph.name || 'onnx_model'), seed: opts.seed });
  try {
    model.build();
    const f32 = runtime().heap.f32, base = model.params >>> 2;
    for (const layer of model.weightLayers()) {
      const values = c.weights.get(layer);
      if (!values) {
        if (layer.weights.length) throw new Error(`onnx: internal error: layer ${layer.name} (${layer.className}) has no imported weights`);
        continue;
      }
      layer.weights.forEach((w, i) => {
        if (values[i].length !== sizeOfShape(w.shape)) throw new Error(`onnx: internal error: ${layer.name}/${w.name} holds ${values[i].length} values for shape [${w.shape}]`);
        f32.set(values[i], base + w.offset);
      });
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  model.onnxInputs = c.onnxInputs;
  model.onnxOutputs = c.onnxOutputs;
  model.producer = `${proto.producerName} ${proto.producerVersion}`.trim();
  model.opset = opset;
  return model;
}

export async function readOnnxModel(source: unknown, opts: LoadOnnxOptions = {}): Promise<OnnxModel> {
  const { bytes, label } = await readOnnxSource(source);
  try {
    return importOnnx(bytes, opts, label);
  } catch (e) {
    const msg = (e as Error).message;
    throw label === 'the given bytes' || msg.includes(label) ? e : new Error(`${msg} (reading ${label})`);
  }
}
