// Hosts one runner (simdcnn.mjs, tfjs.mjs, ort.mjs) in its own process, driven by peers.mjs over
// IPC: {id, fn, args} → {id, result} or {id, error}. One process per library (and per ORT thread
// count) keeps their memories, thread pools and JITs apart while the libraries take turns.
const runner = await import(`./${process.argv[2]}.mjs`);

process.on('message', async ({ id, fn, args }) => {
  try {
    if (typeof runner[fn] !== 'function') throw new Error(`${process.argv[2]} runner has no '${fn}'`);
    const result = await runner[fn](...(args ?? []));
    process.send({ id, result });
  } catch (e) {
    process.send({ id, error: e?.stack ?? String(e) });
  }
  if (fn === 'close') process.disconnect();
});
// Orphaned (the bench failed or was interrupted): go, even if a library's threads are still up.
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
