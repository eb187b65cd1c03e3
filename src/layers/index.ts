// tf.layers: factories with tfjs' names, taking tfjs' (camelCase) config objects.

import { Conv2D, type Conv2DArgs } from './conv2d.js';
import { Dense, type DenseArgs } from './dense.js';
import { AveragePooling2D, MaxPooling2D, type Pooling2DArgs } from './pooling.js';
import { Activation, Dropout, Flatten } from './reshaping.js';
import type { BaseLayerArgs } from './layer.js';
import type { ActivationName } from './activation-fns.js';
import { InputLayer, type InputArgs } from './input.js';
import { Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, mergeLayers } from './merge.js';
import { shapeLayers } from './shape-layers.js';
import { activationLayers } from './activation-layers.js';
import {
  Conv2DTranspose, DepthwiseConv2D, SeparableConv2D, type Conv2DTransposeArgs, type DepthwiseConv2DArgs, type SeparableConv2DArgs,
} from './depthwise.js';
import { BatchNormalization, type BatchNormalizationArgs } from './batch-norm.js';

export const layers = {
  conv2d: (args: Conv2DArgs) => new Conv2D(args),
  dense: (args: DenseArgs) => new Dense(args),
  maxPooling2d: (args: Pooling2DArgs = {}) => new MaxPooling2D(args),
  maxPool2d: (args: Pooling2DArgs = {}) => new MaxPooling2D(args),
  averagePooling2d: (args: Pooling2DArgs = {}) => new AveragePooling2D(args),
  avgPool2d: (args: Pooling2DArgs = {}) => new AveragePooling2D(args),
  flatten: (args: BaseLayerArgs = {}) => new Flatten(args),
  dropout: (args: BaseLayerArgs & { rate: number }) => new Dropout(args),
  activation: (args: BaseLayerArgs & { activation: ActivationName }) => new Activation(args),
  inputLayer: (args: InputArgs) => new InputLayer(args),
  depthwiseConv2d: (args: DepthwiseConv2DArgs) => new DepthwiseConv2D(args),
  separableConv2d: (args: SeparableConv2DArgs) => new SeparableConv2D(args),
  conv2dTranspose: (args: Conv2DTransposeArgs) => new Conv2DTranspose(args),
  batchNormalization: (args: BatchNormalizationArgs = {}) => new BatchNormalization(args),
  ...mergeLayers,
  ...shapeLayers,
  ...activationLayers,
};

export { Layer, SymbolicTensor } from './layer.js';
export { InputLayer, input } from './input.js';
export { Conv2D, Dense, MaxPooling2D, AveragePooling2D, Flatten, Dropout, Activation };
export { Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate };
export { ReLU, LeakyReLU, PReLU, ELU, ThresholdedReLU, Softmax } from './activation-layers.js';
export {
  GlobalAveragePooling2D, GlobalMaxPooling2D, ZeroPadding2D, Cropping2D, UpSampling2D, Reshape, Permute, Rescaling, SpatialDropout2D,
} from './shape-layers.js';
export { DepthwiseConv2D, SeparableConv2D, Conv2DTranspose };
export { BatchNormalization };
