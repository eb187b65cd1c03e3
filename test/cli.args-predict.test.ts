// parseArgs for predict's image options: values, defaults left to the model (undefined), and the
// usage errors for bad values and for the options on other commands.
import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../src/cli/args.js';

const usageError = (argv: string[]) => {
  try {
    parseArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error(`parseArgs(${JSON.stringify(argv)}) did not throw`);
};

describe('predict image options', () => {
  it('parse into the command; absent ones stay undefined (the model kind decides)', () => {
    expect(parseArgs(['predict', 'net.onnx', 'cat.jpg', '--size', '224', '--normalize', 'imagenet', '--top', '3', '--layout', 'nchw'])).toMatchObject({
      command: 'predict', modelDir: 'net.onnx', file: 'cat.jpg', size: 224, normalize: 'imagenet', top: 3, layout: 'nchw',
    });
    const plain = parseArgs(['predict', 'model', 'cat.png']);
    for (const k of ['size', 'normalize', 'top', 'layout']) expect(plain).not.toHaveProperty(k);
    expect(parseArgs(['predict', 'm', 'f', '--normalize=unit'])).toMatchObject({ normalize: 'unit' });
  });

  it('bad values and other commands are usage errors naming the flag, the value and what was expected', () => {
    expect(usageError(['predict', 'm', 'f', '--size', '0']).message).toBe('--size: got "0", expected an integer from 1 to 8192');
    expect(usageError(['predict', 'm', 'f', '--normalize', 'torch']).message).toBe('--normalize: got "torch", expected one of imagenet, unit, none');
    expect(usageError(['predict', 'm', 'f', '--layout', 'chw']).message).toBe('--layout: got "chw", expected one of nhwc, nchw');
    expect(usageError(['predict', 'm', 'f', '--top', 'five']).message).toBe('--top: got "five", expected an integer from 1 to 100000');
    expect(usageError(['evaluate', 'm', '--top', '3']).message).toBe('--top does not apply to evaluate (it is for predict)');
  });
});
