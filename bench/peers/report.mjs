// The peers comparison as a markdown table and an SVG bar chart of the ratios. Every ratio is
// "how many times better simdcnn is": throughput simdcnn/peer, latency/time/bytes peer/simdcnn.

const fmt = (v, d = 0) => (v < 10 ? v.toFixed(2) : v >= 100 || d === 0 ? Math.round(v).toLocaleString('en-US') : v.toFixed(d));
const ratio = (r) => (r == null ? '—' : r >= 10 ? `**${r.toFixed(0)}×**` : `**${r.toFixed(2)}×**`);
const kb = (b) => `${(b / 1024).toFixed(0)} KB`;

export function markdown(res) {
  const m = res.machine, v = res.versions;
  const L = [];
  L.push(`### simdcnn vs TensorFlow.js and ONNX Runtime Web — reference CNN (Conv32-3×3, MaxPool, Conv64-3×3, MaxPool, Dense64, Dense10)`);
  L.push('');
  L.push(`${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.platform}; ${m.date.slice(0, 10)}. simdcnn ${v.simdcnn} (${res.simdcnnWasm}), @tensorflow/tfjs ${v.tfjs}, @tensorflow/tfjs-backend-wasm ${v.tfjsWasm}, onnxruntime-web ${v.ort}.`);
  const load = m.loadAverage1m;
  if (load) {
    const busy = Math.max(load.start, load.end) > 0.75 * m.cores;
    L.push(`Load average (1 min) at start / end: ${load.start.toFixed(2)} / ${load.end.toFixed(2)}${busy ? ' — **the machine was busy with other work during this run: absolute figures are low and noisy for every library; the ratios (turns taken round by round) are the comparable part**' : ''}.`);
  }
  L.push(`Same weights, same synthetic images and labels for every library; libraries take turns round by round (${res.rounds} rounds), medians of all timed repetitions after warm-up (tinybench). **×** = how many times better simdcnn is (throughput simdcnn/peer; latency, time and bytes peer/simdcnn).`);
  L.push('');
  L.push('| task | peer | peer | simdcnn 1 thread | × | simdcnn ' + res.allThreads + ' threads | × |');
  L.push('|---|---|---:|---:|---:|---:|---:|');
  for (const r of res.rows) {
    const unit = r.unit === 'ms' ? ' ms' : r.unit === 'img/s' ? ' img/s' : '';
    const d = r.unit === 'ms' ? 2 : 0;
    const peer = r.peerValue == null ? r.note : `${fmt(r.peerValue, d)}${unit}${r.note ? ` (${r.note})` : ''}`;
    const s1 = r.simdcnn1 == null ? '—' : `${fmt(r.simdcnn1, d)}${unit}`;
    const sN = r.simdcnnN == null ? '—' : `${fmt(r.simdcnnN, d)}${unit}`;
    L.push(`| ${r.task} | ${r.peer} | ${peer} | ${s1} | ${ratio(r.ratio1)} | ${sN} | ${ratio(r.ratioN)} |`);
  }
  L.push('');
  L.push('| cold start (fresh process) | import | init | first prediction | total | × | JS + wasm shipped (gzip -9) | × |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of res.cold) {
    const s = c.sizes;
    L.push(`| ${c.label} | ${c.importMs.toFixed(0)} ms | ${c.initMs.toFixed(0)} ms | ${c.firstPredictMs.toFixed(1)} ms | ${c.totalMs.toFixed(0)} ms | ${ratio(c.timeRatio)} | ${kb(s.jsBytes)} + ${kb(s.wasmBytes)} (${kb(s.totalGzip)}) | ${ratio(c.bytesRatio)} |`);
  }
  L.push('');
  L.push('Checks before timing: max |prediction − simdcnn| over 64 images — ' + Object.entries(res.agreement).map(([k, d]) => `${k} ${d.toExponential(1)}`).join(', ') +
    `; supplied tfjs-wasm Conv2DBackpropFilter vs tfjs-cpu: max rel. error ${res.convGradError.toExponential(1)}.`);
  for (const n of res.notes) L.push(`- ${n}`);
  L.push('');
  L.push('Targets: ' + res.targets.map((t) => `${t.name}: ${t.value.toFixed(2)}× (target ${t.want}) ${t.met ? 'met' : '**missed**'}`).join('; ') + '.');
  return L.join('\n') + '\n';
}

/** Horizontal bars on a log scale (ratios span 1× to 1000×), a rule at 1× (parity). */
export function svg(res) {
  const bars = [];
  for (const r of res.rows) {
    if (r.ratioN != null) bars.push({ label: `${r.short} (simdcnn ${res.allThreads} threads)`, v: r.ratioN });
    if (r.ratio1 != null) bars.push({ label: `${r.short} (simdcnn 1 thread)`, v: r.ratio1 });
  }
  for (const c of res.cold) {
    if (c.timeRatio != null) bars.push({ label: `cold start time vs ${c.lib}`, v: c.timeRatio });
    if (c.bytesRatio != null) bars.push({ label: `bytes shipped (gzip) vs ${c.lib}`, v: c.bytesRatio });
  }
  const W = 900, labelW = 400, rowH = 20, top = 40, barW = W - labelW - 70;
  const H = top + bars.length * rowH + 30;
  const maxV = Math.max(10, ...bars.map((b) => b.v));
  const lo = Math.min(0.5, ...bars.map((b) => b.v));
  const x = (v) => labelW + ((Math.log10(v) - Math.log10(lo)) / (Math.log10(maxV) - Math.log10(lo))) * barW;
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(`simdcnn vs peers: how many times better (log scale) — ${res.machine.cpu}, ${res.machine.cores} cores, Node ${res.machine.node}`)}</text>`];
  for (let p = Math.ceil(Math.log10(lo)); p <= Math.floor(Math.log10(maxV)); p++) {
    const gx = x(10 ** p).toFixed(1);
    out.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${H - 24}" stroke="${p === 0 ? '#333' : '#ddd'}"/>`,
      `<text x="${gx}" y="${H - 10}" text-anchor="middle" fill="#555">${10 ** p}×</text>`);
  }
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    const x0 = x(Math.min(1, b.v)), x1 = x(Math.max(1, b.v));
    out.push(`<text x="${labelW - 8}" y="${y + 13}" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${x0.toFixed(1)}" y="${y + 3}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${rowH - 6}" fill="${b.v >= 1 ? '#2b7bb9' : '#d9534f'}"/>`,
      `<text x="${(x1 + 4).toFixed(1)}" y="${y + 13}">${b.v >= 10 ? b.v.toFixed(0) : b.v.toFixed(2)}×</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
