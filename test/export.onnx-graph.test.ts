// model.toONNX() of functional graphs: onnxruntime-web (wasm, one thread) in Node must give
// model.predict's numbers for residual adds, branch concatenations, broadcasting merges, shared
// layers and several inputs and outputs; and the exported graph is checked for its structure
// (names, one set of initializers per shared layer, each tensor transposed at most once per direction).
import * as ort from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import { input, layers, model, tensor, type LayersModel, type Tensor } from '../src/index.js';
import { randn } from './helpers/random.js';

beforeAll(() => {
  ort.env.wasm.numThreads = 1;
});

const BATCH = 3;
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

// --- a minimal ONNX reader (the fields the exporter writes), for structural checks ---
interface OnnxNode { op: string; inputs: string[]; outputs: string[]; attrs: Record<string, number | number[]> }
interface OnnxGraph { nodes: OnnxNode[]; initializers: string[]; inputs: string[]; outputs: string[] }

function fields(buf: Uint8Array): [number, number | bigint | Uint8Array][] {
  const out: [number, number | bigint | Uint8Array][] = [];
  let p = 0;
  const varint = (): bigint => {
    let v = 0n, shift = 0n;
    for (;;) {
      const b = buf[p++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (p < buf.length) {
    const tag = Number(varint());
    const field = tag >>> 3, wire = tag & 7;
    if (wire === 0) out.push([field, varint()]);
    else if (wire === 2) {
      const n = Number(varint());
      out.push([field, buf.subarray(p, p + n)]);
      p += n;
    } else if (wire === 5) {
      out.push([field, buf.subarray(p, p + 4)]);
      p += 4;
    } else throw new Error(`wire type ${wire}`);
  }
  return out;
}
const text = (v: unknown) => new TextDecoder().decode(v as Uint8Array);
function packed(b: Uint8Array): number[] {
  const vs: number[] = [];
  let p = 0;
  while (p < b.length) {
    let v = 0n, shift = 0n;
    for (;;) {
      const x = b[p++];
      v |= BigInt(x & 0x7f) << shift;
      if (!(x & 0x80)) break;
      shift += 7n;
    }
    vs.push(Number(BigInt.asIntN(64, v)));
  }
  return vs;
}

function readOnnx(bytes: Uint8Array): OnnxGraph {
  const graph = fields(bytes).find(([f]) => f === 7)![1] as Uint8Array;
  const g: OnnxGraph = { nodes: [], initializers: [], inputs: [], outputs: [] };
  for (const [f, v] of fields(graph)) {
    if (f === 1) {
      const n: OnnxNode = { op: '', inputs: [], outputs: [], attrs: {} };
      for (const [nf, nv] of fields(v as Uint8Array)) {
        if (nf === 1) n.inputs.push(text(nv));
        else if (nf === 2) n.outputs.push(text(nv));
        else if (nf === 4) n.op = text(nv);
        else if (nf === 5) {
          const a = fields(nv as Uint8Array);
          const name = text(a.find(([x]) => x === 1)![1]);
          const i = a.find(([x]) => x === 3), ints = a.find(([x]) => x === 8);
          n.attrs[name] = i ? Number(BigInt.asIntN(64, i[1] as bigint)) : packed(ints![1] as Uint8Array);
        }
      }
      g.nodes.push(n);
    } else if (f === 5) g.initializers.push(text(fields(v as Uint8Array).find(([x]) => x === 8)![1]));
    else if (f === 11) g.inputs.push(text(fields(v as Uint8Array).find(([x]) => x === 1)![1]));
    else if (f === 12) g.outputs.push(text(fields(v as Uint8Array).find(([x]) => x === 1)![1]));
  }
  return g;
}

/** Every tensor is transposed at most once per direction; all node outputs are unique. */
function checkStructure(g: OnnxGraph): void {
  const outs = g.nodes.flatMap((n) => n.outputs);
  expect(new Set(outs).size).toBe(outs.length);
  for (const name of [...g.inputs, ...g.initializers]) expect(outs).not.toContain(name);
  const seen = new Set<string>();
  for (const n of g.nodes.filter((x) => x.op === 'Transpose')) {
    const key = `${n.inputs[0]}:${(n.attrs.perm as number[]).join()}`;
    expect(seen.has(key), `${key} transposed twice`).toBe(false);
    seen.add(key);
  }
  // A transpose is never undone: no Transpose reads another Transpose.
  const transposed = new Set(g.nodes.filter((x) => x.op === 'Transpose').map((x) => x.outputs[0]));
  for (const n of g.nodes.filter((x) => x.op === 'Transpose')) expect(transposed.has(n.inputs[0])).toBe(false);
}

/** Runs the export in ORT on `xs` (one per model input, batch BATCH) and returns max |ORT − predict| over all outputs. */
async function maxDiffVsOrt(m: LayersModel, seed: number, opset?: number): Promise<{ diff: number; graph: OnnxGraph }> {
  const bytes = await m.toONNX(opset ? { opset } : undefined);
  const graph = readOnnx(bytes);
  checkStructure(graph);
  const session = await ort.InferenceSession.create(bytes);
  expect(session.inputNames).toEqual(m.inputNames);
  const xs = m.inputs.map((t, i) => {
    const shape = [BATCH, ...t.sampleShape];
    return { shape, data: randn(size(shape), seed + i) };
  });
  const feeds: Record<string, ort.Tensor> = {};
  xs.forEach((x, i) => (feeds[session.inputNames[i]] = new ort.Tensor('float32', x.data, x.shape)));
  const out = await session.run(feeds);
  const inputs = xs.map((x) => tensor(x.data, x.shape));
  const p = m.predict(inputs.length === 1 ? inputs[0] : inputs);
  const want: Tensor[] = Array.isArray(p) ? p : [p];
  expect(session.outputNames.length).toBe(want.length);
  let diff = 0;
  want.forEach((w, i) => {
    const got = out[session.outputNames[i]];
    expect(got.dims).toEqual(w.shape);
    const a = got.data as Float32Array, b = w.dataSync();
    expect(a.length).toBe(b.length);
    for (let k = 0; k < b.length; k++) diff = Math.max(diff, Math.abs(a[k] - b[k]));
    if (!Number.isFinite(diff)) throw new Error(`output ${i}: non-finite`);
    w.dispose();
  });
  for (const t of inputs) t.dispose();
  await session.release();
  return { diff, graph };
}

const ops = (g: OnnxGraph, op: string) => g.nodes.filter((n) => n.op === op);

describe('toONNX of functional graphs', () => {
  it('residual block: conv → conv + skip add, relu, pooling, flatten, dense softmax', async () => {
    const x = input({ shape: [8, 8, 4], name: 'image' });
    const c1 = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x);
    const c2 = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(c1);
    const sum = layers.add().apply([x, c2]);
    const r = layers.activation({ activation: 'relu' }).apply(sum);
    // A second residual: the block's output feeds a conv and the next add.
    const c3 = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(r);
    const sum2 = layers.add().apply([r, c3]);
    const pool = layers.maxPooling2d({ poolSize: 2 }).apply(sum2);
    const drop = layers.dropout({ rate: 0.5 }).apply(pool);
    const flat = layers.flatten().apply(drop);
    const out = layers.dense({ units: 5, activation: 'softmax', name: 'probs' }).apply(flat);
    const m = model({ inputs: x, outputs: out, seed: 3 });
    const { diff, graph } = await maxDiffVsOrt(m, 1);
    expect(diff).toBeLessThan(1e-5);
    expect(graph.inputs).toEqual(['image']);
    expect(graph.outputs).toEqual(['probs']);
    // The adds run in NCHW: the input goes in once, the pooled map comes out once.
    expect(ops(graph, 'Transpose').length).toBe(2);
    expect(ops(graph, 'Add').length).toBe(2);
    m.dispose();
  });

  it('two conv branches concatenated on channels, then a conv (NCHW Concat on axis 1)', async () => {
    const x = input({ shape: [9, 9, 2] });
    const b1 = layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' }).apply(x);
    const b2 = layers.conv2d({ filters: 5, kernelSize: 1, activation: 'relu' }).apply(x);
    const b3 = layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x);
    const cat = layers.concatenate().apply([b1, b2, b3]);
    const out = layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, activation: 'sigmoid' }).apply(cat);
    const m = model({ inputs: x, outputs: out, seed: 4 });
    const { diff, graph } = await maxDiffVsOrt(m, 2);
    expect(diff).toBeLessThan(1e-5);
    const concat = ops(graph, 'Concat');
    expect(concat.length).toBe(1);
    expect(concat[0].attrs.axis).toBe(1);
    expect(ops(graph, 'Transpose').length).toBe(2);
    m.dispose();
  });

  it('multiply / subtract / maximum / minimum / average with broadcasting, lower-rank inputs, NCHW and NHWC', async () => {
    const a = input({ shape: [4, 4, 8], name: 'a' });
    const b = input({ shape: [1, 1, 8], name: 'b' });
    const c = input({ shape: [8], name: 'c' });
    const d = input({ shape: [4, 1, 8], name: 'd' });
    const e = input({ shape: [1, 4, 8], name: 'e' });
    const mul = layers.multiply({ name: 'mul' }).apply([a, b]);
    const sub = layers.subtract({ name: 'sub' }).apply([b, a]);
    const max = layers.maximum({ name: 'max' }).apply([a, c]);
    const min = layers.minimum({ name: 'min' }).apply([b, a, d]);
    const avg = layers.average({ name: 'avg' }).apply([a, b, c]);
    const outer = layers.maximum({ name: 'outer' }).apply([d, e]);
    const avg2 = layers.average({ name: 'avg2' }).apply([c, c]);
    // A conv output (NCHW) scaled by a per-channel gate, then pooled: the merge stays in NCHW.
    const conv = layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same' }).apply(a);
    const gated = layers.multiply().apply([conv, b]);
    const shifted = layers.subtract().apply([gated, d]);
    const pooled = layers.maxPooling2d({ poolSize: 2, name: 'pooled' }).apply(shifted);
    // And a lower-rank input merged with a conv output: channel-last, with Unsqueeze.
    const mixed = layers.add({ name: 'mixed' }).apply([c, conv, b, a]);
    const m = model({ inputs: [a, b, c, d, e], outputs: [mul, sub, max, min, avg, outer, avg2, pooled, mixed], seed: 5 });
    const { diff, graph } = await maxDiffVsOrt(m, 3);
    expect(diff).toBeLessThan(1e-5);
    expect(graph.inputs).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(graph.outputs).toEqual(['mul', 'sub', 'max', 'min', 'avg', 'outer', 'avg2', 'pooled', 'mixed']);
    expect(ops(graph, 'Unsqueeze').length).toBe(1);
    // a → NCHW (conv), b and d → NCHW (the gated merges), the pooled map → NHWC, the conv map → NHWC (mixed).
    expect(ops(graph, 'Transpose').length).toBe(5);
    const gate = ops(graph, 'Mul').find((n) => n.outputs[0].startsWith('multiply'))!;
    expect(ops(graph, 'Transpose').find((n) => n.outputs[0] === gate.inputs[1])!.inputs).toEqual(['b']);
    expect(ops(graph, 'Sum').length).toBe(2);
    m.dispose();
  });

  it('a shared dense layer (and a shared conv) applied twice: one set of initializers', async () => {
    const x = input({ shape: [6] });
    const shared = layers.dense({ units: 6, activation: 'tanh', name: 'shared' });
    const y1 = shared.apply(x);
    const y2 = shared.apply(y1);
    const s = layers.add().apply([y1, y2]);
    const out1 = layers.dense({ units: 3, name: 'head' }).apply(s);
    const img = input({ shape: [6, 6, 4] });
    const conv = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'sconv' });
    const k1 = conv.apply(img);
    const k2 = conv.apply(k1);
    const out2 = layers.concatenate({ axis: 2 }).apply([k1, k2]);
    const m = model({ inputs: [x, img], outputs: [out1, out2], seed: 6 });
    const { diff, graph } = await maxDiffVsOrt(m, 4);
    expect(diff).toBeLessThan(1e-5);
    expect(graph.initializers.filter((n) => n.startsWith('shared/'))).toEqual(['shared/kernel', 'shared/bias']);
    expect(graph.initializers.filter((n) => n.startsWith('sconv/'))).toEqual(['sconv/kernel', 'sconv/bias']);
    const gemms = ops(graph, 'Gemm').filter((n) => n.inputs[1] === 'shared/kernel');
    expect(gemms.length).toBe(2);
    expect(ops(graph, 'Conv').every((n) => n.inputs[1] === 'sconv/kernel')).toBe(true);
    m.dispose();
  });

  it('two inputs, two outputs: an image branch and a vector branch joined, a feature map as an output', async () => {
    const img = input({ shape: [10, 10, 1], name: 'img' });
    const meta = input({ shape: [5], name: 'meta' });
    const conv = layers.conv2d({ filters: 3, kernelSize: 3, activation: 'relu', name: 'features' }).apply(img);
    const pool = layers.averagePooling2d({ poolSize: 2 }).apply(conv);
    const flat = layers.flatten().apply(pool);
    const v = layers.dense({ units: 8, activation: 'relu' }).apply(meta);
    const joined = layers.concatenate().apply([flat, v]);
    const h = layers.dense({ units: 6, activation: 'relu' }).apply(joined);
    const cls = layers.dense({ units: 3, activation: 'softmax', name: 'cls' }).apply(h);
    // The feature map is both an output (NHWC) and read by the pooling (NCHW): one transpose each way.
    const m = model({ inputs: [img, meta], outputs: [cls, conv], seed: 7 });
    const { diff, graph } = await maxDiffVsOrt(m, 5);
    expect(diff).toBeLessThan(1e-5);
    expect(graph.inputs).toEqual(['img', 'meta']);
    expect(graph.outputs).toEqual(['cls', 'features']);
    expect(ops(graph, 'Transpose').length).toBe(3);
    m.dispose();
  });

  it('Concatenate on axis 1 (height) and 2 (width) of NHWC tensors, and on a rank-3 tensor', async () => {
    const x = input({ shape: [4, 5, 3], name: 'x' });
    const y = input({ shape: [2, 5, 3], name: 'y' });
    const cx = layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(x);
    const h = layers.concatenate({ axis: 1, name: 'height' }).apply([cx, y]);
    const out = layers.conv2d({ filters: 2, kernelSize: 2, name: 'after' }).apply(h);
    // Two NHWC inputs stay NHWC: Concat on axis 1 as given.
    const raw = layers.concatenate({ axis: 1, name: 'raw' }).apply([y, x]);
    const w = layers.concatenate({ axis: -2, name: 'width' }).apply([x, x]);
    const seq = input({ shape: [5, 3], name: 'seq' });
    const s2 = layers.dense({ units: 3 }).apply(seq);
    const r3 = layers.concatenate({ axis: 1, name: 'rank3' }).apply([seq, s2]);
    const m = model({ inputs: [x, y, seq], outputs: [out, raw, w, r3], seed: 8 });
    const { diff, graph } = await maxDiffVsOrt(m, 6, 17);
    expect(diff).toBeLessThan(1e-5);
    const axes = Object.fromEntries(ops(graph, 'Concat').map((n) => [n.outputs[0].split('/')[0], n.attrs.axis]));
    expect(axes).toEqual({ height: 2, raw: 1, width: 2, rank3: 1 });
    m.dispose();
  });

  it('an output read twice, an output that is also read by a layer, an input as an output: unique names', async () => {
    const x = input({ shape: [3, 3, 2], name: 'x' });
    const c = layers.conv2d({ filters: 2, kernelSize: 1, name: 'c' }).apply(x);
    const s = layers.activation({ activation: 'softmax', name: 'sm' }).apply(c);
    const t = layers.add({ name: 't' }).apply([s, c]);
    const m = model({ inputs: x, outputs: [c, c, t, s], seed: 9 });
    const { diff, graph } = await maxDiffVsOrt(m, 7);
    expect(diff).toBeLessThan(1e-5);
    expect(graph.outputs).toEqual(['c', 'c_1', 't', 'sm']);
    m.dispose();
  });
});
