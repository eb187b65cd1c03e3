// Command-line parsing for the simdcnn CLI. Pure: argv in, a typed command out, or a UsageError
// whose message says which argument was wrong, what was given and what was expected (the CLI
// main prints it with USAGE and exits with status 2).

export class UsageError extends Error {
  override name = 'UsageError';
}

export type Backend = 'wasm' | 'webgpu' | 'auto';
export const BACKENDS: readonly Backend[] = ['wasm', 'webgpu', 'auto'];
export const DATASETS = ['mnist'] as const;
export type Dataset = (typeof DATASETS)[number];

interface Common {
  json: boolean;
  /** Worker threads; undefined = choose automatically. */
  threads?: number;
  backend: Backend;
  /** Use only the first N images of each set (quick runs and tests); undefined = all. */
  limit?: number;
}

export interface TrainCommand extends Common {
  command: 'train';
  dataset: Dataset;
  data?: string;
  epochs: number;
  batchSize: number;
  /** undefined = random seed (the CLI should print the one it picked). */
  seed?: number;
  out?: string;
  /** 'notes' (default), 'resnet', 'mobilenet', or a path to an (untrained) model.json. */
  model: string;
}

export interface EvaluateCommand extends Common {
  command: 'evaluate';
  modelDir: string;
  data?: string;
  batchSize: number;
}

export interface PredictCommand extends Common {
  command: 'predict';
  /** A layers model folder, its model.json, or an .onnx file. */
  modelDir: string;
  file: string;
  batchSize: number;
  /** Image models whose input size is not fixed: resize to size × size. */
  size?: number;
  /** Image models: pixel scaling; undefined = by model kind (imagenet for .onnx, none otherwise). */
  normalize?: PredictNormalize;
  /** Image models: how many classes to print (default DEFAULT_TOP). */
  top?: number;
  /** Image models: the input layout; undefined = nchw for .onnx, nhwc otherwise. */
  layout?: 'nhwc' | 'nchw';
}

export const NORMALIZE_MODES = ['imagenet', 'unit', 'none'] as const;
export type PredictNormalize = (typeof NORMALIZE_MODES)[number];
export const DEFAULT_TOP = 5;

export interface BenchCommand extends Omit<Common, 'limit'> {
  command: 'bench';
  /** A TensorFlow.js layers model folder, the path of its model.json, or an .onnx file. */
  model: string;
  /** Examples per predict call. */
  batch: number;
  /** How long to time predict for, after the warm-up. */
  seconds: number;
}

export interface HelpCommand {
  command: 'help';
}

export type Command = TrainCommand | EvaluateCommand | PredictCommand | BenchCommand | HelpCommand;

export const DEFAULT_EPOCHS = 3;
export const DEFAULT_BATCH_SIZE = 32;
/** Inference has no step to take per batch: bigger batches are simply faster. */
export const DEFAULT_EVAL_BATCH_SIZE = 256;
/** bench measures latency by default: one example per call. */
export const DEFAULT_BENCH_BATCH = 1;
export const DEFAULT_BENCH_SECONDS = 3;

export const USAGE = `Usage:
  simdcnn train mnist [--model notes|resnet|mobilenet|PATH] [--data DIR] [--epochs N] [--batch-size N]
                      [--seed S] [--out DIR]
  simdcnn evaluate MODEL_DIR [--data DIR] [--batch-size N]
  simdcnn predict MODEL_DIR FILE [--batch-size N] [--size N] [--normalize imagenet|unit|none] [--top K]
                      [--layout nhwc|nchw]
  simdcnn bench MODEL [--batch N] [--seconds S]
  simdcnn --help
  (all commands also take --json, --threads N and --backend B; train, evaluate and predict --limit N)

Commands:
  train mnist        Train the MNIST CNN (validating on the test set each epoch), report
                     test accuracy and speed, and save it as a TensorFlow.js layers model
                     with history.json and training-curves.svg beside it.
  evaluate MODEL_DIR Report loss and accuracy of a saved model on the MNIST test set.
  predict MODEL_DIR FILE
                     Classify images. An MNIST model (28x28x1 input): FILE is a PNG digit or
                     an IDX images file (.gz or not). Any other image classifier (MODEL_DIR:
                     a layers model folder, its model.json, or an .onnx file): FILE is a PNG
                     or JPEG, centre-cropped to the model's aspect ratio, resized and
                     normalized; prints the top classes and their probabilities.
  bench MODEL        Time predict on random inputs of the model's input shape(s): latency
                     median and p90, images/s. MODEL: a TensorFlow.js layers model folder
                     (model.json + weights), the path of its model.json, or an .onnx file.

Options:
  --model M          What train trains: notes (the notes' CNN, default), resnet (a small ResNet
                     with batch norm), mobilenet (a small depthwise-separable network), or
                     PATH/model.json (any architecture saved in the TensorFlow.js layers format;
                     its weights, if the file has any, are the starting point)
  --data DIR         MNIST folder (default: $SIMDCNN_DATA, else ~/.cache/simdcnn/mnist;
                     missing files are downloaded from $SIMDCNN_MNIST_MIRROR or the standard mirror)
  --epochs N         Training epochs, 1..100000 (default ${DEFAULT_EPOCHS})
  --batch-size N     Examples per batch, 1..65536 (default ${DEFAULT_BATCH_SIZE} for train,
                     ${DEFAULT_EVAL_BATCH_SIZE} for evaluate and predict)
  --batch N          bench: examples per predict call, 1..65536 (default ${DEFAULT_BENCH_BATCH})
  --seconds S        bench: how long to time predict after the warm-up, 0.1..3600
                     (default ${DEFAULT_BENCH_SECONDS})
  --size N           predict: the image size for models whose input size is not fixed
                     (ONNX with symbolic height/width), 1..8192
  --normalize M      predict: imagenet (x/255, then torchvision's mean/std; default for .onnx),
                     unit (x/255) or none (0..255; default for layers models)
  --top K            predict: how many classes to print, 1..100000 (default ${DEFAULT_TOP})
  --layout L         predict: the model's input layout, nhwc (default for layers models) or
                     nchw (default for .onnx)
  --seed S           Seed for initialisation and shuffling, 0..4294967295 (default: random)
  --out DIR          Where train saves the model (model.json, weights.bin; default
                     ./simdcnn-mnist-model)
  --json             Print machine-readable JSON results instead of text
  --threads N        Worker threads, 1..64 (default: number of cores)
  --backend B        wasm, webgpu or auto (default auto = wasm in Node; webgpu needs the optional
                     'webgpu' package: npm install webgpu)
  --limit N          Use only the first N training and N test images (or the first N
                     images of an IDX FILE), 1..1000000: for quick runs
  -h, --help         Show this help
`;

type FlagKind = { type: 'int'; min: number; max: number } | { type: 'number'; min: number; max: number } |
  { type: 'string'; what: string } | { type: 'bool' } | { type: 'enum'; values: readonly string[] };

const FLAGS: Record<string, { kind: FlagKind; commands: readonly string[] }> = {
  '--data': { kind: { type: 'string', what: 'a folder' }, commands: ['train', 'evaluate'] },
  '--epochs': { kind: { type: 'int', min: 1, max: 100000 }, commands: ['train'] },
  '--batch-size': { kind: { type: 'int', min: 1, max: 65536 }, commands: ['train', 'evaluate', 'predict'] },
  '--seed': { kind: { type: 'int', min: 0, max: 4294967295 }, commands: ['train'] },
  '--out': { kind: { type: 'string', what: 'a folder' }, commands: ['train'] },
  '--batch': { kind: { type: 'int', min: 1, max: 65536 }, commands: ['bench'] },
  '--seconds': { kind: { type: 'number', min: 0.1, max: 3600 }, commands: ['bench'] },
  '--json': { kind: { type: 'bool' }, commands: ['train', 'evaluate', 'predict', 'bench'] },
  '--threads': { kind: { type: 'int', min: 1, max: 64 }, commands: ['train', 'evaluate', 'predict', 'bench'] },
  '--backend': { kind: { type: 'enum', values: BACKENDS }, commands: ['train', 'evaluate', 'predict', 'bench'] },
  '--limit': { kind: { type: 'int', min: 1, max: 1000000 }, commands: ['train', 'evaluate', 'predict'] },
  '--model': { kind: { type: 'string', what: 'notes, resnet, mobilenet or a model.json path' }, commands: ['train'] },
  '--size': { kind: { type: 'int', min: 1, max: 8192 }, commands: ['predict'] },
  '--normalize': { kind: { type: 'enum', values: NORMALIZE_MODES }, commands: ['predict'] },
  '--top': { kind: { type: 'int', min: 1, max: 100000 }, commands: ['predict'] },
  '--layout': { kind: { type: 'enum', values: ['nhwc', 'nchw'] }, commands: ['predict'] },
};

const COMMANDS = ['train', 'evaluate', 'predict', 'bench'] as const;

function describeKind(k: FlagKind): string {
  switch (k.type) {
    case 'int': return `an integer from ${k.min} to ${k.max}`;
    case 'number': return `a number from ${k.min} to ${k.max}`;
    case 'string': return k.what;
    case 'enum': return `one of ${k.values.join(', ')}`;
    case 'bool': return 'no value';
  }
}

function parseValue(flag: string, raw: string, kind: FlagKind): string | number | boolean {
  switch (kind.type) {
    case 'int': {
      if (!/^\d+$/.test(raw) || Number(raw) < kind.min || Number(raw) > kind.max) {
        throw new UsageError(`${flag}: got ${JSON.stringify(raw)}, expected ${describeKind(kind)}`);
      }
      return Number(raw);
    }
    case 'number': {
      // Plain decimals only: Number() would also take '0x10', '1e3' or ' 5'.
      if (!/^\d+(\.\d+)?$|^\.\d+$/.test(raw) || Number(raw) < kind.min || Number(raw) > kind.max) {
        throw new UsageError(`${flag}: got ${JSON.stringify(raw)}, expected ${describeKind(kind)}`);
      }
      return Number(raw);
    }
    case 'enum':
      if (!kind.values.includes(raw)) {
        throw new UsageError(`${flag}: got ${JSON.stringify(raw)}, expected ${describeKind(kind)}`);
      }
      return raw;
    case 'string':
      if (raw === '') throw new UsageError(`${flag}: got an empty value, expected ${kind.what}`);
      return raw;
    case 'bool':
      throw new UsageError(`${flag} takes no value, got ${JSON.stringify(raw)}`);
  }
}

/** Parse `process.argv.slice(2)`. Throws UsageError on any mistake. */
export function parseArgs(argv: readonly string[]): Command {
  if (argv.includes('--help') || argv.includes('-h')) return { command: 'help' };
  const positional: string[] = [];
  const values = new Map<string, string | number | boolean>();
  let onlyPositional = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (onlyPositional || !arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    if (arg === '--') {
      onlyPositional = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    const spec = FLAGS[flag];
    if (spec === undefined) {
      throw new UsageError(`unknown option ${flag}; expected one of ${Object.keys(FLAGS).join(', ')}, --help`);
    }
    if (values.has(flag)) throw new UsageError(`${flag} given more than once`);
    let raw: string | undefined;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else if (spec.kind.type !== 'bool') {
      raw = argv[i + 1];
      if (raw === undefined || (raw.startsWith('--') && raw.length > 2)) {
        throw new UsageError(`${flag} needs a value: ${describeKind(spec.kind)}`);
      }
      i++;
    }
    values.set(flag, raw === undefined ? true : parseValue(flag, raw, spec.kind));
  }

  const command = positional[0];
  if (command === undefined) {
    throw new UsageError(`missing command; expected one of ${COMMANDS.join(', ')}`);
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(`unknown command ${JSON.stringify(command)}; expected one of ${COMMANDS.join(', ')}`);
  }
  for (const flag of values.keys()) {
    if (!FLAGS[flag]!.commands.includes(command)) {
      throw new UsageError(`${flag} does not apply to ${command} (it is for ${FLAGS[flag]!.commands.join(', ')})`);
    }
  }
  const want = (names: string[]) => {
    const args = positional.slice(1);
    if (args.length < names.length) {
      throw new UsageError(`${command}: missing ${names.slice(args.length).join(' and ')}; usage: simdcnn ${command} ${names.join(' ')}`);
    }
    if (args.length > names.length) {
      throw new UsageError(`${command}: unexpected argument ${JSON.stringify(args[names.length])}; usage: simdcnn ${command} ${names.join(' ')}`);
    }
    return args;
  };
  const common: Common = {
    json: values.get('--json') === true,
    backend: (values.get('--backend') as Backend | undefined) ?? 'auto',
  };
  const threads = values.get('--threads') as number | undefined;
  if (threads !== undefined) common.threads = threads;
  const limit = values.get('--limit') as number | undefined;
  if (limit !== undefined) common.limit = limit;
  const givenBatch = values.get('--batch-size') as number | undefined;
  const batchSize = givenBatch ?? (command === 'train' ? DEFAULT_BATCH_SIZE : DEFAULT_EVAL_BATCH_SIZE);
  const data = values.get('--data') as string | undefined;

  switch (command) {
    case 'train': {
      const [dataset] = want(['DATASET']) as [string];
      if (!(DATASETS as readonly string[]).includes(dataset)) {
        throw new UsageError(`train: unknown dataset ${JSON.stringify(dataset)}; expected one of ${DATASETS.join(', ')}`);
      }
      const cmd: TrainCommand = {
        command, dataset: dataset as Dataset, ...common, batchSize,
        epochs: (values.get('--epochs') as number | undefined) ?? DEFAULT_EPOCHS,
        model: (values.get('--model') as string | undefined) ?? 'notes',
      };
      if (data !== undefined) cmd.data = data;
      const seed = values.get('--seed') as number | undefined;
      if (seed !== undefined) cmd.seed = seed;
      const out = values.get('--out') as string | undefined;
      if (out !== undefined) cmd.out = out;
      return cmd;
    }
    case 'evaluate': {
      const [modelDir] = want(['MODEL_DIR']) as [string];
      const cmd: EvaluateCommand = { command, modelDir, ...common, batchSize };
      if (data !== undefined) cmd.data = data;
      return cmd;
    }
    case 'bench': {
      const [model] = want(['MODEL']) as [string];
      // common has no limit here: --limit was refused above as not applying to bench.
      return {
        command, model, ...common,
        batch: (values.get('--batch') as number | undefined) ?? DEFAULT_BENCH_BATCH,
        seconds: (values.get('--seconds') as number | undefined) ?? DEFAULT_BENCH_SECONDS,
      };
    }
    default: {
      const [modelDir, file] = want(['MODEL_DIR', 'FILE']) as [string, string];
      const cmd: PredictCommand = { command: 'predict', modelDir, file, ...common, batchSize };
      for (const [flag, key] of [['--size', 'size'], ['--normalize', 'normalize'], ['--top', 'top'], ['--layout', 'layout']] as const) {
        const v = values.get(flag);
        if (v !== undefined) (cmd as unknown as Record<string, unknown>)[key] = v;
      }
      return cmd;
    }
  }
}
