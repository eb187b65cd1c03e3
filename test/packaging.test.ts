// What installing simdcnn pulls in: Dawn ('webgpu', ~130 MB) is an optional peer dependency, so
// `npm install simdcnn` does not fetch it, and without it setBackend('webgpu') in Node (and the
// CLI's --backend webgpu) is an Error that says how to get it. The package is made absent for a
// child Node process by resolving it from an empty folder (helpers/hide-package.ts); with it
// present the same calls fail differently (no adapter here), which shows the hiding is what
// produces the message.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { hidePackages } from './helpers/hide-package.js';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const MISSING = "setBackend('webgpu') needs the optional package 'webgpu' (in Node, WebGPU comes from Dawn), which is not installed; install it with: npm install webgpu";

function node(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { ...process.env, SIMDCNN_DEBUG: '' } },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

function built(file: string): string {
  const p = join(root, file);
  if (!existsSync(p)) throw new Error(`${file} is missing: run npm run build first (npm test does)`);
  return p;
}

describe('packaging', () => {
  it("'webgpu' is an optional peer dependency (our own tests get it as a devDependency); jpeg-js is optional", () => {
    expect(pkg.peerDependencies?.webgpu).toBeDefined();
    expect(pkg.peerDependenciesMeta?.webgpu).toEqual({ optional: true });
    expect(pkg.devDependencies?.webgpu).toBe(pkg.peerDependencies.webgpu);
    expect(pkg.dependencies?.webgpu).toBeUndefined();
    expect(pkg.optionalDependencies?.webgpu).toBeUndefined();
    expect(pkg.optionalDependencies?.['jpeg-js']).toBeDefined();
    expect(pkg.dependencies?.['jpeg-js']).toBeUndefined();
  });

  it("without 'webgpu': setBackend('webgpu') rejects with the npm install command; the CLI prints it", async () => {
    const lib = pathToFileURL(built('dist/index.js')).href;
    const script = `import(${JSON.stringify(lib)}).then((sc) => sc.setBackend('webgpu')).then((b) => console.log('resolved', b), (e) => console.log(e.message));`;
    const hidden = await hidePackages(['webgpu']);
    try {
      const r = await node([...hidden.nodeArgs, '--input-type=module', '-e', script]);
      expect(r.stdout).toBe(`${MISSING}\n`);
      const c = await node([...hidden.nodeArgs, built('dist/cli.js'), 'predict', 'no-model', 'no-image.png', '--backend', 'webgpu']);
      expect(c.code).toBe(1);
      expect(c.stderr).toBe(`simdcnn: --backend webgpu: ${MISSING}\n`);
    } finally {
      await hidden.dispose();
    }
    // With the package there (it is a devDependency), the same call gets past the import.
    const present = await node(['--input-type=module', '-e', script]);
    expect(present.stdout).not.toContain('not installed');
    expect(present.stdout).not.toBe('');
  });
});
