// The public ops go through the backend seam: on 'wasm' (the default) these are the wasm ops
// themselves; after `await setBackend('webgpu')` they run in WGSL and return GPU tensors
// (read with `await t.data()`).

import { backend, type Backend } from '../backend/backend.js';

type Op<K extends keyof Backend> = Backend[K] extends (...args: infer A) => infer R ? (...args: A) => R : never;
const route = <K extends keyof Backend>(name: K): Op<K> =>
  ((...args: unknown[]) => (backend()[name] as (...a: unknown[]) => unknown)(...args)) as Op<K>;

export const matMul = route('matMul');
export const conv2d = route('conv2d');
export const conv2DBackpropInput = route('conv2DBackpropInput');
export const conv2DBackpropFilter = route('conv2DBackpropFilter');
export const maxPool = route('maxPool');
export const avgPool = route('avgPool');
export const relu = route('relu');
export const sigmoid = route('sigmoid');
export const tanh = route('tanh');
export const softmax = route('softmax');
