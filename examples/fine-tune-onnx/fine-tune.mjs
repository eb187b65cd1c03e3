// Transfer learning of a PyTorch CNN exported to ONNX: import it, freeze the feature extractor,
// swap the classifier for a new K-class head, fit the head, save it (tfjs format) and export it
// back to ONNX.
//   node examples/fine-tune-onnx/fine-tune.mjs [model.onnx] [--epochs 12] [--per-class 48] [--lr 0.05] [--out DIR]
// In your project, import from 'simdcnn' instead of the repository's build.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as sc from '../../dist/index.js';
import { K, mulberry32, shapes } from './shapes.mjs';

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    epochs: { type: 'string', default: '12' },
    'per-class': { type: 'string', default: '48' },
    out: { type: 'string', default: fileURLToPath(new URL('out', import.meta.url)) },
    // The layer whose output feeds the new head; by default the input of the last Dense (the
    // torchvision `fc` / `classifier` Gemm), skipping a Dropout in front of it.
    features: { type: 'string' },
    seed: { type: 'string', default: '7' },
    lr: { type: 'string', default: '0.05' },
  },
});
const onnxPath = positionals[0] ?? new URL('../../test/fixtures/onnx/resnet_basic.onnx', import.meta.url);
const epochs = Number(opt.epochs), perClass = Number(opt['per-class']), seed = Number(opt.seed);

await sc.ready();
sc.setSeed(seed);
const net = await sc.loadOnnx(onnxPath);
const [, C, H, W] = net.inputs[0].shape;
if (C !== 3 || !H || !W) throw new Error(`expected an NCHW RGB input with a fixed size, got [${net.inputs[0].shape}] (pass inputShapes to loadOnnx for symbolic sizes)`);

let features;
if (opt.features) {
  features = net.getLayer(opt.features).output;
} else {
  const classifier = net.layers.findLast((l) => l.className === 'Dense');
  if (!classifier) throw new Error('no Dense (Gemm) classifier found: pass --features LAYER_NAME');
  features = classifier.input;
  while (features.sourceLayer.className === 'Dropout') features = features.sourceLayer.input;
}
// Frozen before the new model is built, so fit() leaves these weights alone and BatchNormalization
// keeps normalizing with the moving statistics PyTorch exported (Keras' rule for frozen BN) instead
// of each batch's.
for (const l of net.layers) l.trainable = false;

// --- Data ---------------------------------------------------------------------------------------
// Synthetic coloured shapes (shapes.mjs). For real photos: decode each to RGB in [0, 1] (NHWC),
// resize to H×W with sc.image.resizeBilinear, and keep the two steps in load() as they are.
function load(n, rand) {
  const { rgb, labels } = shapes(n, H, W, rand);
  // What a torchvision model expects: ImageNet mean/std per channel, then NHWC → NCHW.
  const x = sc.tidy(() => sc.image.toNCHW(sc.image.normalize(sc.tensor(rgb, [n, H, W, 3]), 'imagenet')));
  return { x, labels };
}
const rand = mulberry32(seed);
const train = load(K * perClass, rand);
const val = load(K * Math.max(4, perClass >> 2), rand);

// --- The new head on the pooled features --------------------------------------------------------
// Features are standardized with their training-set mean and variance before the new Dense: a
// frozen extractor's features can sit far from zero with a small spread (this fixture's random
// weights give ~0.2 ± 0.02), which a linear head fed raw would need hundreds of steps to undo.
// The statistics go in a frozen BatchNormalization (inference: (x − mean)/√(var + ε)), so they are
// part of the saved and exported model rather than preprocessing a user has to repeat.
const extractor = sc.model({ inputs: net.inputs, outputs: features });
const f = extractor.predict(train.x, { batchSize: 64 });
const [n, D] = f.shape, fd = f.dataSync();
const mean = new Float32Array(D), variance = new Float32Array(D);
for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) mean[j] += fd[i * D + j] / n;
for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) variance[j] += (fd[i * D + j] - mean[j]) ** 2 / n;
f.dispose();
// ε well under the features' variance: the default 1e-3 would swamp a spread of 0.02.
const norm = sc.layers.batchNormalization({ name: 'feature_norm', center: false, scale: false, epsilon: 1e-6, trainable: false });
const probs = sc.layers.dense({ units: K, activation: 'softmax', name: 'head' }).apply(norm.apply(features));
const model = sc.model({ inputs: net.inputs, outputs: probs, name: 'fine_tuned' });
const stats = { 'feature_norm/moving_mean': mean, 'feature_norm/moving_variance': variance };
const initial = model.getWeights();
model.setWeights(model.weightList().map(({ name }, i) => (stats[name] ? sc.tensor(stats[name], [D]) : initial[i])));
model.compile({ optimizer: sc.train.adam(Number(opt.lr)), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
const trainable = model.layers.filter((l) => l.trainable).map((l) => l.name);
console.log(`${String(onnxPath)}: ${net.layers.length} layers; features from '${features.sourceLayer.name}' [${features.shape.slice(1)}]; trainable: ${trainable.join(', ')}`);

await model.fit(train.x, train.labels, {
  epochs, batchSize: 32, validationData: [val.x, val.labels], verbose: 0,
  callbacks: {
    onEpochEnd: (e, logs) => console.log(`epoch ${e + 1}/${epochs}  loss ${logs.loss.toFixed(4)}  acc ${logs.acc.toFixed(3)}  val_loss ${logs.val_loss.toFixed(4)}  val_acc ${logs.val_acc.toFixed(3)}`),
  },
});

// --- Save (tfjs layers-model format) and export back to ONNX ------------------------------------
mkdirSync(opt.out, { recursive: true });
await model.save(join(opt.out, 'tfjs'));
const onnxBytes = await model.toONNX();
writeFileSync(join(opt.out, 'fine-tuned.onnx'), onnxBytes);
console.log(`saved ${join(opt.out, 'tfjs')}/model.json and ${join(opt.out, 'fine-tuned.onnx')} (${onnxBytes.length} bytes)`);
