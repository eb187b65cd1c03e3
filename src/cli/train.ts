// `simdcnn train mnist`: the notes' reference CNN (or --model resnet | mobilenet | model.json), trained with a live progress line per epoch,
// validated on the test set each epoch (as the notes' Keras run), then evaluated and saved with
// its history and training curves — all four files in one crash-safe save.

import { mnistModel, MNIST_LEARNING_RATES, rateAt } from './mnist-models.js';
import { train as optimizers } from '../model/optimizers.js';
import { uint8Images } from '../model/examples.js';
import { saveModel } from '../model/save-load.js';
import type { Logs } from '../model/history.js';
import type { Tensor } from '../tensor.js';
import type { TrainCommand } from './args.js';
import { renderCurvesSvg } from './curve-svg.js';
import { ProgressWriter, type ProgressState } from './progress.js';
import { fmtRate, jsonLine, mnistData, pct, rate, setupBackend, type CliIO } from './common.js';

export const DEFAULT_OUT = 'simdcnn-mnist-model';

export async function runTrain(cmd: TrainCommand, io: CliIO): Promise<void> {
  const backend = await setupBackend(cmd);
  const { train, test, dir } = await mnistData(cmd.data, cmd.limit);
  const seed = cmd.seed ?? Math.floor(Math.random() * 2 ** 32);
  const out = cmd.out ?? DEFAULT_OUT;
  const model = await mnistModel(cmd.model, seed);
  // A model.json trains at Adam's default rate; the built-in architectures with their schedule.
  const schedule = MNIST_LEARNING_RATES[cmd.model] ?? [1e-3];
  const optimizer = optimizers.adam(schedule[0]);
  model.compile({ optimizer, loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const x = uint8Images(train.images, [28, 28, 1]);
  const xTest = uint8Images(test.images, [28, 28, 1]);
  const steps = Math.ceil(train.count / cmd.batchSize);

  if (!cmd.json) {
    model.summary(undefined, undefined, io.out);
    io.out(`Training on ${train.count.toLocaleString('en-US')} images from ${dir}, validating on ${test.count.toLocaleString('en-US')} test images`);
    io.out(`${cmd.epochs} epoch(s), batch size ${cmd.batchSize}, Adam learning rate ${schedule.length > 1 ? `${schedule.join(' → ')} by epoch` : schedule[0]}, seed ${seed}, ${backend.threads} thread(s), ${backend.label}`);
  }

  const progress = new ProgressWriter(io.progressStream);
  let currentEpoch = 0, epochStart = 0, trainMs = 0, totalTrainMs = 0, seen = 0, lossSum = 0, correct = 0;
  const state = (batch: number): ProgressState => ({
    epoch: currentEpoch + 1, epochs: cmd.epochs, batch, batches: steps, images: seen, elapsedMs: performance.now() - epochStart,
    ...(seen ? { loss: lossSum / seen, accuracy: correct / seen } : {}),
  });
  const t0 = performance.now();
  const history = await model.fit(x, train.labels, {
    epochs: cmd.epochs,
    batchSize: cmd.batchSize,
    validationData: [xTest, test.labels],
    callbacks: {
      onEpochBegin: (epoch) => {
        optimizer.learningRate = rateAt(schedule, epoch);
        currentEpoch = epoch;
        seen = lossSum = correct = 0;
        epochStart = performance.now();
      },
      onBatchEnd: (batch, logs: Logs) => {
        const n = logs.size ?? cmd.batchSize;
        seen += n;
        lossSum += (logs.loss ?? 0) * n;
        correct += (logs.acc ?? 0) * n;
        if (batch === steps - 1) trainMs = performance.now() - epochStart;
        if (!cmd.json) progress.update(state(batch + 1));
      },
      onEpochEnd: (epoch, logs: Logs) => {
        const seconds = (performance.now() - epochStart) / 1000;
        totalTrainMs += trainMs;
        const imagesPerSec = rate(seen, trainMs / 1000);
        if (cmd.json) {
          jsonLine(io, { epoch: epoch + 1, loss: logs.loss, accuracy: logs.acc, valLoss: logs.val_loss, valAccuracy: logs.val_acc, imagesPerSec, seconds });
        } else {
          const s = { ...state(steps), elapsedMs: trainMs, loss: logs.loss!, accuracy: logs.acc! };
          progress.done(s, `  val_loss ${logs.val_loss!.toFixed(4)}  val_acc ${logs.val_acc!.toFixed(4)}`);
        }
      },
    },
  });
  const fitSeconds = (performance.now() - t0) / 1000;
  const imagesPerSec = rate(train.count * history.epoch.length, totalTrainMs / 1000);

  const [lossT, accT] = model.evaluate(xTest, test.labels) as Tensor[];
  const testLoss = (await lossT!.data())[0]!, testAccuracy = (await accT!.data())[0]!;
  lossT!.dispose();
  accT!.dispose();

  const summary = {
    testAccuracy, testLoss, imagesPerSec, seconds: fitSeconds, threads: backend.threads, wasm: backend.wasm, backend: backend.backend,
  };
  const historyJson = {
    epoch: history.epoch, history: history.history,
    params: { ...history.params, seed, model: cmd.model, dataset: cmd.dataset, learningRates: Array.from({ length: cmd.epochs }, (_, e) => rateAt(schedule, e)), trainImages: train.count, testImages: test.count },
    result: summary,
  };
  const svg = renderCurvesSvg(history, { title: `simdcnn MNIST ${model.name} — test accuracy ${pct(testAccuracy)}` });
  await saveModel(model, out, {
    extraFiles: { 'history.json': JSON.stringify(historyJson, null, 1) + '\n', 'training-curves.svg': svg },
  });
  model.dispose();

  if (cmd.json) {
    jsonLine(io, { ...summary, modelDir: out });
  } else {
    io.out(`Test accuracy ${pct(testAccuracy)}, loss ${testLoss.toFixed(4)} (${test.count.toLocaleString('en-US')} images)`);
    io.out(`Trained ${history.epoch.length} epoch(s) in ${fitSeconds.toFixed(1)} s: ${fmtRate(imagesPerSec)} images/s (training steps; ${backend.threads} thread(s), ${backend.label})`);
    io.out(`Saved ${out}/model.json, weights.bin, history.json, training-curves.svg`);
  }
}
