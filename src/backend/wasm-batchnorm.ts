// The wasm backend's batch-normalization kernels (see kernels.ts), spread into wasmKernels.

import { runtime } from './runtime.js';
import type { Buf, BnPlan, Kernels } from './kernels.js';
import { bnAffine, bnBackward, bnCoeffs, bnGeometry, bnMovingUpdate, bnPartialBytes, bnStats, type BnGeometry } from '../ops/batchnorm.js';

const n = (b: Buf) => b as number;
const opt = (b: Buf | undefined) => (b === undefined ? 0 : (b as number));

interface WasmBnPlan extends BnPlan {
  g: BnGeometry;
  /** f64 partials of the reductions, then 3C floats of backward coefficients. */
  scratch: number;
  coef: number;
}

type BnKernelSet = Pick<Kernels, 'bnPlan' | 'bnStats' | 'bnCoeffs' | 'bnMovingUpdate' | 'bnAffine' | 'bnBackward'>;

export const wasmBatchNorm: BnKernelSet = {
  bnPlan(outer, C, inner): WasmBnPlan {
    const g = bnGeometry(outer, C, inner);
    const heap = runtime().heap;
    const pBytes = bnPartialBytes(g);
    const scratch = heap.alloc(pBytes + 3 * C * 4);
    return { outer, C, inner, g, scratch, coef: scratch + pBytes, free: () => heap.free(scratch) };
  },
  bnStats(p, x, stats) {
    const { g, scratch } = p as WasmBnPlan;
    bnStats(g, n(x), scratch, n(stats), n(stats) + g.C * 4);
  },
  bnCoeffs(C, mean, variance, gamma, beta, eps, coef) {
    bnCoeffs(C, n(mean), n(variance), opt(gamma), opt(beta), eps, n(coef), n(coef) + C * 4, n(coef) + 2 * C * 4);
  },
  bnMovingUpdate(C, batch, momentum, moving) {
    bnMovingUpdate(C, n(batch), momentum, n(moving));
  },
  bnAffine(p, act, x, coef, y) {
    const { g } = p as WasmBnPlan;
    bnAffine(g, act, n(x), n(coef) + g.C * 4, n(coef) + 2 * g.C * 4, n(y));
  },
  bnBackward(p, training, x, dy, mean, coef, gamma, dx, dgamma, dbeta) {
    const { g, scratch, coef: bw } = p as WasmBnPlan;
    bnBackward(g, training, n(x), n(dy), n(mean), n(coef), opt(gamma), scratch, bw, opt(dx), opt(dgamma), opt(dbeta));
  },
};
