// The worker side of createWorkerModel: owns the model, runs its ops when asked and streams fit()
// callbacks back as events. Loaded in the worker by importing the library's own module (see
// worker-model.ts), so it shares the page's build and finds the wasm the same way.
import { getThreads, ready, setThreads, threadPool, wasmVariant } from '../backend/runtime.js';
import { setBackend, type BackendChoice } from '../backend/backend.js';
import { uint8Images, type XInput, type YInput } from '../model/examples.js';
import { loadLayersModel, modelArtifacts } from '../model/save-load.js';
import { setSeed } from '../model/seed.js';
import type { LayersModel } from '../model/layers-model.js';
import type { Callbacks } from '../model/history.js';
import { tensor, type Tensor } from '../tensor.js';
import { fromMemory } from './from-memory.js';
import type { CallbackName, Request, WireArray, WireX, WireY } from './protocol.js';

export interface HostScope {
  postMessage(msg: unknown, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent) => unknown) | null;
}

function toX(x: WireX): XInput {
  return x.kind === 'uint8' ? uint8Images(x.data, x.sampleShape, x.scale) : tensor(x.data, x.shape);
}
function toY(y: WireY): YInput {
  return y.kind === 'labels' ? y.data : tensor(y.data, y.shape);
}
function free(...v: unknown[]): void {
  for (const t of v) if (t && typeof (t as Tensor).dispose === 'function') (t as Tensor).dispose();
}

const CALLBACKS: CallbackName[] = ['onTrainBegin', 'onTrainEnd', 'onEpochBegin', 'onEpochEnd', 'onBatchBegin', 'onBatchEnd'];

/** Serves one model in this worker. Called by the worker-model bootstrap; not for direct use. */
export function hostWorkerModel(scope: HostScope = globalThis as unknown as HostScope): void {
  let model: LayersModel | undefined;
  const need = (op: string): LayersModel => {
    if (!model) throw new Error(`${op}: the worker has no model (internal error: load first)`);
    return model;
  };
  const ops: Record<string, (a: any, id: number) => Promise<unknown> | unknown> = {
    async init(a: { threads?: number; isolated: boolean; backend: BackendChoice }) {
      await ready();
      const backend = await setBackend(a.backend);
      // Without cross-origin isolation the page has warned once; stay quietly on one thread.
      if (!a.isolated) setThreads(1);
      else if (a.threads !== undefined) setThreads(a.threads);
      await threadPool()?.started();
      return { variant: wasmVariant(), threads: getThreads(), backend };
    },
    async load(a: { modelJson: any; weightData: ArrayBuffer; seed?: number; compile: boolean }) {
      model?.dispose();
      if (a.seed !== undefined) setSeed(a.seed);
      model = await loadLayersModel(fromMemory(a.modelJson, a.weightData), { compile: a.compile });
      setSeed(undefined);
      return { inputShape: model.inputShape, outputShape: model.outputShape, params: model.countParams(), layers: model.layers.map((l) => ({ name: l.name, className: l.className, outShape: l.outShape })) };
    },
    async compile(a: { optimizer: string | { class_name: string; config: unknown }; loss: string; metrics?: string[] }) {
      // The reader of optimizer configs lives with the model reader (its own lazily loaded chunk).
      const optimizer = typeof a.optimizer === 'string' ? a.optimizer : (await import('../model/load.js')).optimizerFromConfig(a.optimizer);
      if (typeof a.optimizer !== 'string' && typeof optimizer === 'string') throw new Error(`compile: ${optimizer}`);
      need('compile').compile({ optimizer, loss: a.loss, metrics: a.metrics });
    },
    async fit(a: { x: WireX; y: WireY; validationData?: [WireX, WireY]; args: Record<string, unknown>; callbacks: CallbackName[] }, id: number) {
      const m = need('fit');
      const callbacks: Callbacks = {};
      for (const name of a.callbacks) {
        if (!CALLBACKS.includes(name)) continue;
        (callbacks as Record<string, unknown>)[name] = (...args: unknown[]) => scope.postMessage({ event: name, fit: id, args });
      }
      const x = toX(a.x), y = toY(a.y);
      const val = a.validationData ? [toX(a.validationData[0]), toY(a.validationData[1])] as [XInput, YInput] : undefined;
      try {
        const h = await m.fit(x, y, { ...a.args, ...(val ? { validationData: val } : {}), callbacks });
        return { epoch: h.epoch, history: h.history, params: h.params };
      } finally {
        free(x, y, ...(val ?? []));
      }
    },
    stop() {
      if (model) model.stopTraining = true;
    },
    evaluate(a: { x: WireX; y: WireY; batchSize?: number }) {
      const x = toX(a.x), y = toY(a.y);
      try {
        const r = need('evaluate').evaluate(x, y, { batchSize: a.batchSize });
        const list = Array.isArray(r) ? r : [r];
        const nums = list.map((t) => t.dataSync()[0]);
        free(...list);
        return nums;
      } finally {
        free(x, y);
      }
    },
    predict(a: { x: WireX; batchSize?: number }) {
      const x = toX(a.x);
      try {
        const out = need('predict').predict(x, { batchSize: a.batchSize }) as Tensor;
        const r = { shape: out.shape.slice(), data: out.dataSync() };
        out.dispose();
        return r;
      } finally {
        free(x);
      }
    },
    predictLayers(a: { x: WireX }) {
      const m = need('predictLayers');
      const x = toX(a.x);
      try {
        return m.predictLayers(x).map((t, i): WireArray => {
          const r = { name: m.layers[i].name, className: m.layers[i].className, shape: t.shape.slice(), data: t.dataSync() };
          t.dispose();
          return r;
        });
      } finally {
        free(x);
      }
    },
    getWeights(): WireArray[] {
      return need('getWeights').weightValues();
    },
    save() {
      const { modelJson, weightData } = modelArtifacts(need('save'));
      return { modelJson, weightData };
    },
    summary() {
      const lines: string[] = [];
      need('summary').summary(undefined, undefined, (l) => lines.push(l));
      return lines;
    },
    async setThreads(a: { n: number; isolated: boolean }) {
      if (a.isolated) setThreads(a.n);
      await threadPool()?.started();
      return getThreads();
    },
    dispose() {
      model?.dispose();
      model = undefined;
    },
  };
  scope.onmessage = async (e: MessageEvent) => {
    const { id, op, args } = e.data as Request;
    try {
      const fn = ops[op];
      if (!fn) throw new Error(`unknown worker op '${op}'`);
      const result = await fn(args ?? {}, id);
      scope.postMessage({ id, ok: true, result }, transferables(result));
    } catch (err) {
      scope.postMessage({ id, ok: false, error: (err as Error)?.message ?? String(err) });
    }
  };
  scope.postMessage({ event: 'hostReady' });
}

/** Results' big arrays move instead of being copied. */
function transferables(v: unknown, out: Transferable[] = [], depth = 0): Transferable[] {
  if (depth > 3 || v === null || typeof v !== 'object') return out;
  if (ArrayBuffer.isView(v)) {
    if (v.buffer instanceof ArrayBuffer && !out.includes(v.buffer)) out.push(v.buffer);
    return out;
  }
  if (v instanceof ArrayBuffer) {
    if (!out.includes(v)) out.push(v);
    return out;
  }
  for (const x of Array.isArray(v) ? v : Object.values(v)) transferables(x, out, depth + 1);
  return out;
}
