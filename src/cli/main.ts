// Entry of the `simdcnn` command (dist/cli.js; tsup adds the #! line).
import { runCli } from './run.js';

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
