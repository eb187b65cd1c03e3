// tfjs-style factories of the shape layers (spread into `layers` by index.ts), tfjs' names.

import { GlobalAveragePooling2D, GlobalMaxPooling2D, type GlobalPooling2DArgs } from './global-pooling.js';
import { Cropping2D, ZeroPadding2D, type Cropping2DArgs, type ZeroPadding2DArgs } from './padding.js';
import { Rescaling, SpatialDropout2D, type RescalingArgs, type SpatialDropout2DArgs } from './preprocessing.js';
import { Permute, Reshape, type PermuteArgs, type ReshapeArgs } from './reshape.js';
import { UpSampling2D, type UpSampling2DArgs } from './upsampling.js';

export const shapeLayers = {
  globalAveragePooling2d: (args: GlobalPooling2DArgs = {}) => new GlobalAveragePooling2D(args),
  globalMaxPooling2d: (args: GlobalPooling2DArgs = {}) => new GlobalMaxPooling2D(args),
  zeroPadding2d: (args: ZeroPadding2DArgs = {}) => new ZeroPadding2D(args),
  /** tfjs spells it cropping2D. */
  cropping2D: (args: Cropping2DArgs = {}) => new Cropping2D(args),
  cropping2d: (args: Cropping2DArgs = {}) => new Cropping2D(args),
  upSampling2d: (args: UpSampling2DArgs = {}) => new UpSampling2D(args),
  reshape: (args: ReshapeArgs) => new Reshape(args),
  permute: (args: PermuteArgs) => new Permute(args),
  rescaling: (args: RescalingArgs) => new Rescaling(args),
  spatialDropout2d: (args: SpatialDropout2DArgs) => new SpatialDropout2D(args),
};

export { GlobalAveragePooling2D, GlobalMaxPooling2D, ZeroPadding2D, Cropping2D, UpSampling2D, Reshape, Permute, Rescaling, SpatialDropout2D };
