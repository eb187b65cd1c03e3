// The smallest protobuf decoder ONNX import needs (the reader twin of src/export/protobuf.ts): a
// cursor over one message's bytes that yields (field, wire type) and reads varints, fixed32/64,
// length-delimited bytes and packed or unpacked repeated scalars. Positions are absolute offsets
// into the whole file, so every decoding error names the byte where the file stops making sense
// (a truncated download ends mid-field; a corrupt one has a length running past its message).

const VARINT = 0, FIXED64 = 1, LEN = 2, START_GROUP = 3, END_GROUP = 4, FIXED32 = 5;
const utf8 = new TextDecoder('utf-8', { fatal: false });

export class ProtoError extends Error {}

export class ProtoReader {
  private pos: number;
  private readonly view: DataView;

  /** A reader over bytes[start, end) of `bytes` (the whole file: offsets stay absolute). */
  constructor(readonly bytes: Uint8Array, private readonly start = 0, readonly end = bytes.length, private readonly what = 'message') {
    this.pos = start;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }
  get done(): boolean {
    return this.pos >= this.end;
  }

  fail(why: string, at = this.pos): never {
    throw new ProtoError(`truncated or corrupt protobuf: ${why} at byte offset ${at} (in a ${this.what} spanning bytes ${this.start}–${this.end} of ${this.bytes.length})`);
  }

  /** A varint as a Number (exact up to 2^53; negative int64s, ten bytes long, exact too). */
  varint(): number {
    const at = this.pos;
    let result = 0, mul = 1;
    // Seven bytes hold 49 bits: exact in a double. Longer ones go through BigInt.
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) this.fail('a varint runs past the end', at);
      const b = this.bytes[this.pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    this.pos = at;
    return Number(this.varintBig());
  }

  /** An int64 varint, exact, as a signed BigInt. */
  varintBig(): bigint {
    const at = this.pos;
    let result = 0n, shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('a varint runs past the end', at);
      const b = this.bytes[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asIntN(64, result);
      shift += 7n;
    }
    this.fail('a varint is longer than 10 bytes', at);
  }

  /** int64 as a Number: exact where it fits, else rounded (ONNX uses ±2^63−1 as "to the end"). */
  int64(): number {
    return Number(this.varintBig());
  }

  /** The next field's tag: [field number, wire type]. */
  tag(): [number, number] {
    const at = this.pos;
    const t = this.varint();
    const field = Math.floor(t / 8), wire = t & 7;
    if (field === 0) this.fail('field number 0', at);
    if (wire === START_GROUP || wire === END_GROUP || wire > FIXED32) this.fail(`wire type ${wire} (field ${field}) is not used by ONNX`, at);
    return [field, wire];
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) this.fail(`${what} of ${n} bytes runs past the end (${this.end - this.pos} left)`);
  }

  float32(): number {
    this.need(4, 'a fixed32');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }
  float64(): number {
    this.need(8, 'a fixed64');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field's [start, end) (absolute), skipped over. */
  span(): [number, number] {
    const at = this.pos;
    const n = this.varint();
    if (this.pos + n > this.end) this.fail(`a length-delimited field of ${n} bytes runs past the end (${this.end - this.pos} left)`, at);
    const s = this.pos;
    this.pos += n;
    return [s, s + n];
  }
  bytesField(): Uint8Array {
    const [s, e] = this.span();
    return this.bytes.subarray(s, e);
  }
  string(): string {
    return utf8.decode(this.bytesField());
  }
  /** A reader over an embedded message. */
  message(what: string): ProtoReader {
    const [s, e] = this.span();
    return new ProtoReader(this.bytes, s, e, what);
  }

  /** Skips a field of this wire type (unknown fields are legal protobuf). */
  skip(wire: number): void {
    if (wire === VARINT) this.varint();
    else if (wire === FIXED64) { this.need(8, 'a fixed64'); this.pos += 8; }
    else if (wire === FIXED32) { this.need(4, 'a fixed32'); this.pos += 4; }
    else if (wire === LEN) this.span();
    else this.fail(`wire type ${wire}`);
  }

  /** Repeated int64: one value (unpacked) or a packed run, appended to out. */
  ints(wire: number, out: number[]): void {
    if (wire === VARINT) { out.push(this.int64()); return; }
    if (wire !== LEN) this.fail(`repeated integers with wire type ${wire}`);
    const r = this.message('packed integers');
    while (!r.done) out.push(r.int64());
  }
  /** Repeated float: one fixed32 (unpacked) or a packed run. */
  floats(wire: number, out: number[]): void {
    if (wire === FIXED32) { out.push(this.float32()); return; }
    if (wire !== LEN) this.fail(`repeated floats with wire type ${wire}`);
    const r = this.message('packed floats');
    while (!r.done) out.push(r.float32());
  }
  /** Repeated double: one fixed64 (unpacked) or a packed run. */
  doubles(wire: number, out: number[]): void {
    if (wire === FIXED64) { out.push(this.float64()); return; }
    if (wire !== LEN) this.fail(`repeated doubles with wire type ${wire}`);
    const r = this.message('packed doubles');
    while (!r.done) out.push(r.float64());
  }

  /** Expects this wire type for a field, else an error naming it. */
  expect(field: number, wire: number, want: number, name: string): void {
    if (wire !== want) this.fail(`field ${field} (${name}) has wire type ${wire}, expected ${want}`);
  }
}

export const WIRE = { VARINT, FIXED64, LEN, FIXED32 } as const;
