// The wasm backend's depthwise and convolution-gradient kernels (see kernels.ts), spread into
// wasmKernels: buffers are heap byte addresses, every call runs now (src/ops/depthwise.ts splits
// them over the threads).

import type { Buf, ConvPlan, DepthwisePlan, Kernels } from './kernels.js';
import { depthwiseBackward, depthwiseForward, planDepthwise, type DepthwiseSlices } from '../ops/depthwise.js';
import { conv2dBackpropFilter, conv2dBackpropInput } from '../ops/conv.js';
import { convBackwardFused, type ConvSlices } from '../ops/conv-fused.js';

const n = (b: Buf) => b as number;
const opt = (b: Buf | undefined) => (b === undefined ? 0 : (b as number));

interface WasmDepthwisePlan extends DepthwisePlan {
  s: DepthwiseSlices;
}
/** wasm-kernels.ts' conv plan: the direct passes' slices, none when the col matrix is x itself. */
type WasmConvPlan = ConvPlan & { slices?: ConvSlices };

export const wasmDepthwiseKernels: Pick<Kernels, 'depthwisePlan' | 'depthwiseForward' | 'depthwiseBackward' | 'convInputGrad' | 'convFilterGrad'> = {
  depthwisePlan(g, training): WasmDepthwisePlan {
    const s = planDepthwise(g, training);
    return { g, s, free: () => s.free() };
  },
  depthwiseForward(p, x, w, bias, y, act) {
    const { g, s } = p as WasmDepthwisePlan;
    depthwiseForward(g, s, n(x), n(w), opt(bias), n(y), act);
  },
  depthwiseBackward(p, x, w, y, dy, act, dx, dw, db) {
    const { g, s } = p as WasmDepthwisePlan;
    depthwiseBackward(g, s, n(x), n(w), n(y), n(dy), act, opt(dx), n(dw), opt(db));
  },
  convInputGrad(p, dy, w, dx) {
    const { g, slices } = p as WasmConvPlan;
    if (slices) convBackwardFused(g, slices, 0, n(w), 0, n(dy), false, n(dx), 0, 0);
    else conv2dBackpropInput(g, n(dy), n(w), n(dx), 0);
  },
  convFilterGrad(p, x, dy, dw) {
    const { g, slices } = p as WasmConvPlan;
    if (slices) convBackwardFused(g, slices, n(x), 0, 0, n(dy), false, 0, n(dw), 0);
    else conv2dBackpropFilter(g, n(x), n(dy), n(dw), 0);
  },
};
