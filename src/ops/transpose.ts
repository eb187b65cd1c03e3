// tf.transpose over the shape kernels' strided copy: the output is walked in order and each value
// read through the input's permuted strides, so one kernel covers every permutation (up to six axes).

import { argError } from '../errors.js';
import { allocTensor, Tensor } from '../tensor.js';
import { STRIDED_COPY_RANK, stridedCopy } from './shape.js';

const stridesOf = (shape: number[]) => {
  const s = new Array<number>(shape.length);
  for (let k = shape.length - 1, acc = 1; k >= 0; acc *= shape[k]!, k--) s[k] = acc;
  return s;
};

/**
 * tf.transpose(x, perm?): output axis k is input axis perm[k] (default: the axes reversed).
 * E.g. NHWC → NCHW is transpose(x, [0, 3, 1, 2]). Rank 0 to 6.
 */
export function transpose(x: Tensor, perm?: number[]): Tensor {
  if (!(x instanceof Tensor)) throw argError('transpose', 'x', x, 'a Tensor');
  x.check('transpose');
  const rank = x.rank;
  if (rank > STRIDED_COPY_RANK) throw argError('transpose', 'x', x, `a tensor of rank at most ${STRIDED_COPY_RANK}`);
  const p = perm ?? Array.from({ length: rank }, (_, k) => rank - 1 - k);
  const isPerm = Array.isArray(p) && p.length === rank && p.every((a) => Number.isInteger(a) && a >= 0 && a < rank) && new Set(p).size === rank;
  if (!isPerm) throw argError('transpose', 'perm', perm, `a permutation of [${Array.from({ length: rank }, (_, k) => k)}] (one entry per axis of x, shape [${x.shape}])`);
  const outShape = p.map((a) => x.shape[a]!);
  const out = allocTensor(outShape);
  if (rank === 0) {
    stridedCopy([1], x.ptr, [0], out.ptr, [0]);
    return out;
  }
  const inStrides = stridesOf(x.shape);
  stridedCopy(outShape, x.ptr, p.map((a) => inStrides[a]!), out.ptr, stridesOf(outShape));
  return out;
}
