// The CLI's dispatcher and exit codes: 0 done, 1 an error (message only, no stack unless
// SIMDCNN_DEBUG is set), 2 a usage error (message + USAGE on stderr).

import { terminateThreads } from '../backend/runtime.js';
import { USAGE, UsageError, parseArgs } from './args.js';
import { runBench } from './bench.js';
import { BadOptionError, nodeIO, type CliIO } from './common.js';
import { runEvaluate } from './evaluate.js';
import { runPredict } from './predict.js';
import { runTrain } from './train.js';

export async function runCli(argv: readonly string[], io: CliIO = nodeIO()): Promise<number> {
  try {
    const cmd = parseArgs(argv);
    switch (cmd.command) {
      case 'help':
        io.out(USAGE.trimEnd());
        return 0;
      case 'train':
        await runTrain(cmd, io);
        return 0;
      case 'evaluate':
        await runEvaluate(cmd, io);
        return 0;
      case 'predict':
        await runPredict(cmd, io);
        return 0;
      case 'bench':
        await runBench(cmd, io);
        return 0;
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`simdcnn: ${err.message}\n`);
      io.err(USAGE.trimEnd());
      return 2;
    }
    if (err instanceof BadOptionError) {
      io.err(`simdcnn: ${err.message}`);
      return 2;
    }
    const e = err as Error;
    io.err(`simdcnn: ${e?.message ?? String(err)}`);
    if (process.env['SIMDCNN_DEBUG'] && e?.stack) io.err(e.stack);
    return 1;
  } finally {
    terminateThreads();
  }
}
