// The activation registry every layer with an `activation:` argument shares (dense, conv2d, the
// activation layer, and layers to come): names (camelCase as tfjs' API, aliases, the snake_case
// names tfjs writes to model.json), the kernel op codes behind them, which backward needs the
// forward INPUT (needsInput), and the wasm forward/backward over rows × cols.
//
// Activations run in place on a layer's output buffer where the backend allows; their backward is
// in place on the incoming gradient, dy ← dy ⊙ f'(·), from the forward OUTPUT y when f' is a
// function of y (relu, relu6, sigmoid, tanh, selu, hardSigmoid, softsign, softmax), else from the
// pre-activation x, which the layer then keeps (needsInput: elu, swish, gelu, gelu_new, mish, softplus, and
// the parametric activations of the activation layers). ReLU after conv2d/dense is fused into the
// GEMM epilogue; every other activation is a pass of its own.

import { parallelSlices } from '../backend/parallel.js';
import { runtime } from '../backend/runtime.js';
import { argError } from '../errors.js';
import { activationBackward as elementwiseBackward, activationForward as elementwiseForward, softmaxRows } from '../ops/activations.js';

export type ActivationName =
  | 'linear' | 'relu' | 'sigmoid' | 'tanh' | 'softmax'
  | 'relu6' | 'elu' | 'selu' | 'swish' | 'gelu' | 'gelu_new' | 'mish' | 'hardSigmoid' | 'softplus' | 'softsign';
export const ACTIVATIONS: readonly ActivationName[] = [
  'linear', 'relu', 'sigmoid', 'tanh', 'softmax', 'relu6', 'elu', 'selu', 'swish', 'gelu', 'gelu_new', 'mish', 'hardSigmoid', 'softplus', 'softsign',
];
/** Other spellings accepted (tfjs' snake_case file names, Keras' aliases) → our name. */
const ALIASES: Record<string, ActivationName> = {
  silu: 'swish', geluNew: 'gelu_new', hard_sigmoid: 'hardSigmoid', hardsigmoid: 'hardSigmoid', soft_plus: 'softplus', soft_sign: 'softsign',
};

/** The name tfjs writes to model.json for an activation (its className, snake_cased). */
export function activationJson(a: ActivationName): string {
  return a === 'hardSigmoid' ? 'hard_sigmoid' : a;
}

/** A parametric activation of the activation layers (src/layers/activation-layers.ts). */
export type ParamActivation =
  | { op: 'elu'; alpha: number }
  | { op: 'leakyRelu'; alpha: number }
  /** Keras' ReLU: maxValue if x ≥ maxValue, x if x ≥ threshold, negativeSlope·(x − threshold) otherwise. */
  | { op: 'reluX'; negativeSlope: number; maxValue: number; threshold: number }
  /** x if x > theta, else 0 (x·0). */
  | { op: 'thresholdedRelu'; theta: number }
  /** Softmax over a middle axis: rows = outer, cols = the axis length, inner = the product of the axes after it. */
  | { op: 'softmaxAxis'; inner: number };
/** What a kernel applies: a named activation or a parametric one. */
export type KernelAct = ActivationName | ParamActivation;

/** Op codes shared by assembly/activations.ts (actForwardP) and the WGSL kernels (ACT). */
export const ACT_CODE = {
  linear: 0, relu: 1, sigmoid: 2, tanh: 3, relu6: 4, elu: 5, selu: 6, swish: 7, gelu: 8, mish: 9,
  hardSigmoid: 10, softplus: 11, softsign: 12, leakyRelu: 13, reluX: 14, thresholdedRelu: 15, gelu_new: 16,
} as const;

/** An elementwise activation as (code, a, b, c) for the kernels; undefined for softmax. */
export interface ActOp { code: number; a: number; b: number; c: number }
export function actOp(act: KernelAct): ActOp | undefined {
  if (typeof act === 'string') {
    if (act === 'softmax') return undefined;
    return { code: ACT_CODE[act], a: act === 'elu' ? 1 : 0, b: 0, c: 0 };
  }
  switch (act.op) {
    case 'elu': return { code: ACT_CODE.elu, a: act.alpha, b: 0, c: 0 };
    case 'leakyRelu': return { code: ACT_CODE.leakyRelu, a: act.alpha, b: 0, c: 0 };
    case 'reluX': return { code: ACT_CODE.reluX, a: act.negativeSlope, b: act.maxValue, c: act.threshold };
    case 'thresholdedRelu': return { code: ACT_CODE.thresholdedRelu, a: act.theta, b: 0, c: 0 };
    case 'softmaxAxis': return undefined;
  }
}

/** Whether act's backward needs the forward input x (f' is not a function of y alone). */
export function needsInput(act: KernelAct): boolean {
  if (typeof act !== 'string') return act.op !== 'softmaxAxis';
  return act === 'elu' || act === 'swish' || act === 'gelu' || act === 'gelu_new' || act === 'mish' || act === 'softplus';
}

/** Whether a layer with this activation runs it as a pass of its own (not fused into its GEMM: ReLU is). */
export function separatePass(act: ActivationName): boolean {
  return act !== 'relu' && act !== 'linear';
}

const valid = () => `one of ${ACTIVATIONS.map((a) => `'${a}'`).join(', ')} (or 'silu', 'hard_sigmoid')`;

/** Resolves an activation argument (camelCase, snake_case or alias); undefined/null → 'linear'. */
export function checkActivation(layer: string, v: unknown): ActivationName {
  if (v === undefined || v === null) return 'linear';
  if (typeof v === 'string') {
    if ((ACTIVATIONS as readonly string[]).includes(v)) return v as ActivationName;
    if (Object.prototype.hasOwnProperty.call(ALIASES, v)) return ALIASES[v];
  }
  throw argError(layer, 'activation', v, valid());
}
export const activationChoices = valid;

/** Elementwise kernels are memory-bound: split only large arrays, in 64-byte-aligned slices. */
const PARALLEL_MIN_ELEMENTS = 1 << 17;

interface ParamKernels {
  actForwardP(op: number, n: number, x: number, y: number, a: number, b: number, c: number): void;
  actBackwardP(op: number, n: number, s: number, dy: number, dx: number, a: number, b: number, c: number): void;
  softmaxStrided(outer: number, len: number, inner: number, x: number, y: number): void;
  softmaxStridedBackward(outer: number, len: number, inner: number, y: number, dy: number, dx: number): void;
}
const pk = () => runtime().kernels as unknown as ParamKernels;

/** y = op(x) over n floats (parametric family of assembly/activations.ts), split over threads. */
export function actForwardP(o: ActOp, n: number, x: number, y: number): void {
  parallelSlices(n, PARALLEL_MIN_ELEMENTS, 16, (i, c) => ['actForwardP', o.code, c, x + i * 4, y + i * 4, o.a, o.b, o.c] as const, pk().actForwardP);
}
/** dx = dy · op'(s) over n floats, s = y or x (see needsInput). dx may equal dy. */
export function actBackwardP(o: ActOp, n: number, s: number, dy: number, dx: number): void {
  parallelSlices(n, PARALLEL_MIN_ELEMENTS, 16, (i, c) => ['actBackwardP', o.code, c, s + i * 4, dy + i * 4, dx + i * 4, o.a, o.b, o.c] as const, pk().actBackwardP);
}

/** y ← f(x) over rows × cols (x may equal y). Softmax is over each row (softmaxAxis: rows × cols × inner). */
export function activationForward(act: KernelAct, rows: number, cols: number, x: number, y: number): void {
  if (act === 'softmax') return softmaxRows(rows, cols, x, y);
  if (typeof act !== 'string' && act.op === 'softmaxAxis') return pk().softmaxStrided(rows, cols, act.inner, x, y);
  if (act === 'linear' || act === 'relu' || act === 'sigmoid' || act === 'tanh') return elementwiseForward(act, rows * cols, x, y);
  actForwardP(actOp(act)!, rows * cols, x, y);
}

/**
 * dx ← dy ⊙ f'(·) (dx may equal dy), from the forward output y, or from the forward input x where
 * needsInput(act) (then x must be given). Softmax uses its Jacobian: dx = y ⊙ (dy − Σ dy·y) per row.
 */
export function activationBackward(act: KernelAct, rows: number, cols: number, y: number, dy: number, dx: number, x?: number): void {
  if (act === 'linear' || act === 'relu' || act === 'sigmoid' || act === 'tanh') return elementwiseBackward(act, rows * cols, y, dy, dx);
  if (typeof act !== 'string' && act.op === 'softmaxAxis') return pk().softmaxStridedBackward(rows, cols, act.inner, y, dy, dx);
  if (act !== 'softmax') {
    if (needsInput(act) && x === undefined) throw new Error(`activation ${JSON.stringify(act)}: internal error: its backward needs the forward input x`);
    actBackwardP(actOp(act)!, rows * cols, needsInput(act) ? x! : y, dy, dx);
    return;
  }
  // Only reached for a softmax that is not fused into the loss (mid-network, or under MSE).
  const f = runtime().heap.f32;
  for (let r = 0; r < rows; r++) {
    const yo = (y >>> 2) + r * cols, go = (dy >>> 2) + r * cols, xo = (dx >>> 2) + r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += f[go + j] * f[yo + j];
    for (let j = 0; j < cols; j++) f[xo + j] = f[yo + j] * (f[go + j] - dot);
  }
}
