// Every WGSL kernel, compiled together when a device is acquired (a shader that fails to compile
// is then an Error from setBackend, never a silent wrong result later).
import { gemm } from './gemm.js';
import { im2col, col2im } from './conv.js';
import { maxPoolForward, maxPoolBackward, avgPoolForward, avgPoolBackward } from './pool.js';
import { actForward, actBackward, mulMask, mulMaskInPlace, softmaxRows, softmaxBackward, biasGrad, softmaxStrided, softmaxStridedBackward } from './elementwise.js';
import { batchLoss, finishMetrics } from './loss.js';
import { sgdStep, momentumStep, adamStep } from './optim.js';
import { MERGE_KERNELS } from './merge.js';
import { DEPTHWISE_KERNELS } from './depthwise.js';
import { SHAPE_KERNELS } from './shape.js';
import { regularize } from './regularize.js';
import { BATCHNORM_KERNELS } from './batchnorm.js';

export const KERNELS = {
  gemm, im2col, col2im, maxPoolForward, maxPoolBackward, avgPoolForward, avgPoolBackward,
  actForward, actBackward, mulMask, mulMaskInPlace, softmaxRows, softmaxBackward, biasGrad, softmaxStrided, softmaxStridedBackward,
  batchLoss, finishMetrics, sgdStep, momentumStep, adamStep, ...MERGE_KERNELS, ...DEPTHWISE_KERNELS, ...SHAPE_KERNELS, regularize,
  ...BATCHNORM_KERNELS,
};
export type KernelName = keyof typeof KERNELS;
