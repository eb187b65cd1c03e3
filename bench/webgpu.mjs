// WebGPU figures, when an adapter exists: training steps and batch inference of the reference CNN
// on the WebGPU backend, labelled with the adapter's description so a software adapter
// (SwiftShader: isFallbackAdapter) is never mistaken for a GPU. Run by `npm run bench`.
//   node bench/webgpu.mjs [--json]
// Without a GPU: LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
import { writeFileSync } from 'node:fs';
import * as s from '../dist/index.js';
import { FORWARD_MFLOP, referenceCnn, syntheticData, TRAIN_MFLOP } from './cnn.mjs';
import { machine } from './machine.mjs';

const json = process.argv.includes('--json');
let result;
try {
  await s.setBackend('webgpu');
  const adapter = s.backend().description;
  const batch = 32, steps = 4;
  const { images, labels } = syntheticData(batch * steps);
  const x = s.uint8Images(images, [28, 28, 1]);
  const model = referenceCnn(s);
  model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy' });
  await model.fit(x, labels, { epochs: 1, batchSize: batch, shuffle: false }); // warm-up: pipelines, uploads
  const times = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    await model.fit(x, labels, { epochs: 1, batchSize: batch, shuffle: false });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const trainIps = (batch * steps) / (times[1] / 1000);
  const inf = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    const p = model.predict(x, { batchSize: 128 });
    await p.data();
    inf.push(performance.now() - t0);
    p.dispose();
  }
  inf.sort((a, b) => a - b);
  const inferIps = (batch * steps) / (inf[1] / 1000);
  result = { machine: machine(), adapter, trainImagesPerSec: trainIps, trainGflops: (trainIps * TRAIN_MFLOP) / 1000,
    inferImagesPerSec: inferIps, inferGflops: (inferIps * FORWARD_MFLOP) / 1000 };
  model.dispose();
} catch (e) {
  result = { machine: machine(), adapter: null, skipped: e.message };
}
writeFileSync(new URL('./results/webgpu.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
if (json) console.log(JSON.stringify(result));
else if (!result.adapter) console.log(`WebGPU: not measured — ${result.skipped}`);
else {
  console.log(`WebGPU on "${result.adapter}" (medians of 3):`);
  console.log(`  training, batch 32: ${result.trainImagesPerSec.toFixed(1)} images/s (${result.trainGflops.toFixed(2)} GFLOP/s)`);
  console.log(`  inference, batch 128: ${result.inferImagesPerSec.toFixed(1)} images/s (${result.inferGflops.toFixed(2)} GFLOP/s)`);
}
process.exit(0);
