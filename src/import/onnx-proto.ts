// ONNX's protobuf messages (onnx/onnx.proto, the field numbers src/export/onnx.ts writes) decoded
// into plain objects: ModelProto, GraphProto, NodeProto, AttributeProto (every type), TensorProto
// (raw_data or the typed repeated fields; float16/bfloat16/double widened to float32, the integer
// types to Numbers), ValueInfoProto with dim_value/dim_param, and opset_import. Tensors stored in
// external files (models over 2 GB) are an Error: only self-contained files are read.

import { ProtoError, ProtoReader, WIRE } from './protobuf-reader.js';

export const DT = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
} as const;
const DT_NAMES: Record<number, string> = Object.fromEntries(Object.entries(DT).map(([k, v]) => [v, k]));
export const dtypeName = (t: number): string => DT_NAMES[t] ?? `data type ${t}`;

/** A decoded tensor: float types as Float32Array, integer and bool types as Numbers. */
export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  data: Float32Array | number[];
}

export type AttrValue = number | string | OnnxTensor | OnnxGraph | number[] | string[] | OnnxTensor[] | OnnxGraph[] | null;
export interface OnnxAttribute {
  name: string;
  type: number;
  value: AttrValue;
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

/** A dimension: a size, a symbolic name (dim_param, e.g. 'batch'), or null when neither is set. */
export type OnnxDim = number | string | null;
export interface OnnxValueInfo {
  name: string;
  /** TensorProto.DataType of a tensor type; 0 when not a tensor. */
  elemType: number;
  /** undefined: the shape is unknown (no shape field). */
  shape: OnnxDim[] | undefined;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
}

export interface OnnxModelProto {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  /** domain ('' = ai.onnx) → version. */
  opsets: Map<string, number>;
  graph: OnnxGraph;
}

export const ATTR = {
  FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10,
  SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14,
} as const;

function f16(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function decodeTensor(r: ProtoReader): OnnxTensor {
  const dims: number[] = [];
  let dataType = 0, name = '', raw: Uint8Array | undefined, location = 0;
  const floats: number[] = [], ints: number[] = [], doubles: number[] = [];
  let hasSegment = false, hasStrings = false;
  const start = r.offset;
  while (!r.done) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.ints(w, dims); break;
      case 2: r.expect(f, w, WIRE.VARINT, 'data_type'); dataType = r.varint(); break;
      case 3: hasSegment = true; r.skip(w); break;
      case 4: r.floats(w, floats); break;
      case 5: r.ints(w, ints); break; // int32_data (also holds int8/16, uint8/16, bool, float16 bits)
      case 6: hasStrings = true; r.skip(w); break;
      case 7: r.ints(w, ints); break; // int64_data
      case 8: r.expect(f, w, WIRE.LEN, 'name'); name = r.string(); break;
      case 9: r.expect(f, w, WIRE.LEN, 'raw_data'); raw = r.bytesField(); break;
      case 10: r.doubles(w, doubles); break;
      case 11: r.ints(w, ints); break; // uint64_data
      case 14: r.expect(f, w, WIRE.VARINT, 'data_location'); location = r.varint(); break;
      default: r.skip(w);
    }
  }
  const what = `tensor ${name ? `'${name}'` : `at byte offset ${start}`}`;
  if (location === 1) {
    throw new Error(`onnx: ${what} is stored in an external data file (data_location EXTERNAL, as models over 2 GB are saved); `
      + 'external data is not supported: save the model with all tensors inside the .onnx file (onnx.save_model(m, path, save_as_external_data=False))');
  }
  if (hasSegment) throw new Error(`onnx: ${what} is segmented (TensorProto.segment), which is not supported`);
  if (hasStrings || dataType === DT.STRING) throw new Error(`onnx: ${what} holds strings, which are not supported (numeric tensors only)`);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`onnx: ${what} has dims [${dims}]; expected non-negative integers`);
  const n = dims.reduce((a, b) => a * b, 1);
  const fail = (got: number) => {
    throw new Error(`onnx: ${what} (${dtypeName(dataType)}, dims [${dims}]) holds ${got} values, expected ${n}`);
  };
  let data: Float32Array | number[];
  if (raw) {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const bytesPer: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };
    const size = bytesPer[dataType];
    if (!size) throw new Error(`onnx: ${what} has data type ${dtypeName(dataType)}, which is not supported`);
    if (raw.length !== n * size) fail(raw.length / size);
    const get: (i: number) => number = {
      1: (i: number) => dv.getFloat32(i * 4, true), 2: (i: number) => dv.getUint8(i), 3: (i: number) => dv.getInt8(i),
      4: (i: number) => dv.getUint16(i * 2, true), 5: (i: number) => dv.getInt16(i * 2, true), 6: (i: number) => dv.getInt32(i * 4, true),
      7: (i: number) => Number(dv.getBigInt64(i * 8, true)), 9: (i: number) => dv.getUint8(i), 10: (i: number) => f16(dv.getUint16(i * 2, true)),
      11: (i: number) => dv.getFloat64(i * 8, true), 12: (i: number) => dv.getUint32(i * 4, true), 13: (i: number) => Number(dv.getBigUint64(i * 8, true)),
      16: (i: number) => new Float32Array(new Uint32Array([dv.getUint16(i * 2, true) << 16]).buffer)[0],
    }[dataType]!;
    if (isFloat(dataType)) {
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = get(i);
    } else {
      data = new Array<number>(n);
      for (let i = 0; i < n; i++) data[i] = get(i);
    }
  } else if (dataType === DT.FLOAT) {
    if (floats.length !== n) fail(floats.length);
    data = Float32Array.from(floats);
  } else if (dataType === DT.DOUBLE) {
    if (doubles.length !== n) fail(doubles.length);
    data = Float32Array.from(doubles);
  } else if (dataType === DT.FLOAT16 || dataType === DT.BFLOAT16) {
    if (ints.length !== n) fail(ints.length);
    data = Float32Array.from(ints, (h) => (dataType === DT.FLOAT16 ? f16(h) : new Float32Array(new Uint32Array([h << 16]).buffer)[0]));
  } else if (dataType === 0) {
    throw new Error(`onnx: ${what} has no data_type`);
  } else if (dataType === DT.COMPLEX64 || dataType === DT.COMPLEX128) {
    throw new Error(`onnx: ${what} is complex (${dtypeName(dataType)}), which is not supported`);
  } else {
    if (ints.length !== n) fail(ints.length);
    data = ints;
  }
  return { name, dims, dataType, data };
}

export const isFloat = (t: number): boolean => t === DT.FLOAT || t === DT.DOUBLE || t === DT.FLOAT16 || t === DT.BFLOAT16;

function decodeValueInfo(r: ProtoReader): OnnxValueInfo {
  let name = '', elemType = 0, shape: OnnxDim[] | undefined;
  while (!r.done) {
    const [f, w] = r.tag();
    if (f === 1 && w === WIRE.LEN) name = r.string();
    else if (f === 2 && w === WIRE.LEN) {
      const t = r.message('TypeProto');
      while (!t.done) {
        const [tf, tw] = t.tag();
        if (tf !== 1 || tw !== WIRE.LEN) { t.skip(tw); continue; } // sequence/map/optional types: not a tensor
        const tt = t.message('TypeProto.Tensor');
        while (!tt.done) {
          const [xf, xw] = tt.tag();
          if (xf === 1 && xw === WIRE.VARINT) elemType = tt.varint();
          else if (xf === 2 && xw === WIRE.LEN) {
            shape = [];
            const s = tt.message('TensorShapeProto');
            while (!s.done) {
              const [sf, sw] = s.tag();
              if (sf !== 1 || sw !== WIRE.LEN) { s.skip(sw); continue; }
              const d = s.message('TensorShapeProto.Dimension');
              let dim: OnnxDim = null;
              while (!d.done) {
                const [df, dw] = d.tag();
                if (df === 1 && dw === WIRE.VARINT) dim = d.int64();
                else if (df === 2 && dw === WIRE.LEN) dim = d.string();
                else d.skip(dw);
              }
              shape.push(dim);
            }
          } else tt.skip(xw);
        }
      }
    } else r.skip(w);
  }
  return { name, elemType, shape };
}

function decodeAttribute(r: ProtoReader): OnnxAttribute {
  let name = '', type = 0, refAttr = '';
  let f32: number | undefined, i64: number | undefined, s: string | undefined, t: OnnxTensor | undefined, g: OnnxGraph | undefined;
  const floats: number[] = [], ints: number[] = [], strings: string[] = [], tensors: OnnxTensor[] = [], graphs: OnnxGraph[] = [];
  while (!r.done) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.expect(f, w, WIRE.LEN, 'name'); name = r.string(); break;
      case 2: r.expect(f, w, WIRE.FIXED32, 'f'); f32 = r.float32(); break;
      case 3: r.expect(f, w, WIRE.VARINT, 'i'); i64 = r.int64(); break;
      case 4: r.expect(f, w, WIRE.LEN, 's'); s = r.string(); break;
      case 5: r.expect(f, w, WIRE.LEN, 't'); t = decodeTensor(r.message('TensorProto')); break;
      case 6: r.expect(f, w, WIRE.LEN, 'g'); g = decodeGraph(r.message('GraphProto')); break;
      case 7: r.floats(w, floats); break;
      case 8: r.ints(w, ints); break;
      case 9: r.expect(f, w, WIRE.LEN, 'strings'); strings.push(r.string()); break;
      case 10: r.expect(f, w, WIRE.LEN, 'tensors'); tensors.push(decodeTensor(r.message('TensorProto'))); break;
      case 11: r.expect(f, w, WIRE.LEN, 'graphs'); graphs.push(decodeGraph(r.message('GraphProto'))); break;
      case 20: r.expect(f, w, WIRE.VARINT, 'type'); type = r.varint(); break;
      case 21: r.expect(f, w, WIRE.LEN, 'ref_attr_name'); refAttr = r.string(); break;
      default: r.skip(w); // doc_string, sparse tensors, type protos: not needed to run a graph
    }
  }
  if (refAttr) throw new Error(`onnx: attribute '${name}' refers to a function attribute ('${refAttr}'); functions are not supported`);
  // IR < 4 files may omit the type: infer it from which field is set.
  if (!type) {
    type = f32 !== undefined ? ATTR.FLOAT : i64 !== undefined ? ATTR.INT : s !== undefined ? ATTR.STRING : t ? ATTR.TENSOR : g ? ATTR.GRAPH
      : floats.length ? ATTR.FLOATS : ints.length ? ATTR.INTS : strings.length ? ATTR.STRINGS : tensors.length ? ATTR.TENSORS : graphs.length ? ATTR.GRAPHS : 0;
  }
  const value: AttrValue = {
    [ATTR.FLOAT]: f32 ?? 0, [ATTR.INT]: i64 ?? 0, [ATTR.STRING]: s ?? '', [ATTR.TENSOR]: t ?? null, [ATTR.GRAPH]: g ?? null,
    [ATTR.FLOATS]: floats, [ATTR.INTS]: ints, [ATTR.STRINGS]: strings, [ATTR.TENSORS]: tensors, [ATTR.GRAPHS]: graphs,
  }[type] ?? null;
  return { name, type, value };
}

function decodeNode(r: ProtoReader): OnnxNode {
  const node: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: new Map() };
  while (!r.done) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.expect(f, w, WIRE.LEN, 'input'); node.inputs.push(r.string()); break;
      case 2: r.expect(f, w, WIRE.LEN, 'output'); node.outputs.push(r.string()); break;
      case 3: r.expect(f, w, WIRE.LEN, 'name'); node.name = r.string(); break;
      case 4: r.expect(f, w, WIRE.LEN, 'op_type'); node.opType = r.string(); break;
      case 5: {
        r.expect(f, w, WIRE.LEN, 'attribute');
        const a = decodeAttribute(r.message('AttributeProto'));
        node.attributes.set(a.name, a);
        break;
      }
      case 7: r.expect(f, w, WIRE.LEN, 'domain'); node.domain = r.string(); break;
      default: r.skip(w);
    }
  }
  return node;
}

function decodeGraph(r: ProtoReader): OnnxGraph {
  const g: OnnxGraph = { name: '', nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [] };
  while (!r.done) {
    const [f, w] = r.tag();
    switch (f) {
      case 1: r.expect(f, w, WIRE.LEN, 'node'); g.nodes.push(decodeNode(r.message('NodeProto'))); break;
      case 2: r.expect(f, w, WIRE.LEN, 'name'); g.name = r.string(); break;
      case 5: r.expect(f, w, WIRE.LEN, 'initializer'); g.initializers.push(decodeTensor(r.message('TensorProto'))); break;
      case 11: r.expect(f, w, WIRE.LEN, 'input'); g.inputs.push(decodeValueInfo(r.message('ValueInfoProto'))); break;
      case 12: r.expect(f, w, WIRE.LEN, 'output'); g.outputs.push(decodeValueInfo(r.message('ValueInfoProto'))); break;
      case 13: r.expect(f, w, WIRE.LEN, 'value_info'); g.valueInfo.push(decodeValueInfo(r.message('ValueInfoProto'))); break;
      case 15: throw new Error(`onnx: graph '${g.name}' has sparse initializers, which are not supported`);
      default: r.skip(w);
    }
  }
  return g;
}

/** Decodes a serialized ModelProto. Errors name the byte offset where the file stops being valid. */
export function decodeModel(bytes: Uint8Array): OnnxModelProto {
  if (bytes.length === 0) throw new Error('onnx: the file is empty (0 bytes); expected a serialized ONNX ModelProto');
  const r = new ProtoReader(bytes, 0, bytes.length, 'ModelProto');
  const m: OnnxModelProto = { irVersion: 0, producerName: '', producerVersion: '', opsets: new Map(), graph: undefined as unknown as OnnxGraph };
  try {
    while (!r.done) {
      const [f, w] = r.tag();
      switch (f) {
        case 1: r.expect(f, w, WIRE.VARINT, 'ir_version'); m.irVersion = r.varint(); break;
        case 2: r.expect(f, w, WIRE.LEN, 'producer_name'); m.producerName = r.string(); break;
        case 3: r.expect(f, w, WIRE.LEN, 'producer_version'); m.producerVersion = r.string(); break;
        case 7: r.expect(f, w, WIRE.LEN, 'graph'); m.graph = decodeGraph(r.message('GraphProto')); break;
        case 8: {
          r.expect(f, w, WIRE.LEN, 'opset_import');
          const o = r.message('OperatorSetIdProto');
          let domain = '', version = 0;
          while (!o.done) {
            const [of, ow] = o.tag();
            if (of === 1 && ow === WIRE.LEN) domain = o.string();
            else if (of === 2 && ow === WIRE.VARINT) version = o.varint();
            else o.skip(ow);
          }
          m.opsets.set(domain === 'ai.onnx' ? '' : domain, version);
          break;
        }
        default: r.skip(w);
      }
    }
  } catch (e) {
    if (e instanceof ProtoError) throw new Error(`onnx: ${e.message}; the file is not a complete ONNX model (${bytes.length} bytes read)`);
    throw e;
  }
  if (!m.graph) throw new Error(`onnx: the file (${bytes.length} bytes) has no graph; expected a serialized ONNX ModelProto`);
  return m;
}
