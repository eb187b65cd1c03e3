// Keras/tfjs configs of the depthwise family (DepthwiseConv2D, SeparableConv2D, Conv2DTranspose)
// → our layers; deserialize.ts' buildLayer reads the fields every convolution shares and calls this.

import type { InitializerName } from '../layers/initializers.js';
import { layers } from '../layers/index.js';
import type { Layer } from '../layers/layer.js';

type Json = Record<string, unknown>;
type Common = Parameters<typeof layers.depthwiseConv2d>[0];

export const DEPTHWISE_CLASSES = ['DepthwiseConv2D', 'SeparableConv2D', 'SeparableConvolution2D', 'Conv2DTranspose', 'Convolution2DTranspose'];

/** common: the shared conv fields (kernel size, strides, padding, dilation, activation, use_bias). */
export function buildDepthwiseFamily(className: string, common: Common, cfg: Json, init: (v: unknown) => InitializerName | undefined): Layer {
  const inits: Record<string, InitializerName> = {};
  const put = (ours: string, keras: string) => { const i = init(cfg[keras]); if (i) inits[ours] = i; };
  put('biasInitializer', 'bias_initializer');
  const dm = cfg.depth_multiplier === undefined || cfg.depth_multiplier === null ? {} : { depthMultiplier: cfg.depth_multiplier as number };
  if (className === 'DepthwiseConv2D') {
    put('depthwiseInitializer', 'depthwise_initializer');
    return layers.depthwiseConv2d({ ...common, ...dm, ...inits });
  }
  if (className === 'SeparableConv2D' || className === 'SeparableConvolution2D') {
    put('depthwiseInitializer', 'depthwise_initializer');
    put('pointwiseInitializer', 'pointwise_initializer');
    return layers.separableConv2d({ ...common, ...dm, ...inits, filters: cfg.filters as number });
  }
  if (cfg.output_padding !== undefined && cfg.output_padding !== null) {
    throw new Error(`output_padding ${JSON.stringify(cfg.output_padding)} is not supported (only null)`);
  }
  put('kernelInitializer', 'kernel_initializer');
  return layers.conv2dTranspose({ ...common, ...inits, filters: cfg.filters as number });
}
