// Keras' MobileNetV2 built with TensorFlow.js' layers API: the builder lives with the benchmark's
// other real models (bench/models/keras-models.mjs) so the benchmarks and the tests run one network.
export { mobileNetV2, randomizeBatchNorms } from '../../bench/models/keras-models.mjs';
