// Everything the WebGPU backend adds, behind one dynamic import: pages and servers that never ask
// for WebGPU don't download or parse it (the browser build splits it into its own chunk).
import type { Backend } from '../backend/backend.js';
import type { GpuContext } from './context.js';
import * as gpu from './ops.js';

export { GpuContext } from './context.js';
export * as ops from './ops.js';
export { runnerFor, disposeRunner } from './model-runner.js';

/** The Backend whose ops run on ctx's device (setBackend('webgpu'|'auto')). */
export function webgpuBackend(ctx: GpuContext): Backend {
  return {
    name: 'webgpu',
    description: ctx.description,
    matMul: (a, b, ta, tb) => gpu.matMul(ctx, a, b, ta, tb),
    conv2d: (x, f, s, p, df, d, r) => gpu.conv2d(ctx, x, f, s, p, df, d, r),
    conv2DBackpropInput: (xs, dy, f, s, p, df, r) => gpu.conv2DBackpropInput(ctx, xs, dy, f, s, p, df, r),
    conv2DBackpropFilter: (x, dy, fs, s, p, df, r) => gpu.conv2DBackpropFilter(ctx, x, dy, fs, s, p, df, r),
    maxPool: (x, f, s, p, r) => gpu.maxPool(ctx, x, f, s, p, r),
    avgPool: (x, f, s, p, r) => gpu.avgPool(ctx, x, f, s, p, r),
    relu: (x) => gpu.relu(ctx, x),
    sigmoid: (x) => gpu.sigmoid(ctx, x),
    tanh: (x) => gpu.tanh(ctx, x),
    softmax: (x, dim) => gpu.softmax(ctx, x, dim),
    upload: (t) => gpu.upload(ctx, t),
  };
}
