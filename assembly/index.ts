// The module's exports: pointer-only kernels, grouped by family in the files below.
export * from './module';
export * from './gemm';
export * from './peak';
export * from './im2col';
export * from './pool';
export * from './activations';
export * from './loss';
export * from './optim';
export * from './conv';
export * from './convert';
export * from './merge';
export * from './batchnorm';
export * from './shape';
export * from './depthwise';
export * from './regularize';
