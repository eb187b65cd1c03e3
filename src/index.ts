// simdcnn: CNNs on WebAssembly SIMD with the TensorFlow.js API.
export { Tensor, tensor, scalar, tensor1d, tensor2d, tensor3d, tensor4d, zeros, ones, fill, tidy, keep, dispose, memory } from './tensor.js';
export type { Shape } from './tensor.js';
export { ready, wasmVariant } from './backend/runtime.js';
export { measurePeakGflops } from './peak.js';
export { layers, Layer, SymbolicTensor, input } from './layers/index.js';
export { sequential, Sequential } from './model/sequential.js';
export { model, LayersModel } from './model/layers-model.js';
export type { CompileArgs, FitArgs, ModelX, ModelY } from './model/layers-model.js';
export { train, Optimizer } from './model/optimizers.js';
export { regularizers, Regularizer } from './layers/regularizers.js';
export { History } from './model/history.js';
export type { Callbacks, Logs } from './model/history.js';
export { setSeed } from './model/seed.js';
export { uint8Images } from './model/examples.js';
export { softmaxCrossEntropy, sparseSoftmaxCrossEntropy } from './ops/loss.js';
export { conv2dTranspose, convOutputSize, type Padding, type ExplicitPadding, type DimRoundingMode } from './ops/conv.js';
export { depthwiseConv2d } from './ops/depthwise.js';
// Ops that have a WebGPU implementation route through the backend seam.
export { matMul, conv2d, conv2DBackpropInput, conv2DBackpropFilter, maxPool, avgPool, relu, sigmoid, tanh, softmax } from './ops/dispatch.js';
export { setThreads, getThreads, terminateThreads } from './backend/runtime.js';
export { loadLayersModel, modelArtifacts, type IOHandler, type ModelArtifacts, type SaveResult } from './model/save-load.js';
export type { OnnxExportOptions } from './export/onnx.js';
export { createWorkerModel, WorkerModel, hostWorkerModel, type WorkerModelOptions, type WorkerFitArgs, type WorkerHistory } from './browser/worker-model.js';
export { fromMemory } from './browser/from-memory.js';
export { fetchMnist, parseImageSet, type ImageSet } from './data/mnist.js';
export { datasets } from './data/datasets.js';
export { setBackend, getBackend, backend, backendReady, type Backend, type BackendName, type BackendChoice, type WebGpuOptions } from './backend/backend.js';
export { GpuTensor } from './webgpu/gpu-tensor.js';
