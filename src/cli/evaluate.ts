// `simdcnn evaluate MODEL_DIR`: test-set loss and accuracy of a saved model.

import { uint8Images } from '../model/examples.js';
import { tensor, type Tensor } from '../tensor.js';
import type { EvaluateCommand } from './args.js';
import { checkMnistInput, fmtRate, jsonLine, loadModel, mnistData, pct, rate, setupBackend, type CliIO } from './common.js';

function oneHot(labels: Uint8Array, classes: number): Tensor {
  const v = new Float32Array(labels.length * classes);
  labels.forEach((l, i) => { v[i * classes + l] = 1; });
  return tensor(v, [labels.length, classes]);
}

export async function runEvaluate(cmd: EvaluateCommand, io: CliIO): Promise<void> {
  const backend = await setupBackend(cmd);
  const model = await loadModel(cmd.modelDir);
  checkMnistInput(model, cmd.modelDir);
  const tc = model.trainingConfig();
  // A model saved without a training config is evaluated as the MNIST CNN is trained.
  if (!tc) model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const sparse = !tc || tc.loss === 'sparse_categorical_crossentropy';
  const { test } = await mnistData(cmd.data, cmd.limit);
  const y = sparse ? test.labels : oneHot(test.labels, 10);
  const t0 = performance.now();
  const r = model.evaluate(uint8Images(test.images, [28, 28, 1]), y, { batchSize: cmd.batchSize });
  const [lossT, accT] = Array.isArray(r) ? r : [r, undefined];
  // GPU tensors on the webgpu backend: read asynchronously (a CPU tensor's data() is immediate);
  // the GPU's work is only known to be done once read, so the clock stops after.
  const testLoss = (await lossT!.data())[0]!;
  const testAccuracy = accT ? (await accT.data())[0]! : undefined;
  const seconds = (performance.now() - t0) / 1000;
  for (const t of [lossT, accT, ...(sparse ? [] : [y as Tensor])]) t?.dispose();
  model.dispose();
  const imagesPerSec = rate(test.count, seconds);
  if (cmd.json) {
    jsonLine(io, { testAccuracy, testLoss, images: test.count, imagesPerSec, seconds, threads: backend.threads, wasm: backend.wasm, backend: backend.backend });
    return;
  }
  io.out(`${testAccuracy !== undefined ? `Test accuracy ${pct(testAccuracy)}, ` : ''}loss ${testLoss.toFixed(4)} on ${test.count.toLocaleString('en-US')} test images`);
  io.out(`${seconds.toFixed(2)} s, ${fmtRate(imagesPerSec)} images/s (${backend.threads} thread(s), ${backend.label})`);
}
