// The end-to-end check a broken gradient cannot pass: the notes' CNN, trained on 10k real MNIST
// images for one epoch, must classify the 10k test images at ≥ 95%.
import { describe, expect, it } from 'vitest';
import { layers, memory, sequential, uint8Images } from '../src/index.js';
import { mnist } from './helpers/mnist.js';
import { referenceCnn } from './helpers/cnn.js';


describe('MNIST training', () => {
  it('reaches ≥ 95% test accuracy after one epoch on 10k images', async () => {
    const { train, test } = await mnist();
    const n = 10000;
    const x = uint8Images(train.images.subarray(0, n * 784), [28, 28, 1]);
    const y = train.labels.subarray(0, n);
    const model = referenceCnn(1);
    expect(model.countParams()).toBe(121930);
    model.compile({ optimizer: 'adam', loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const t0 = performance.now();
    const history = await model.fit(x, y, { epochs: 1, batchSize: 32 });
    const seconds = (performance.now() - t0) / 1000;
    const [loss, acc] = model.evaluate(uint8Images(test.images, [28, 28, 1]), test.labels) as any[];
    const accuracy = acc.dataSync()[0];
    console.log(`10k images, 1 epoch: ${seconds.toFixed(1)} s (${(n / seconds).toFixed(0)} images/s); train loss ${history.history.loss[0].toFixed(4)}; test accuracy ${(accuracy * 100).toFixed(2)}%, loss ${loss.dataSync()[0].toFixed(4)}`);
    expect(history.history.loss[0]).toBeLessThan(0.5);
    expect(accuracy).toBeGreaterThanOrEqual(0.95);
    loss.dispose(); acc.dispose();
    const before = memory().numBytesInHeap;
    model.dispose();
    expect(memory().numBytesInHeap).toBeLessThan(before);
  });
});
