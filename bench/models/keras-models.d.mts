// Types of keras-models.mjs for the TypeScript tests that import it (test/helpers/mobilenetv2-tfjs.ts).
import type * as TF from '@tensorflow/tfjs';

export function mobileNetV2(tf: typeof TF, opts?: { alpha?: number; size?: number; classes?: number }): TF.LayersModel;
export function resNet50(tf: typeof TF, opts?: { size?: number; classes?: number }): TF.LayersModel;
export function resNet20(tf: typeof TF, opts?: { size?: number; classes?: number }): TF.LayersModel;
export function notesCnn(tf: typeof TF): TF.Sequential;
export function randomizeBatchNorms(tf: typeof TF, m: TF.LayersModel, seed?: number): void;
export function forwardFlops(m: TF.LayersModel): number;
export function saveTfjsModel(tf: typeof TF, model: TF.LayersModel, dir: string): Promise<{ modelJson: string; weightsBin: string; weightBytes: number }>;
export function loadTfjsModel(tf: typeof TF, dir: string): Promise<TF.LayersModel>;
