// Compiles assembly/index.ts into the wasm variants the loader picks from at run time.
// Every build imports its memory: TypeScript owns the layout (see src/backend/memory.ts).
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'wasm');
mkdirSync(out, { recursive: true });
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js');

// 4 GiB would be the wasm32 limit; 2 GiB keeps pointers positive in JS `| 0` arithmetic.
const MAX_PAGES = 32768;
const common = ['assembly/index.ts', '--runtime', 'stub', '-O3', '--noAssert', '--importMemory',
  '--initialMemory', '1', '--enable', 'simd'];
const variants = {
  'simdcnn-simd': [],
  'simdcnn-relaxed': ['--enable', 'relaxed-simd'],
  'simdcnn-simd-threads': ['--enable', 'threads', '--sharedMemory', '--maximumMemory', String(MAX_PAGES)],
  'simdcnn-relaxed-threads': ['--enable', 'relaxed-simd', '--enable', 'threads', '--sharedMemory',
    '--maximumMemory', String(MAX_PAGES)],
};
for (const [name, flags] of Object.entries(variants)) {
  const file = join(out, `${name}.wasm`);
  execFileSync(process.execPath, [asc, ...common, ...flags, '--outFile', file], { cwd: root, stdio: 'inherit' });
  console.log(`${name}.wasm ${statSync(file).size} bytes`);
}
