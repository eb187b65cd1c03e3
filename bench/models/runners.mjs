// The processes bench/models.mjs drives, one per library (and per ORT thread count): Node runners
// hosted by bench/peers/child.mjs over IPC, PyTorch by bench/models/pytorch.py over JSON lines on
// its stdin/stdout. Both expose call(fn, args) → Promise, rejected with the runner's label.
import { fork, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const PYTHON = '/usr/bin/python3';

/** A Node runner: bench/models/<name>.mjs in its own process. */
export function nodeRunner(name, label) {
  const child = fork(new URL('../peers/child.mjs', import.meta.url), [`../models/${name}`], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let next = 0;
  const waiting = new Map();
  const ready = new Promise((res, rej) => {
    child.once('message', res);
    child.once('exit', (code) => rej(new Error(`${label} exited with code ${code} before it was ready`)));
  });
  child.on('message', (m) => {
    if (m.id === undefined) return;
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(`${label}: ${m.error}`));
    else w.resolve(m.result);
  });
  child.on('exit', (code) => { for (const w of waiting.values()) w.reject(new Error(`${label} exited with code ${code}`)); waiting.clear(); });
  const call = async (fn, args) => {
    await ready;
    const id = next++;
    return new Promise((resolve, reject) => { waiting.set(id, { resolve, reject }); child.send({ id, fn, args: [args] }); });
  };
  // ORT's pthreads would keep a child alive after close: end each runner by its own handle.
  const close = async () => {
    try { await call('close', {}); } catch { /* already gone */ }
    child.kill();
  };
  return { label, call, close };
}

/**
 * The PyTorch runner, or { available: false, reason } when /usr/bin/python3 is missing or cannot
 * import torch (the rows then say so instead of a figure).
 */
export async function pythonRunner(label = 'pytorch') {
  const child = spawn(PYTHON, [new URL('./pytorch.py', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  let next = 0;
  const waiting = new Map();
  let first;
  const ready = new Promise((res) => { first = res; });
  child.on('error', (e) => first({ ready: false, error: e.code === 'ENOENT' ? `${PYTHON} not found` : e.message }));
  child.on('exit', (code) => {
    first({ ready: false, error: `${PYTHON} exited with code ${code}` });
    for (const w of waiting.values()) w.reject(new Error(`${label} exited with code ${code}`));
    waiting.clear();
  });
  lines.on('line', (line) => {
    let m;
    try {
      m = JSON.parse(line);
    } catch {
      return; // not the protocol: pytorch.py sends everything else to stderr, so this is a stray write
    }
    if (m.id === undefined) { first(m); return; }
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(`${label}: ${m.error}`));
    else w.resolve(m.result);
  });
  const hello = await ready;
  if (!hello.ready) {
    child.kill();
    return { available: false, reason: `not installed: ${hello.error}` };
  }
  const call = (fn, args) => {
    const id = next++;
    return new Promise((resolve, reject) => { waiting.set(id, { resolve, reject }); child.stdin.write(JSON.stringify({ id, fn, args }) + '\n'); });
  };
  const close = async () => {
    try { await call('close', {}); } catch { /* already gone */ }
    child.stdin.end();
    child.kill();
  };
  return { available: true, label, version: hello.version, call, close };
}
