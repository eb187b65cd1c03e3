// What the figures were measured on: quoted beside every benchmark table.
import os from 'node:os';

export function machine() {
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism?.() ?? os.cpus().length,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    date: new Date().toISOString(),
  };
}

/** Median latency in ms of a finished tinybench task. */
export function medianMs(task) {
  const r = task.result;
  if (!r || r.error || !r.latency) throw new Error(`bench task '${task.name}' failed: ${r?.error?.message ?? 'no result'}`);
  return r.latency.p50;
}

