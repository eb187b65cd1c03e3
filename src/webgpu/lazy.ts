// Everything the WebGPU backend adds, behind one dynamic import: pages and servers that never ask
// for WebGPU don't download or parse it (the browser build splits it into its own chunk).
export { GpuContext } from './context.js';
export * as ops from './ops.js';
export { runnerFor, disposeRunner } from './model-runner.js';
