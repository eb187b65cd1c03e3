// Keras configs (snake_case) of the shape layers → our layers (called from deserialize.ts's buildLayer).

import type { Layer } from '../layers/layer.js';
import { shapeLayers } from '../layers/shape-layers.js';

type Json = Record<string, unknown>;
type Base = { name?: string; inputShape?: number[]; trainable?: boolean };

/** The Keras class names handled here. */
export const SHAPE_LAYER_CLASSES = ['GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'ZeroPadding2D', 'Cropping2D', 'UpSampling2D',
  'Reshape', 'Permute', 'Rescaling', 'SpatialDropout2D'];

const opt = <T>(v: T | undefined | null): T | undefined => (v === null ? undefined : v);

export function buildShapeLayer(className: string, cfg: Json, base: Base): Layer {
  const dataFormat = opt(cfg.data_format) as 'channelsLast' | undefined;
  switch (className) {
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D': {
      const args = { ...base, dataFormat, keepDims: (opt(cfg.keepdims) ?? opt(cfg.keep_dims)) as boolean | undefined };
      return className === 'GlobalAveragePooling2D' ? shapeLayers.globalAveragePooling2d(args) : shapeLayers.globalMaxPooling2d(args);
    }
    case 'ZeroPadding2D':
      return shapeLayers.zeroPadding2d({ ...base, dataFormat, padding: opt(cfg.padding) as number | undefined });
    case 'Cropping2D':
      return shapeLayers.cropping2D({ ...base, dataFormat, cropping: opt(cfg.cropping) as number | undefined });
    case 'UpSampling2D':
      return shapeLayers.upSampling2d({ ...base, dataFormat, size: opt(cfg.size) as number | undefined,
        interpolation: opt(cfg.interpolation) as 'nearest' | undefined, halfPixelCenters: opt(cfg.half_pixel_centers) as boolean | undefined });
    case 'Reshape':
      // tfjs writes the inferred dimension as null, Keras as -1.
      return shapeLayers.reshape({ ...base, targetShape: Array.isArray(cfg.target_shape) ? cfg.target_shape.map((d) => (d === null ? -1 : d)) : cfg.target_shape as number[] });
    case 'Permute':
      return shapeLayers.permute({ ...base, dims: cfg.dims as number[] });
    case 'Rescaling':
      return shapeLayers.rescaling({ ...base, scale: cfg.scale as number, offset: opt(cfg.offset) as number | undefined });
    case 'SpatialDropout2D':
      return shapeLayers.spatialDropout2d({ ...base, dataFormat, rate: cfg.rate as number });
    default:
      throw new Error(`internal error: ${className} is not a shape layer`);
  }
}
