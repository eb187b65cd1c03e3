// BatchNormalization from a tfjs/Keras layer config (snake_case), for deserialize.ts buildLayer.

import { BatchNormalization } from '../layers/batch-norm.js';
import type { BaseLayerArgs } from '../layers/layer.js';
import type { InitializerName } from '../layers/initializers.js';

type Json = Record<string, unknown>;

export function buildBatchNorm(cfg: Json, base: BaseLayerArgs, initializer: (v: unknown) => InitializerName | undefined): BatchNormalization {
  const opt = (v: unknown) => (v === null ? undefined : v);
  // Keras 3 may write the axis as a one-element list.
  const axis = Array.isArray(cfg.axis) && cfg.axis.length === 1 ? cfg.axis[0] : opt(cfg.axis);
  const args: Json = { ...base, axis, momentum: opt(cfg.momentum), epsilon: opt(cfg.epsilon), center: opt(cfg.center), scale: opt(cfg.scale) };
  for (const [key, json] of [['betaInitializer', 'beta_initializer'], ['gammaInitializer', 'gamma_initializer'],
    ['movingMeanInitializer', 'moving_mean_initializer'], ['movingVarianceInitializer', 'moving_variance_initializer']] as const) {
    const init = initializer(cfg[json]);
    if (init) args[key] = init;
  }
  if (cfg.renorm === true) throw new Error('renorm: true is not supported (batch renormalization)');
  if (cfg.synchronized === true) throw new Error('synchronized: true is not supported');
  for (const k of ['beta_regularizer', 'gamma_regularizer', 'beta_constraint', 'gamma_constraint'] as const) {
    if (cfg[k] !== undefined && cfg[k] !== null) throw new Error(`${k} is not supported (got ${JSON.stringify(cfg[k])})`);
  }
  return new BatchNormalization(args as never);
}
