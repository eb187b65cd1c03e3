// simdcnn: CNNs on WebAssembly SIMD with the TensorFlow.js API.
export { Tensor, tensor, scalar, tensor1d, tensor2d, tensor3d, tensor4d, zeros, ones, fill, tidy, keep, dispose, memory } from './tensor.js';
export type { Shape } from './tensor.js';
export { ready, wasmVariant } from './backend/runtime.js';
export { matMul } from './ops/matmul.js';
export { measurePeakGflops } from './peak.js';
export { maxPool, avgPool } from './ops/pool.js';
export { relu, sigmoid, tanh, softmax } from './ops/activations.js';
export { layers, Layer } from './layers/index.js';
export { sequential, Sequential } from './model/sequential.js';
export type { CompileArgs, FitArgs } from './model/sequential.js';
export { train, Optimizer } from './model/optimizers.js';
export { History } from './model/history.js';
export type { Callbacks, Logs } from './model/history.js';
export { setSeed } from './model/seed.js';
export { uint8Images } from './model/examples.js';
export { softmaxCrossEntropy, sparseSoftmaxCrossEntropy } from './ops/loss.js';
export { conv2d, conv2DBackpropInput, conv2DBackpropFilter, conv2dTranspose, convOutputSize, type Padding, type ExplicitPadding, type DimRoundingMode } from './ops/conv.js';
export { setThreads, getThreads, terminateThreads } from './backend/runtime.js';
