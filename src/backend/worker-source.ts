// The pool worker, as source text: it runs from an eval'd string in Node and a Blob URL in
// browsers, so it needs no separate file for bundlers to find. Kept tiny: instantiate the shared
// module, then wait for jobs forever (terminated with the pool).

export const WORKER_SOURCE = String.raw`
function start(d) {
  const C = d.ctrlWords;
  const ctrl = new Int32Array(d.memory.buffer, d.ctrl, C.words);
  let instance;
  try {
    instance = new WebAssembly.Instance(d.module, { env: { memory: d.memory, abort: () => { throw new Error('abort'); } } });
  } catch (e) {
    Atomics.store(ctrl, C.error, d.tid);
    Atomics.notify(ctrl, C.ready);
    return;
  }
  const fns = d.exportNames.map((n) => instance.exports[n]);
  // Read the generation BEFORE announcing readiness: the first job may be posted the moment
  // ready is counted, and it must look new to this loop.
  let seen = Atomics.load(ctrl, C.generation);
  Atomics.add(ctrl, C.ready, 1);
  Atomics.notify(ctrl, C.ready);
  for (;;) {
    // Spin before sleeping: on a virtual machine a sleeping thread's vCPU halts and waking it costs
    // 50-150 us (measured here: a 1 us job took 56 us after a 20 us pause, 4 us when the worker
    // spins). The next job of a training step comes well inside the spin; an idle pool sleeps.
    let g = seen;
    const until = performance.now() + d.spinMs;
    for (let i = 1; g === seen; i++) {
      g = Atomics.load(ctrl, C.generation);
      if ((i & 255) === 0 && performance.now() > until) break;
    }
    if (g === seen) { Atomics.wait(ctrl, C.generation, seen); g = Atomics.load(ctrl, C.generation); }
    if (g < 0) return;
    seen = g;
    // The table may have been re-viewed after memory growth: take a fresh view each job.
    const jobs = new Float64Array(d.memory.buffer, d.jobs + d.tid * d.jobSlots * 8, d.jobSlots);
    const fn = jobs[0];
    if (fn >= 0) {
      const argc = jobs[1];
      const args = new Array(argc);
      for (let i = 0; i < argc; i++) args[i] = jobs[2 + i];
      try { fns[fn](...args); } catch (e) { Atomics.store(ctrl, C.error, d.tid); }
    }
    if (Atomics.sub(ctrl, C.pending, 1) === 1) Atomics.notify(ctrl, C.pending);
  }
}
`;
