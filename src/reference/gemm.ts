// Ground truth for sgemm: the textbook triple loop, in float64.

export function refGemm(m: number, n: number, k: number, a: Float32Array, transposeA: boolean, b: Float32Array,
  transposeB: boolean, opts: { bias?: Float32Array; relu?: boolean; c?: Float32Array } = {}): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = opts.c ? opts.c[i * n + j] : 0;
      for (let p = 0; p < k; p++) {
        const av = transposeA ? a[p * m + i] : a[i * k + p];
        const bv = transposeB ? b[j * k + p] : b[p * n + j];
        s += av * bv;
      }
      if (opts.bias) s += opts.bias[j];
      if (opts.relu) s = Math.max(0, s);
      out[i * n + j] = s;
    }
  }
  return out;
}
