// sc.loadOnnx: the core's entry to ONNX import. Everything else (the protobuf reader, the
// operator conversions) is ./onnx-import.ts, loaded on first use, so the browser core stays small.

import type { LoadOnnxOptions, OnnxModel } from './onnx-import.js';

export type { LoadOnnxOptions, OnnxModel, OnnxTensorInfo } from './onnx-import.js';

/**
 * Loads an ONNX model (a Uint8Array or ArrayBuffer of the .onnx file, a path or file:// URL in
 * Node, or an http(s) URL) as a LayersModel of simdcnn layers. Its predict takes the graph's own
 * inputs (NCHW for PyTorch exports; one tensor, or an array / object keyed by input name) and
 * returns its outputs in ONNX layout; model.onnxInputs / onnxOutputs describe them. Inside, the
 * layers run NHWC with the weights converted once at load. Unsupported operators, truncated
 * files and external-data tensors are Errors saying which and where.
 */
export async function loadOnnx(source: Uint8Array | ArrayBuffer | string | URL, options: LoadOnnxOptions = {}): Promise<OnnxModel> {
  const { readOnnxModel } = await import('./onnx-import.js');
  return readOnnxModel(source, options);
}
