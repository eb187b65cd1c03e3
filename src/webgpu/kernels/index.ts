// Every WGSL kernel, compiled together when a device is acquired (a shader that fails to compile
// is then an Error from setBackend, never a silent wrong result later).
import { gemm } from './gemm.js';
import { im2col, col2im } from './conv.js';
import { maxPoolForward, maxPoolBackward, avgPoolForward, avgPoolBackward } from './pool.js';
import { actForward, actBackward, mulMask, mulMaskInPlace, softmaxRows, softmaxBackward, biasGrad } from './elementwise.js';
import { batchLoss, finishMetrics } from './loss.js';
import { sgdStep, momentumStep, adamStep } from './optim.js';
import { MERGE_KERNELS } from './merge.js';

export const KERNELS = {
  gemm, im2col, col2im, maxPoolForward, maxPoolBackward, avgPoolForward, avgPoolBackward,
  actForward, actBackward, mulMask, mulMaskInPlace, softmaxRows, softmaxBackward, biasGrad,
  batchLoss, finishMetrics, sgdStep, momentumStep, adamStep, ...MERGE_KERNELS,
};
export type KernelName = keyof typeof KERNELS;
