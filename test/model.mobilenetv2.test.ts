// Keras' MobileNetV2 (alpha 1.0, 224×224×3, the keras.applications layer structure and names:
// ZeroPadding2D, DepthwiseConv2D, BatchNormalization, ReLU(max_value=6), Add, GlobalAveragePooling2D)
// built by real tfjs 4.22 with random weights (batch-norm statistics randomized too), saved by tfjs,
// loaded here: the same predictions as tfjs-cpu's.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import * as sc from '../src/index.js';
import { mobileNetV2, randomizeBatchNorms } from './helpers/mobilenetv2-tfjs.js';
import { randn } from './helpers/random.js';

describe("Keras' MobileNetV2 from tfjs", () => {
  it('loads (all 155 layers, 3.5 M parameters) and predicts as tfjs-cpu does (≤ 1e-5)', async () => {
    await tf.setBackend('cpu');
    const t = mobileNetV2(tf);
    randomizeBatchNorms(tf, t, 7);
    let artifacts: tf.io.ModelArtifacts | undefined;
    await t.save(tf.io.withSaveHandler(async (a) => { artifacts = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
    const m = await sc.loadLayersModel({ load: async () => artifacts as never });
    expect(m.layers.length).toBe(t.layers.length);
    expect(m.countParams()).toBe(t.countParams());
    const x = randn(2 * 224 * 224 * 3, 5);
    const want = (t.predict(tf.tensor(x, [2, 224, 224, 3])) as tf.Tensor).dataSync();
    const got = (m.predict(sc.tensor(x, [2, 224, 224, 3])) as sc.Tensor).dataSync();
    expect(got.length).toBe(2000);
    let worst = 0, argmaxSame = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    for (let r = 0; r < 2; r++) {
      const am = (v: ArrayLike<number>) => { let b = 0; for (let j = 1; j < 1000; j++) if (v[r * 1000 + j] > v[r * 1000 + b]) b = j; return b; };
      if (am(got) === am(want)) argmaxSame++;
    }
    console.log(`MobileNetV2 (224², random weights): max |simdcnn − tfjs-cpu| = ${worst.toExponential(2)} over 2×1000 probabilities`);
    expect(worst).toBeLessThanOrEqual(1e-5);
    expect(argmaxSame).toBe(2);
    m.dispose();
    t.dispose();
  }, 300_000);
});
