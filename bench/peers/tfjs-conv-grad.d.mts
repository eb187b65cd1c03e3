// Types of tfjs-conv-grad.mjs for the TypeScript tests that import it (test/bench.keras-models.test.ts).
import type * as TF from '@tensorflow/tfjs';

export function registerConv2DBackpropFilter(tf: typeof TF, backendName?: string): TF.KernelConfig;
export function checkAgainstCpu(tf: typeof TF): Promise<number>;
export function registerDepthwiseGrads(tf: typeof TF, backendName?: string): TF.KernelConfig[];
export function checkDepthwiseAgainstCpu(tf: typeof TF): Promise<number>;
