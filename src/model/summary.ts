// model.summary(): the table tfjs and Keras print (layer (type), output shape, param #, and for
// graphs the "Connected to" column), then the totals.

import type { Layer } from '../layers/layer.js';

function pad(s: string, width: number): string {
  return s.length >= width ? `${s.slice(0, width - 1)} ` : s + ' '.repeat(width - s.length);
}

export interface SummaryRow {
  layer: Layer;
  outShape: (number | null)[][];
  /** Inbound tensors as Keras prints them (`conv2d[0][0]`); undefined for Sequential (no column). */
  connected?: string[];
}

export function summaryLines(name: string, rows: SummaryRow[], lineLength?: number, positions?: number[]): string[] {
  const graph = rows.some((r) => r.connected !== undefined);
  lineLength ??= graph ? 98 : 65;
  positions ??= graph ? [0.33, 0.55, 0.67, 1] : [0.45, 0.85, 1];
  const cols = positions.map((p) => (p <= 1 ? Math.floor(lineLength! * p) : p));
  const widths = cols.map((c, i) => c - (i ? cols[i - 1] : 0));
  const row = (cells: string[]) => cells.map((c, i) => pad(c, widths[i] ?? c.length + 1)).join('').trimEnd();
  const header = ['Layer (type)', 'Output shape', 'Param #', ...(graph ? ['Connected to'] : [])];
  const lines = [`Model: "${name}"`, '_'.repeat(lineLength), row(header), '='.repeat(lineLength)];
  let total = 0, trainable = 0;
  const counted = new Set<Layer>();
  rows.forEach((r, i) => {
    const l = r.layer;
    const shape = r.outShape.map((s) => `[${s.map((d) => d ?? 'null').join(',')}]`).join(',');
    const conn = r.connected ?? [];
    lines.push(row([`${l.name} (${l.className})`, shape, String(l.paramCount), ...(graph ? [conn[0] ?? ''] : [])]));
    for (const c of conn.slice(1)) lines.push(row(['', '', '', c]));
    lines.push(i === rows.length - 1 ? '='.repeat(lineLength!) : '_'.repeat(lineLength!));
    if (!counted.has(l)) {
      counted.add(l);
      total += l.paramCount;
      trainable += l.trainableParamCount;
    }
  });
  lines.push(`Total params: ${total.toLocaleString('en-US')}`, `Trainable params: ${trainable.toLocaleString('en-US')}`,
    `Non-trainable params: ${(total - trainable).toLocaleString('en-US')}`, '_'.repeat(lineLength));
  return lines;
}
