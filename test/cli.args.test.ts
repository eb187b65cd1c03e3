import { describe, expect, it } from 'vitest';
import { DEFAULT_BATCH_SIZE, DEFAULT_EPOCHS, DEFAULT_EVAL_BATCH_SIZE, USAGE, UsageError, parseArgs } from '../src/cli/args.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_IN_MODELS, mnistModel } from '../src/cli/mnist-models.js';
import { input, layers, model } from '../src/index.js';

function usageError(argv: string[]): UsageError {
  try {
    parseArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).name).toBe('UsageError');
    return e as UsageError;
  }
  throw new Error(`expected a UsageError for ${JSON.stringify(argv)}`);
}

describe('parseArgs', () => {
  it('parses train with every flag, in both --flag value and --flag=value forms', () => {
    expect(parseArgs(['train', 'mnist', '--data', '/d', '--epochs=3', '--batch-size', '128', '--seed', '0',
      '--out', 'm', '--json', '--threads', '2', '--backend=wasm', '--model', 'resnet'])).toEqual({
      command: 'train', dataset: 'mnist', data: '/d', epochs: 3, batchSize: 128, seed: 0, out: 'm',
      json: true, threads: 2, backend: 'wasm', model: 'resnet',
    });
    expect(parseArgs(['train', 'mnist', '--model=arch/model.json'])).toMatchObject({ model: 'arch/model.json' });
  });

  it('fills defaults and leaves unset options out', () => {
    expect(parseArgs(['train', 'mnist'])).toEqual({
      command: 'train', dataset: 'mnist', epochs: DEFAULT_EPOCHS, batchSize: DEFAULT_BATCH_SIZE, json: false, backend: 'auto', model: 'notes',
    });
    expect(parseArgs(['--json', 'evaluate', 'model'])).toEqual({
      command: 'evaluate', modelDir: 'model', batchSize: DEFAULT_EVAL_BATCH_SIZE, json: true, backend: 'auto',
    });
    expect(parseArgs(['predict', 'model', 'digit.png', '--backend', 'webgpu'])).toEqual({
      command: 'predict', modelDir: 'model', file: 'digit.png', batchSize: DEFAULT_EVAL_BATCH_SIZE, json: false, backend: 'webgpu',
    });
    expect(parseArgs(['predict', 'm', '--', '--odd-name.png']))
      .toMatchObject({ file: '--odd-name.png' });
    expect(parseArgs(['train', 'mnist', '--seed', '4294967295'])).toMatchObject({ seed: 4294967295 });
  });

  it('defaults to the issue\'s 3 epochs of batch 32 and takes --limit on every command', () => {
    expect([DEFAULT_EPOCHS, DEFAULT_BATCH_SIZE, DEFAULT_EVAL_BATCH_SIZE]).toEqual([3, 32, 256]);
    expect(parseArgs(['train', 'mnist', '--limit', '2000'])).toMatchObject({ limit: 2000 });
    expect(parseArgs(['evaluate', 'm', '--limit=10'])).toMatchObject({ limit: 10 });
    expect(parseArgs(['predict', 'm', 'f', '--limit', '1'])).toMatchObject({ limit: 1 });
    expect(usageError(['train', 'mnist', '--limit', '0']).message).toBe('--limit: got "0", expected an integer from 1 to 1000000');
  });

  it('returns help for --help or -h anywhere', () => {
    expect(parseArgs(['--help'])).toEqual({ command: 'help' });
    expect(parseArgs(['train', 'mnist', '--epochs', 'x', '-h'])).toEqual({ command: 'help' });
  });

  it('rejects bad values naming the flag, the value and what is expected', () => {
    expect(usageError(['train', 'mnist', '--epochs', '0']).message).toBe('--epochs: got "0", expected an integer from 1 to 100000');
    expect(usageError(['train', 'mnist', '--epochs', '2.5']).message).toBe('--epochs: got "2.5", expected an integer from 1 to 100000');
    expect(usageError(['train', 'mnist', '--batch-size=abc']).message).toBe('--batch-size: got "abc", expected an integer from 1 to 65536');
    expect(usageError(['train', 'mnist', '--seed', '-1']).message).toBe('--seed: got "-1", expected an integer from 0 to 4294967295');
    expect(usageError(['train', 'mnist', '--seed', '4294967296']).message).toMatch(/--seed: got "4294967296"/);
    expect(usageError(['train', 'mnist', '--threads', '1e3']).message).toBe('--threads: got "1e3", expected an integer from 1 to 64');
    expect(usageError(['evaluate', 'm', '--backend', 'cuda']).message).toBe('--backend: got "cuda", expected one of wasm, webgpu, auto');
    expect(usageError(['train', 'mnist', '--epochs']).message).toBe('--epochs needs a value: an integer from 1 to 100000');
    expect(usageError(['train', 'mnist', '--out', '--json']).message).toBe('--out needs a value: a folder');
    expect(usageError(['train', 'mnist', '--data=']).message).toBe('--data: got an empty value, expected a folder');
    expect(usageError(['train', 'mnist', '--json=yes']).message).toBe('--json takes no value, got "yes"');
  });

  it('rejects unknown, repeated and misplaced options and wrong positionals', () => {
    expect(usageError(['train', 'mnist', '--epoch', '3']).message).toMatch(/^unknown option --epoch; expected one of --data, --epochs, /);
    expect(usageError(['train', 'mnist', '--epochs', '3', '--epochs=4']).message).toBe('--epochs given more than once');
    expect(usageError(['predict', 'm', 'f', '--epochs', '3']).message).toBe('--epochs does not apply to predict (it is for train)');
    expect(usageError([]).message).toBe('missing command; expected one of train, evaluate, predict, bench');
    expect(usageError(['fit']).message).toBe('unknown command "fit"; expected one of train, evaluate, predict, bench');
    expect(usageError(['train']).message).toBe('train: missing DATASET; usage: simdcnn train DATASET');
    expect(usageError(['train', 'cifar10']).message).toBe('train: unknown dataset "cifar10"; expected one of mnist');
    expect(usageError(['predict', 'm']).message).toBe('predict: missing FILE; usage: simdcnn predict MODEL_DIR FILE');
    expect(usageError(['evaluate', 'm', 'extra']).message).toBe('evaluate: unexpected argument "extra"; usage: simdcnn evaluate MODEL_DIR');
    expect(usageError(['evaluate', 'm', '--model', 'resnet']).message).toBe('--model does not apply to evaluate (it is for train)');
  });

  it('--model: the built-in architectures build; other names and wrong-shaped model files are named errors', async () => {
    for (const name of BUILT_IN_MODELS) {
      const m = await mnistModel(name, 1);
      expect([m.inputShape, m.outputShape]).toEqual([[28, 28, 1], [10]]);
      m.dispose();
    }
    await expect(mnistModel('vgg', 1)).rejects.toThrow('--model: "vgg" is not one of notes, resnet, mobilenet nor a path to a model.json');
    const dir = mkdtempSync(join(tmpdir(), 'simdcnn-model-'));
    const x = input({ shape: [8, 8, 1] });
    const wrong = model({ inputs: x, outputs: layers.dense({ units: 10 }).apply(layers.flatten().apply(x)) });
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ modelTopology: wrong.toJSON(), weightsManifest: [] }));
    wrong.dispose();
    await expect(mnistModel(join(dir, 'model.json'), 1)).rejects.toThrow(/MNIST needs one input of shape \[28, 28, 1\].*inputs \[8,8,1\]/);
  });

  it('documents every flag in USAGE', () => {
    for (const f of ['--data', '--epochs', '--batch-size', '--seed', '--out', '--json', '--threads', '--backend', '--limit', '--model', '--help']) {
      expect(USAGE).toContain(f);
    }
    expect(USAGE).toMatch(/^Usage:\n  simdcnn train mnist/);
  });
});
