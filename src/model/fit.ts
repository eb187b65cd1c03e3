// fit(): the training loop (epochs, shuffling, batches, callbacks, validation, History), over the
// model's programs on wasm or the WebGPU runner. Its own module so the browser build fetches it on
// the first fit() (simdcnn-fit.js) instead of putting it in the core every inference page loads.

import { runtime } from '../backend/runtime.js';
import { activeGpu, backendReady, loadedGpuModule } from '../backend/backend.js';
import { range, shuffle } from '../data/batches.js';
import { argError, assertPositiveInt } from '../errors.js';
import { sizeOfShape } from '../layers/layer.js';
import type { Examples, Labels } from './examples.js';
import { History, type Logs } from './history.js';
import { assertFiniteAll, LayersModel, yieldToEventLoop, type FitArgs, type ModelX, type ModelY } from './layers-model.js';

/** One optimizer step on examples idx[start..start+n). Returns each output's summed loss and correct count. */
function trainStep(m: LayersModel, x: Examples[], y: Labels[], idx: Int32Array, start: number, n: number) {
  const r = m.gradientStep(x, y, idx, start, n);
  // Layers with trainable: false stay as they are (Keras): zero gradients keep them out of the
  // optimizer's state, and restoring their weights undoes momentum gathered before the freeze.
  // Non-trainable weights (BatchNormalization's moving statistics) too: kept as the forward wrote them.
  const frozen = m.weightLayers().some((l) => !l.trainable || l.weights.some((w) => w.trainable === false)) ? frozenWeights(m) : undefined;
  m.optimizer!.applyGradients(m.paramCount, m.params, m.grads);
  if (frozen) for (const { at, values } of frozen) runtime().heap.f32.set(values, at);
  m.touchWeights();
  return r;
}

/** Zeroes the frozen layers' gradients and returns copies of their weights (float index, values). */
function frozenWeights(m: LayersModel): { at: number; values: Float32Array }[] {
  const heap = runtime().heap;
  return m.weightLayers().flatMap((l) => l.weights.filter((w) => !l.trainable || w.trainable === false)).map((w) => {
    const n = sizeOfShape(w.shape), g = (m.grads >>> 2) + w.offset;
    heap.f32.fill(0, g, g + n);
    return { at: (m.params >>> 2) + w.offset, values: heap.readF32(m.params + w.offset * 4, n) };
  });
}


export async function runFit(m: LayersModel, x: ModelX, y: ModelY, args: FitArgs): Promise<History> {
  if (!m.optimizer || !m.compiledLosses) throw new Error('fit: compile the model first: model.compile({optimizer, loss, metrics})');
  const epochs = assertPositiveInt('fit', 'epochs', args.epochs ?? 1);
  const batchSize = assertPositiveInt('fit', 'batchSize', args.batchSize ?? 32);
  const initialEpoch = args.initialEpoch ?? 0;
  const shuffleEach = args.shuffle ?? true;
  const cb = args.callbacks ?? {};
  let xs = m.toInputs('fit', x);
  let ys = m.toTargets('fit', y);
  m.checkData('fit', xs, ys);
  assertFiniteAll('fit', 'x', x);
  let val: [Examples[], Labels[]] | undefined;
  if (args.validationData) {
    if (!Array.isArray(args.validationData) || args.validationData.length !== 2) {
      throw argError('fit', 'validationData', args.validationData, '[xVal, yVal]');
    }
    val = [m.toInputs('fit', args.validationData[0]), m.toTargets('fit', args.validationData[1])];
    m.checkData('fit (validationData)', val[0], val[1]);
    assertFiniteAll('fit', 'validationData[0]', args.validationData[0]);
  } else if (args.validationSplit !== undefined) {
    const s = args.validationSplit;
    if (typeof s !== 'number' || !(s > 0 && s < 1)) throw argError('fit', 'validationSplit', s, 'a number in (0, 1)');
    // Keras: the last fraction of the data, before shuffling.
    const count = xs[0].count;
    const split = Math.floor(count * (1 - s));
    if (split < 1 || split >= count) throw argError('fit', 'validationSplit', s, `a fraction leaving examples on both sides of ${count}`);
    val = [xs.map((e) => e.slice(split, count)), ys.map((l) => l.slice(split, count))];
    xs = xs.map((e) => e.slice(0, split));
    ys = ys.map((l) => l.slice(0, split));
  }
  const count = xs[0].count;
  const history = new History();
  history.params = { epochs, batchSize, samples: count, steps: Math.ceil(count / batchSize), doValidation: !!val };
  const order = range(count);
  const outs = m.compiledLosses;
  const yieldEvery = args.yieldEvery ?? 50;
  let lastYield = Date.now();
  m.stopTraining = false;
  // WebGPU: the same loop with each step and the validation on the GPU (src/webgpu/model-runner.ts).
  await backendReady();
  const gpuCtx = activeGpu();
  const gpu = gpuCtx ? loadedGpuModule()!.runnerFor(m, gpuCtx, m.gpuView()) : undefined;
  if (gpu) m.acquire();
  gpu?.uploadTraining('fit');
  await cb.onTrainBegin?.();
  for (let epoch = initialEpoch; epoch < epochs && !m.stopTraining; epoch++) {
    await cb.onEpochBegin?.(epoch);
    if (shuffleEach) shuffle(order, m.rng);
    const lossSum = outs.map(() => 0), correct = outs.map(() => 0), seen = outs.map(() => 0);
    let penaltySum = 0, examples = 0;
    const steps = Math.ceil(count / batchSize);
    for (let step = 0; step < steps && !m.stopTraining; step++) {
      const start = step * batchSize, n = Math.min(batchSize, count - start);
      await cb.onBatchBegin?.(step, { batch: step, size: n });
      const { outputs: r, penalty } = gpu ? await gpu.trainStep(xs, ys, order, start, n) : trainStep(m, xs, ys, order, start, n);
      const bad = r.find((ri) => !Number.isFinite(ri.lossSum)) ?? (Number.isFinite(penalty) ? undefined : { lossSum: penalty });
      if (bad) {
        throw new Error(`fit: the loss became ${bad.lossSum} at epoch ${epoch + 1}, batch ${step + 1} of ${steps}; training stopped. The weights diverged: lower the learning rate or check the inputs' scale`);
      }
      r.forEach((ri, i) => {
        lossSum[i] += ri.lossSum;
        correct[i] += ri.correct;
        seen[i] += n * LayersModel.perRow(outs[i]);
      });
      penaltySum += penalty * n;
      examples += n;
      if (cb.onBatchEnd) {
        const logs: Logs = { batch: step, size: n, ...m.logsOf(r.map((ri) => ri.lossSum), r.map((ri) => ri.correct), outs.map((o) => n * LayersModel.perRow(o)), '', penalty) };
        await cb.onBatchEnd(step, logs);
      }
      if (Date.now() - lastYield >= yieldEvery) {
        await yieldToEventLoop();
        lastYield = Date.now();
      }
    }
    // Weights and optimizer state back to the heap: callbacks, validation and save see this epoch's.
    if (gpu) await gpu.downloadTraining('fit');
    const logs: Logs = m.logsOf(lossSum, correct, seen, '', examples ? penaltySum / examples : 0);
    if (val) {
      const v = gpu ? await gpu.evaluate('fit', val[0], val[1], Math.max(batchSize, 256))
        : m.evaluateExamples(val[0], val[1], Math.max(batchSize, 256));
      Object.assign(logs, m.logsOf(v.outputs.map((e) => e.lossSum), v.outputs.map((e) => e.correct), v.outputs.map((e) => e.rows), 'val_', v.penalty));
    }
    history.record(epoch, logs);
    if (args.verbose) {
      console.log(`Epoch ${epoch + 1} / ${epochs}: ${Object.entries(logs).map(([k, v]) => `${k}=${(v as number).toFixed(4)}`).join(' ')}`);
    }
    await cb.onEpochEnd?.(epoch, logs);
  }
  await cb.onTrainEnd?.();
  return history;
}

