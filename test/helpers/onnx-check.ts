// Running a model's ONNX export in onnxruntime-web (wasm) against model.predict, and reading the
// exported graph back (only the fields the exporter writes) for structural checks.
import * as ort from 'onnxruntime-web';
import { expect } from 'vitest';
import { tensor, type LayersModel, type Tensor } from '../../src/index.js';
import { randn } from './random.js';

export interface OnnxNode { op: string; inputs: string[]; outputs: string[]; attrs: Record<string, number | number[] | string> }
export interface OnnxGraph { nodes: OnnxNode[]; initializers: string[]; inputs: string[]; outputs: string[]; opset: number }

type Field = [number, bigint | Uint8Array];
function fields(buf: Uint8Array): Field[] {
  const out: Field[] = [];
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
    else if (wire === 2 || wire === 5) {
      const n = wire === 2 ? Number(varint()) : 4;
      out.push([field, buf.subarray(p, p + n)]);
      p += n;
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
const field = (fs: Field[], n: number) => fs.find(([f]) => f === n)?.[1];

export function readOnnx(bytes: Uint8Array): OnnxGraph {
  const top = fields(bytes);
  const opsetId = fields(field(top, 8) as Uint8Array);
  const g: OnnxGraph = { nodes: [], initializers: [], inputs: [], outputs: [], opset: Number(field(opsetId, 2)) };
  for (const [f, v] of fields(field(top, 7) as Uint8Array)) {
    if (f === 1) {
      const n: OnnxNode = { op: '', inputs: [], outputs: [], attrs: {} };
      for (const [nf, nv] of fields(v as Uint8Array)) {
        if (nf === 1) n.inputs.push(text(nv));
        else if (nf === 2) n.outputs.push(text(nv));
        else if (nf === 4) n.op = text(nv);
        else if (nf === 5) {
          const a = fields(nv as Uint8Array);
          const name = text(field(a, 1));
          const i = field(a, 3), ints = field(a, 8), s = field(a, 4), fl = field(a, 2);
          n.attrs[name] = i !== undefined ? Number(BigInt.asIntN(64, i as bigint))
            : ints !== undefined ? packed(ints as Uint8Array)
              : s !== undefined ? text(s)
                : new DataView((fl as Uint8Array).buffer, (fl as Uint8Array).byteOffset, 4).getFloat32(0, true);
        }
      }
      g.nodes.push(n);
    } else if (f === 5) g.initializers.push(text(field(fields(v as Uint8Array), 8)));
    else if (f === 11) g.inputs.push(text(field(fields(v as Uint8Array), 1)));
    else if (f === 12) g.outputs.push(text(field(fields(v as Uint8Array), 1)));
  }
  return g;
}

/** Node outputs are unique; every tensor is transposed at most once per direction and no Transpose reads another. */
export function checkStructure(g: OnnxGraph): void {
  const outs = g.nodes.flatMap((n) => n.outputs);
  expect(new Set(outs).size).toBe(outs.length);
  for (const name of [...g.inputs, ...g.initializers]) expect(outs).not.toContain(name);
  expect(new Set(g.initializers).size).toBe(g.initializers.length);
  const transposes = g.nodes.filter((x) => x.op === 'Transpose');
  const seen = new Set<string>();
  for (const n of transposes) {
    const key = `${n.inputs[0]}:${(n.attrs.perm as number[]).join()}`;
    expect(seen.has(key), `${key} transposed twice`).toBe(false);
    seen.add(key);
  }
  const transposed = new Set(transposes.map((x) => x.outputs[0]));
  for (const n of transposes) expect(transposed.has(n.inputs[0]), `${n.outputs[0]} transposes a transpose`).toBe(false);
}

export const ops = (g: OnnxGraph, op: string) => g.nodes.filter((n) => n.op === op);

/**
 * Exports m, checks the graph's structure, runs it in ORT on random inputs (batch `batch`, values
 * in [−scale, scale]) and returns the largest |ORT − predict| over all outputs (diff) and the
 * largest |ORT − predict| / |predict| over the nonzero values (rel: for small outputs such as
 * 1000 probabilities, the absolute difference alone says little).
 */
export async function diffVsOrt(m: LayersModel, { seed = 1, batch = 3, scale = 1, opset }: { seed?: number; batch?: number; scale?: number; opset?: number } = {}):
Promise<{ diff: number; rel: number; graph: OnnxGraph }> {
  const bytes = await m.toONNX(opset ? { opset } : undefined);
  const graph = readOnnx(bytes);
  checkStructure(graph);
  const session = await ort.InferenceSession.create(bytes);
  try {
    const xs = m.inputs.map((t, i) => {
      const shape = [batch, ...t.sampleShape];
      return { shape, data: randn(shape.reduce((a, b) => a * b, 1), seed + i, scale) };
    });
    const feeds: Record<string, ort.Tensor> = {};
    xs.forEach((x, i) => (feeds[session.inputNames[i]] = new ort.Tensor('float32', x.data, x.shape)));
    const out = await session.run(feeds);
    const inputs = xs.map((x) => tensor(x.data, x.shape));
    const p = m.predict(inputs.length === 1 ? inputs[0] : inputs);
    const want: Tensor[] = Array.isArray(p) ? p : [p];
    expect(session.outputNames.length).toBe(want.length);
    let diff = 0, rel = 0;
    want.forEach((w, i) => {
      const got = out[session.outputNames[i]];
      expect(got.dims).toEqual(w.shape);
      const a = got.data as Float32Array, b = w.dataSync();
      expect(a.length).toBe(b.length);
      for (let k = 0; k < b.length; k++) {
        if (!Number.isFinite(a[k]) || !Number.isFinite(b[k])) throw new Error(`output ${i}[${k}]: ORT ${a[k]}, predict ${b[k]}`);
        diff = Math.max(diff, Math.abs(a[k] - b[k]));
        if (b[k] !== 0) rel = Math.max(rel, Math.abs(a[k] - b[k]) / Math.abs(b[k]));
      }
      w.dispose();
    });
    for (const t of inputs) t.dispose();
    return { diff, rel, graph };
  } finally {
    await session.release();
  }
}
