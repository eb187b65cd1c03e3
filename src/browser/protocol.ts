// Messages between a WorkerModel (page side) and its worker (worker-host.ts). Data crosses as
// plain typed arrays; the model itself only ever lives in the worker.

/** Examples as they cross: uint8 images (normalized per batch in the worker) or float32 values. */
export type WireX =
  | { kind: 'uint8'; data: Uint8Array; sampleShape: number[]; scale: number }
  | { kind: 'float32'; data: Float32Array; shape: number[] };
export type WireY = { kind: 'labels'; data: Float32Array } | { kind: 'float32'; data: Float32Array; shape: number[] };

export interface WireArray {
  name: string;
  shape: number[];
  data: Float32Array;
  className?: string;
}

export type CallbackName = 'onTrainBegin' | 'onTrainEnd' | 'onEpochBegin' | 'onEpochEnd' | 'onBatchBegin' | 'onBatchEnd';

export interface Request {
  id: number;
  op: string;
  args: Record<string, unknown>;
}

export type Reply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string };

export interface Event {
  event: CallbackName | 'hostReady' | 'warn';
  /** Which fit() call (its request id) the callback belongs to. */
  fit?: number;
  args?: unknown[];
  message?: string;
}
