// model.summary(): the table tfjs and Keras print (layer (type), output shape, param #, totals).

import type { Layer } from '../layers/layer.js';

function pad(s: string, width: number): string {
  return s.length >= width ? `${s.slice(0, width - 1)} ` : s + ' '.repeat(width - s.length);
}

export function summaryLines(name: string, layers: Layer[], lineLength = 65, positions = [0.45, 0.85, 1]): string[] {
  const cols = positions.map((p) => (p <= 1 ? Math.floor(lineLength * p) : p));
  const widths = cols.map((c, i) => c - (i ? cols[i - 1] : 0));
  const row = (cells: string[]) => cells.map((c, i) => pad(c, widths[i])).join('').trimEnd();
  const lines = [`Model: "${name}"`, '_'.repeat(lineLength), row(['Layer (type)', 'Output shape', 'Param #']), '='.repeat(lineLength)];
  let total = 0, trainable = 0;
  layers.forEach((l, i) => {
    lines.push(row([`${l.name} (${l.className})`, `[null,${l.outShape.join(',')}]`, String(l.paramCount)]));
    lines.push(i === layers.length - 1 ? '='.repeat(lineLength) : '_'.repeat(lineLength));
    total += l.paramCount;
    if (l.trainable) trainable += l.paramCount;
  });
  lines.push(`Total params: ${total.toLocaleString('en-US')}`, `Trainable params: ${trainable.toLocaleString('en-US')}`,
    `Non-trainable params: ${(total - trainable).toLocaleString('en-US')}`, '_'.repeat(lineLength));
  return lines;
}
