// One shape for every argument error: the op, the argument, what was given, what was expected.
// Users see these instead of wasm traps, so they must be specific enough to fix the call.

export function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (value && typeof value === 'object' && 'shape' in (value as object)) return `tensor of shape [${(value as { shape: number[] }).shape.join(', ')}]`;
  return String(value);
}

export function argError(op: string, arg: string, given: unknown, expected: string): Error {
  return new Error(`${op}: ${arg} must be ${expected}, got ${describe(given)}`);
}

export function assertPositiveInt(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw argError(op, arg, v, 'a positive integer');
  return v;
}

export function assertNonNegativeInt(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw argError(op, arg, v, 'a non-negative integer');
  return v;
}

/** Accepts n or [n0, n1] (tfjs' number | [number, number]) and returns a pair of positive integers. */
export function pair(op: string, arg: string, v: unknown): [number, number] {
  if (typeof v === 'number') {
    assertPositiveInt(op, arg, v);
    return [v, v];
  }
  if (Array.isArray(v) && v.length === 2) {
    assertPositiveInt(op, arg, v[0]);
    assertPositiveInt(op, arg, v[1]);
    return [v[0], v[1]];
  }
  throw argError(op, arg, v, 'a positive integer or a pair of positive integers');
}
