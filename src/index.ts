// simdcnn: CNNs on WebAssembly SIMD with the TensorFlow.js API.
export { Tensor, tensor, scalar, tensor1d, tensor2d, tensor3d, tensor4d, zeros, ones, fill, tidy, keep, dispose, memory } from './tensor.js';
export type { Shape } from './tensor.js';
export { ready, wasmVariant } from './backend/runtime.js';
export { matMul } from './ops/matmul.js';
export { measurePeakGflops } from './peak.js';
