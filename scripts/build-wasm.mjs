// Compiles assembly/index.ts into the wasm variants the loader picks from at run time: the
// targets of asconfig.json (shared options there, one target per build), so `npx asc --config
// asconfig.json --target relaxed` builds any one of them by hand. Every build imports its memory:
// TypeScript owns the layout (see src/backend/heap.ts).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(root, 'wasm'), { recursive: true });
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
const config = JSON.parse(readFileSync(join(root, 'asconfig.json'), 'utf8'));
for (const [name, target] of Object.entries(config.targets)) {
  execFileSync(process.execPath, [asc, '--config', 'asconfig.json', '--target', name], { cwd: root, stdio: 'inherit' });
  console.log(`${target.outFile.replace('./wasm/', '')} ${statSync(join(root, target.outFile)).size} bytes`);
}
