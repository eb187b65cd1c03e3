// Every misuse of the model API is an Error that names the layer or op, the argument, the value
// given and what was expected — never a wasm trap (the kernels run with --noAssert) and never a
// bare TypeError from deep inside.
import { describe, expect, it } from 'vitest';
import { layers, sequential, tensor, train, uint8Images, type Sequential } from '../src/index.js';
import { randn } from './helpers/random.js';

/** Runs f (sync or async) and returns the Error it threw, failing if it did not throw a plain Error. */
async function thrown(f: () => unknown): Promise<Error> {
  let err: unknown;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an Error').toBeInstanceOf(Error);
  expect(err).not.toBeInstanceOf(WebAssembly.RuntimeError);
  expect(err).not.toBeInstanceOf(TypeError);
  return err as Error;
}

function cnn(): Sequential {
  return sequential({
    seed: 1,
    layers: [
      layers.conv2d({ filters: 2, kernelSize: 3, activation: 'relu', inputShape: [6, 6, 1], name: 'c1' }),
      layers.flatten({ name: 'f1' }),
      layers.dense({ units: 10, activation: 'softmax', name: 'out' }),
    ],
  });
}

function compiled(loss = 'sparseCategoricalCrossentropy', optimizer: Parameters<Sequential['compile']>[0]['optimizer'] = 'adam'): Sequential {
  const m = cnn();
  m.compile({ optimizer, loss, metrics: ['accuracy'] });
  return m;
}

const x4 = (n: number, shape = [6, 6, 1]) => tensor(randn(n * shape.reduce((a, b) => a * b, 1), n), [n, ...shape]);
const ids = (n: number) => Array.from({ length: n }, (_, i) => i % 10);

type Case = [name: string, f: () => unknown, re: RegExp];

// Layer constructor arguments: the layer's name, the argument, the value and the expectation.
const layerArgs: Case[] = [
  ['conv2d filters 0', () => layers.conv2d({ filters: 0, kernelSize: 3, name: 'cv' }), /^cv: filters must be a positive integer, got 0$/],
  ['conv2d kernelSize 2.5', () => layers.conv2d({ filters: 2, kernelSize: 2.5, name: 'cv' }), /^cv: kernelSize must be a positive integer, got 2\.5$/],
  ['conv2d kernelSize [3, 0]', () => layers.conv2d({ filters: 2, kernelSize: [3, 0], name: 'cv' }), /^cv: kernelSize must be a positive integer, got 0$/],
  ['conv2d strides 0', () => layers.conv2d({ filters: 2, kernelSize: 3, strides: 0, name: 'cv' }), /^cv: strides must be a positive integer, got 0$/],
  ['conv2d unknown activation', () => layers.conv2d({ filters: 2, kernelSize: 3, activation: 'hard_silu' as never, name: 'cv' }), /^cv: activation must be one of 'linear', 'relu', 'sigmoid', 'tanh', 'softmax', 'relu6', .*'softsign' \(or 'silu', 'hard_sigmoid'\), got 'hard_silu'$/],
  ['conv2d unknown padding', () => layers.conv2d({ filters: 2, kernelSize: 3, padding: 'full' as never, name: 'cv' }), /^cv: padding must be 'valid' or 'same', got 'full'$/],
  ['conv2d channelsFirst', () => layers.conv2d({ filters: 2, kernelSize: 3, dataFormat: 'channelsFirst' as never, name: 'cv' }), /^cv: dataFormat must be 'channelsLast'.*got 'channelsFirst'$/],
  ['conv2d unknown initializer', () => layers.conv2d({ filters: 2, kernelSize: 3, kernelInitializer: 'xavier' as never, name: 'cv' }), /^cv: kernelInitializer must be one of 'glorotUniform'.*got 'xavier'$/],
  ['conv2d no args', () => layers.conv2d(undefined as never), /conv2d.*: args must be an object like \{filters: 32, kernelSize: 3\}, got undefined/],
  ['dense units -1', () => layers.dense({ units: -1, name: 'dn' }), /^dn: units must be a positive integer, got -1$/],
  ['dense units 2.5', () => layers.dense({ units: 2.5, name: 'dn' }), /^dn: units must be a positive integer, got 2\.5$/],
  ['dense unknown activation', () => layers.dense({ units: 3, activation: 'swishy' as never, name: 'dn' }), /^dn: activation must be one of .*'softsign'.*, got 'swishy'$/],
  ['dense no args', () => layers.dense(undefined as never), /dense.*: args must be an object like \{units: 10\}, got undefined/],
  ['dense inputShape [0]', () => layers.dense({ units: 3, inputShape: [0], name: 'dn' }), /^dn: inputShape must be an array of positive integers \(without the batch dimension\), got \[0\]$/],
  ['dropout rate 1', () => layers.dropout({ rate: 1, name: 'dr' }), /^dr: rate must be a number in \[0, 1\), got 1$/],
  ['dropout rate -0.1', () => layers.dropout({ rate: -0.1, name: 'dr' }), /^dr: rate must be a number in \[0, 1\), got -0\.1$/],
  ['dropout no rate', () => layers.dropout({ name: 'dr' } as never), /^dr: rate must be a number in \[0, 1\), got undefined$/],
  ['maxPooling2d poolSize 0', () => layers.maxPooling2d({ poolSize: 0, name: 'mp' }), /^mp: poolSize must be a positive integer, got 0$/],
  ['maxPooling2d unknown padding', () => layers.maxPooling2d({ padding: 'causal' as never, name: 'mp' }), /^mp: padding must be 'valid' or 'same', got 'causal'$/],
  ['averagePooling2d strides [2, 1.5]', () => layers.averagePooling2d({ strides: [2, 1.5], name: 'ap' }), /^ap: strides must be a positive integer, got 1\.5$/],
  ['activation missing', () => layers.activation({ name: 'ac' } as never), /^ac: activation must be one of 'linear', .*, got undefined$/],
  ['activation unknown', () => layers.activation({ activation: 'eluu' as never, name: 'ac' }), /^ac: activation must be one of .*got 'eluu'$/],
];

// Shapes that cannot work: reported when the model is built, naming the layer and its argument.
const shapes: Case[] = [
  ['conv 5×5 on a 3×3 input', () => sequential({ layers: [layers.conv2d({ filters: 2, kernelSize: 5, inputShape: [3, 3, 1], name: 'big' })] }).summary(0, undefined, () => {}),
    /^big: kernelSize must be at most the input's \[height, width\] = \[3, 3\] with padding 'valid', got \[5, 5\]$/],
  ['dilated conv spanning past the input', () => sequential({ layers: [layers.conv2d({ filters: 2, kernelSize: 3, dilationRate: 3, inputShape: [6, 6, 1], name: 'dil' })] }).build(),
    /^dil: kernelSize must be at most the input's \[height, width\] = \[6, 6\] with padding 'valid' \(dilated by \[3, 3\] it spans 7×7\), got \[3, 3\]$/],
  ['pooling window larger than its input', () => sequential({ layers: [layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [5, 5, 1] }), layers.maxPooling2d({ poolSize: 4, name: 'pool' })] }).build(),
    /^pool: poolSize must be at most the input's \[height, width\] = \[3, 3\] with padding 'valid', got \[4, 4\]$/],
  ['conv2d on a rank-2 input', () => sequential({ layers: [layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [6, 6], name: 'r2' })] }).build(),
    /^r2: input shape must be \[height, width, channels\] \(rank 3 per example\), got \[6, 6\]$/],
  ['first layer without inputShape', () => sequential({ layers: [layers.dense({ units: 3, name: 'first' })] }),
    /^sequential.add: the first layer \(first\) needs an inputShape/],
  ['a later layer whose inputShape disagrees', () => sequential({ layers: [layers.dense({ units: 3, inputShape: [4] }), layers.dense({ units: 2, inputShape: [5], name: 'second' })] }).build(),
    /^second: inputShape \[5\] does not match the previous layer's output \[3\]$/],
  ['the same layer twice', () => { const d = layers.dense({ units: 3, inputShape: [4], name: 'twice' }); return sequential({ layers: [d, d] }); },
    /^sequential.add: layer twice is already in the model$/],
  ['add after build', () => { const m = sequential({ layers: [layers.dense({ units: 3, inputShape: [4] })] }); m.build(); m.add(layers.dense({ units: 2 })); },
    /^sequential.add: the model 'sequential' is already built/],
  ['not a layer', () => sequential({ layers: [{ units: 3 } as never] }), /^sequential.add: layer must be a layer from layers\.\*, got/],
  ['seed NaN', () => sequential({ seed: NaN }), /^sequential: seed must be a finite number, got NaN$/],
  ['a model too large for wasm memory', () => sequential({ layers: [layers.dense({ units: 100000, inputShape: [100000] })] }).build(), /out of wasm memory/],
];

// compile(): unknown names list the accepted ones.
const compileArgs: Case[] = [
  ['unknown optimizer', () => cnn().compile({ optimizer: 'rmsprop', loss: 'sparseCategoricalCrossentropy' }), /^compile: optimizer must be 'adam', 'sgd', 'momentum' or an optimizer .*, got 'rmsprop'$/],
  ['unknown loss', () => cnn().compile({ optimizer: 'adam', loss: 'hinge' }), /^compile: loss must be 'sparseCategoricalCrossentropy', 'categoricalCrossentropy' or 'meanSquaredError', got 'hinge'$/],
  ['unknown metric', () => cnn().compile({ optimizer: 'adam', loss: 'mse', metrics: ['precision'] }), /^compile: metrics must be an array of 'accuracy'.*, got \['precision'\]$/],
  ['no args', () => cnn().compile(undefined as never), /^compile: args must be an object like/],
  ['sgd learningRate -1', () => train.sgd(-1), /^train.sgd: learningRate must be a finite number ≥ 0, got -1$/],
  ['adam beta1 1.5', () => train.adam(0.001, 1.5), /^train.adam: beta1 must be a number in \[0, 1\), got 1\.5$/],
  ['adam beta1 1 (bias correction ÷ 0)', () => train.adam(0.001, 1), /^train.adam: beta1 must be a number in \[0, 1\), got 1$/],
  ['adam beta2 1 (every step 0)', () => train.adam(0.001, 0.9, 1), /^train.adam: beta2 must be a number in \[0, 1\), got 1$/],
  ['momentum NaN', () => train.momentum(0.1, NaN), /^train.momentum: momentum must be a number in \[0, 1\], got NaN$/],
];

// fit / evaluate / predict inputs.
const data: Case[] = [
  ['fit before compile', () => cnn().fit(x4(2), ids(2)), /^fit: compile the model first/],
  ['evaluate before compile', () => cnn().evaluate(x4(2), ids(2)), /^evaluate: compile the model first/],
  ['predict: x without the channel axis', () => cnn().predict(x4(2, [6, 6])), /^predict: x has examples of shape \[6,6\] .*input layer c1 expects \[6,6,1\] \(inputShape\)/],
  ['predict: one example without the batch axis', () => cnn().predict(tensor(randn(36, 1), [6, 6, 1])), /^predict: x has examples of shape \[6,1\] .*expects \[6,6,1\]/],
  ['fit: x of the wrong size', () => compiled().fit(x4(3, [7, 7, 1]), ids(3)), /^fit: x has examples of shape \[7,7,1\] .*expects \[6,6,1\]/],
  ['evaluate: x of the wrong size', () => compiled().evaluate(x4(3, [6, 6, 2]), ids(3)), /^evaluate: x has examples of shape \[6,6,2\] .*expects \[6,6,1\]/],
  ['uint8Images of the wrong shape', () => compiled().fit(uint8Images(new Uint8Array(2 * 49), [7, 7, 1]), ids(2)), /^fit: x has examples of shape \[7,7,1\]/],
  ['uint8Images: bytes not a whole number of images', () => uint8Images(new Uint8Array(10), [3, 3, 1]), /^uint8Images: data must be a multiple of 9 \(one \[3,3,1\] image\), got '10 bytes'$/],
  ['uint8Images: sampleShape not an array', () => uint8Images(new Uint8Array(9), 9 as never), /^uint8Images: sampleShape must be an array of positive integers, e\.g\. \[28, 28, 1\], got 9$/],
  ['ragged one-hot rows', () => compiled('categoricalCrossentropy').fit(x4(2), [[1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 1]] as never), /^fit: y must be rows of one length ≥ 1 \(row 0 has 10\), got 'row 1 of length 2'$/],
  ['uint8Images: Float32Array data', () => uint8Images(new Float32Array(9) as never, [3, 3, 1]), /^uint8Images: data must be a Uint8Array, got/],
  ['x not a tensor', () => cnn().predict([[1, 2]] as never), /^predict: x must be a Tensor or uint8Images\(\.\.\.\), got/],
  ['x disposed', () => { const t = x4(2); t.dispose(); return cnn().predict(t); }, /^predict: the tensor of shape \[2,6,6,1\] was already disposed$/],
  ['x/y count mismatch', () => compiled().fit(x4(4), ids(3)), /^fit: x has 4 examples but y has 3 labels; they must match$/],
  ['label 10 with 10 classes', () => compiled().fit(x4(4), [0, 1, 10, 2]), /^fit: label y\[2\] = 10 is not a class index in \[0, 10\) for sparseCategoricalCrossentropy$/],
  ['label -1', () => compiled().evaluate(x4(2), [-1, 0]), /^evaluate: label y\[0\] = -1 is not a class index in \[0, 10\)/],
  ['label 2.5', () => compiled().fit(x4(2), [0, 2.5]), /^fit: label y\[1\] = 2\.5 is not a class index in \[0, 10\)/],
  ['label NaN', () => compiled().fit(x4(2), [0, NaN]), /^fit: y\[1\] is NaN; labels must be finite$/],
  ['validation label out of range', () => compiled().fit(x4(2), [0, 1], { validationData: [x4(2), [0, 11]] }), /^fit \(validationData\): label y\[1\] = 11 is not a class index in \[0, 10\)/],
  ['sparse ids for categoricalCrossentropy', () => compiled('categoricalCrossentropy').fit(x4(2), [0, 1]), /^fit: y has 1 value\(s\) per example, but loss 'categoricalCrossentropy' with output shape \[10\] expects 10 \(e\.g\. one-hot rows\)$/],
  ['one-hot rows for sparse CE', () => compiled().fit(x4(2), tensor(new Float32Array(20), [2, 10])), /^fit: y has 10 value\(s\) per example, but loss 'sparseCategoricalCrossentropy' with output shape \[10\] expects 1 \(a class id per example\)$/],
  ['NaN in x (fit)', () => { const x = x4(3); const v = x.dataSync(); v[40] = NaN; return compiled().fit(tensor(v, x.shape), ids(3)); }, /^fit: x contains NaN at flat index 40 \(of shape \[3,6,6,1\]\); inputs must be finite numbers$/],
  ['Infinity in x (predict)', () => { const v = randn(72, 3); v[5] = Infinity; return cnn().predict(tensor(v, [2, 6, 6, 1])); }, /^predict: x contains Infinity at flat index 5/],
  ['-Infinity in x (evaluate)', () => { const v = randn(72, 3); v[71] = -Infinity; return compiled().evaluate(tensor(v, [2, 6, 6, 1]), ids(2)); }, /^evaluate: x contains -Infinity at flat index 71/],
  ['NaN in validationData', () => { const v = randn(72, 3); v[0] = NaN; return compiled().fit(x4(2), ids(2), { validationData: [tensor(v, [2, 6, 6, 1]), ids(2)] }); }, /^fit: validationData\[0\] contains NaN at flat index 0/],
  ['batchSize 0', () => compiled().fit(x4(2), ids(2), { batchSize: 0 }), /^fit: batchSize must be a positive integer, got 0$/],
  ['epochs 1.5', () => compiled().fit(x4(2), ids(2), { epochs: 1.5 }), /^fit: epochs must be a positive integer, got 1\.5$/],
  ['validationSplit 1', () => compiled().fit(x4(4), ids(4), { validationSplit: 1 }), /^fit: validationSplit must be a number in \(0, 1\), got 1$/],
  ['validationSplit leaving no validation examples', () => compiled().fit(x4(4), ids(4), { validationSplit: 0.9 }), /^fit: validationSplit must be a fraction leaving examples on both sides of 4, got 0\.9$/],
  ['validationData not a pair', () => compiled().fit(x4(2), ids(2), { validationData: [x4(2)] as never }), /^fit: validationData must be \[xVal, yVal\]/],
  ['predict batchSize 2.5', () => cnn().predict(x4(2), { batchSize: 2.5 }), /^predict: batchSize must be a positive integer, got 2\.5$/],
  ['setWeights count', () => cnn().setWeights([]), /^setWeights: weights must be 4 tensors \(c1\/kernel, c1\/bias, out\/kernel, out\/bias\), got '0 tensors'$/],
  ['setWeights shape', () => { const m = cnn(); const w = m.getWeights(); w[0] = tensor(new Float32Array(18), [3, 3, 2, 1]); m.setWeights(w); }, /^setWeights: weights\[0\] \(c1\/kernel\) must be a tensor of shape \[3,3,1,2\], got tensor of shape \[3, 3, 2, 1\]$/],
  ['getLayer unknown', () => cnn().getLayer('nope'), /^getLayer: name must be one of 'c1', 'f1', 'out', got 'nope'$/],
];

describe('model errors', () => {
  for (const [group, cases] of [['layer arguments', layerArgs], ['shapes', shapes], ['compile', compileArgs], ['data', data]] as const) {
    describe(group, () => {
      for (const [name, f, re] of cases) {
        it(name, async () => {
          expect((await thrown(f)).message).toMatch(re);
        });
      }
    });
  }

  it('a loss that turns NaN stops fit with a message naming epoch and batch', async () => {
    const m = compiled('sparseCategoricalCrossentropy', train.sgd(1e10));
    const x = x4(64);
    const batches: number[] = [];
    let epochEnds = 0;
    const e = await thrown(() => m.fit(x, ids(64), { epochs: 3, batchSize: 8, callbacks: { onBatchEnd: (b) => { batches.push(b); }, onEpochEnd: () => { epochEnds++; } } }));
    expect(e.message).toMatch(/^fit: the loss became (NaN|Infinity|-Infinity) at epoch (\d+), batch (\d+) of 8; training stopped\. The weights diverged: lower the learning rate/);
    const [, , epoch, batch] = e.message.match(/became (\S+) at epoch (\d+), batch (\d+)/)!;
    // Training stopped at that batch: no later batch ran and its epoch never ended.
    expect(batches.length).toBe((Number(epoch) - 1) * 8 + Number(batch) - 1);
    expect(epochEnds).toBe(Number(epoch) - 1);
    x.dispose();
    m.dispose();
  });

  it('an optimizer with state shared by two models of different sizes is an error, not a heap overrun', async () => {
    for (const opt of [train.adam(0.01), train.momentum(0.1, 0.9)]) {
      const a = sequential({ seed: 1, layers: [layers.dense({ units: 2, inputShape: [3] })] });
      const b = sequential({ seed: 1, layers: [layers.dense({ units: 20, inputShape: [30] })] });
      a.compile({ optimizer: opt, loss: 'mse' });
      b.compile({ optimizer: opt, loss: 'mse' });
      await a.fit(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(4), [2, 2]));
      const e = await thrown(() => b.fit(tensor(new Float32Array(60), [2, 30]), tensor(new Float32Array(40), [2, 20])));
      expect(e.message).toMatch(new RegExp(`^${opt.className} optimizer: it holds state for 32 weights but was asked to update 640: one optimizer instance serves one model`));
      a.dispose(); b.dispose();
    }
  });

  it('cross-entropy on outputs that are not probabilities names the row and asks for a softmax', async () => {
    const m = sequential({ seed: 3, layers: [layers.dense({ units: 4, inputShape: [5], name: 'lin' })] });
    m.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    const x = tensor(randn(40, 8, 3), [8, 5]), y = tensor(Array.from({ length: 32 }, (_, i) => (i % 4 === 0 ? 1 : 0)), [8, 4]);
    const re = /^categoricalCrossentropy: output row \d+ of the batch must be probabilities \(non-negative, not all zero\): cross-entropy needs an output layer with activation 'softmax', got \[-?[\d.e-]+, /;
    expect((await thrown(() => m.fit(x, y))).message).toMatch(re);
    expect((await thrown(() => m.evaluate(x, y))).message).toMatch(re);
    x.dispose(); y.dispose(); m.dispose();
  });

  it('MSE on a diverging linear model also stops with the epoch and batch', async () => {
    const m = sequential({ seed: 2, layers: [layers.dense({ units: 2, inputShape: [3] })] });
    m.compile({ optimizer: train.sgd(1e30), loss: 'meanSquaredError' });
    const x = tensor(randn(30, 4, 10), [10, 3]), y = tensor(randn(20, 5), [10, 2]);
    const e = await thrown(() => m.fit(x, y, { epochs: 5, batchSize: 5 }));
    expect(e.message).toMatch(/^fit: the loss became (NaN|Infinity) at epoch \d+, batch [12] of 2; training stopped/);
    x.dispose(); y.dispose(); m.dispose();
  });
});
