// Keras/tfjs weight and activity regularizers: L1, L2 and L1L2 (tf.regularizers.l1({l1}),
// l2({l2}), l1l2({l1, l2}); the names 'l1', 'l2', 'l1l2' take Keras' default 0.01). The penalty
// l1·Σ|w| + l2·Σw² is added to the training loss (and reported in it, as Keras does); an activity
// regularizer's penalty on a layer's output is divided by the batch size (Keras 2).

import { argError } from '../errors.js';

export class Regularizer {
  readonly className = 'L1L2';
  constructor(readonly l1: number, readonly l2: number) {}
  getConfig(): { l1: number; l2: number } {
    return { l1: this.l1, l2: this.l2 };
  }
  /** model.json form, as tfjs writes it. */
  toJSON(): { class_name: string; config: { l1: number; l2: number } } {
    return { class_name: this.className, config: this.getConfig() };
  }
}

function coef(op: string, arg: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw argError(op, arg, v, 'a finite number ≥ 0');
  return v;
}

export const regularizers = {
  l1: (args: { l1?: number } = {}) => new Regularizer(coef('regularizers.l1', 'l1', args?.l1, 0.01), 0),
  l2: (args: { l2?: number } = {}) => new Regularizer(0, coef('regularizers.l2', 'l2', args?.l2, 0.01)),
  l1l2: (args: { l1?: number; l2?: number } = {}) =>
    new Regularizer(coef('regularizers.l1l2', 'l1', args?.l1, 0.01), coef('regularizers.l1l2', 'l2', args?.l2, 0.01)),
};

export type RegularizerArg = Regularizer | 'l1' | 'l2' | 'l1l2' | null | undefined;

/** A layer argument (a Regularizer, a name, or a Keras/tfjs config object) as a Regularizer, or undefined. */
export function resolveRegularizer(layer: string, arg: string, v: unknown): Regularizer | undefined {
  if (v === undefined || v === null) return undefined;
  if (v instanceof Regularizer) return v;
  if (v === 'l1' || v === 'l2' || v === 'l1l2') return regularizers[v]();
  if (typeof v === 'object' && typeof (v as { class_name?: unknown }).class_name === 'string') {
    const { class_name: cls, config } = v as { class_name: string; config?: { l1?: number; l2?: number } };
    const c = config ?? {};
    if (cls === 'L1L2') return new Regularizer(coef(layer, `${arg}.l1`, c.l1, 0), coef(layer, `${arg}.l2`, c.l2, 0));
    if (cls === 'L1') return new Regularizer(coef(layer, `${arg}.l1`, c.l1, 0.01), 0);
    if (cls === 'L2') return new Regularizer(0, coef(layer, `${arg}.l2`, c.l2, 0.01));
  }
  throw argError(layer, arg, v, "sc.regularizers.l1({l1}), l2({l2}) or l1l2({l1, l2}), or 'l1' | 'l2' | 'l1l2'");
}

/** The config entry for model.json (null when none, as tfjs writes it). */
export const regularizerJson = (r: Regularizer | undefined) => (r ? r.toJSON() : null);
