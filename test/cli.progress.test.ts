import { describe, expect, it } from 'vitest';
import { ProgressWriter, formatDuration, renderProgress } from '../src/cli/progress.js';

describe('renderProgress', () => {
  it('shows batch, throughput, ETA, loss and accuracy', () => {
    // 312 of 938 batches of 64 in 4 s: 4992 img/s; 626 batches left at 12.82 ms each = 8.0 s.
    expect(renderProgress({ epoch: 2, epochs: 5, batch: 312, batches: 938, images: 312 * 64, elapsedMs: 4000, loss: 0.23456, accuracy: 0.93125 }))
      .toBe('Epoch 2/5 [======>             ] 312/938  4,992 img/s  ETA 0:08  loss 0.2346  acc 0.9313');
  });

  it('handles the start and the end of an epoch', () => {
    expect(renderProgress({ batch: 0, batches: 10, images: 0, elapsedMs: 0 }, 10)).toBe('[>         ]  0/10  - img/s  ETA ?');
    expect(renderProgress({ epoch: 1, batch: 10, batches: 10, images: 600, elapsedMs: 65_000 }, 10))
      .toBe('Epoch 1 [==========] 10/10  9 img/s  1:05 total');
  });

  it('formats durations', () => {
    expect([formatDuration(0), formatDuration(59.6), formatDuration(3723), formatDuration(NaN)]).toEqual(['0:00', '1:00', '1:02:03', '?']);
  });
});

function sink(isTTY: boolean, columns?: number) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns, write: (s: string) => out.push(s) } };
}

describe('ProgressWriter', () => {
  const st = (batch: number) => ({ batch, batches: 100, images: batch * 10, elapsedMs: batch * 10, loss: 1 });

  it('redraws in place on a terminal, throttled, and ends the line when done', () => {
    let t = 0;
    const { out, stream } = sink(true, 200);
    const w = new ProgressWriter(stream, { now: () => t });
    w.update(st(1));
    t = 50; w.update(st(2)); // throttled
    t = 120; w.update(st(3));
    expect(w.lineOpen).toBe(true);
    w.done(st(100));
    expect(out.length).toBe(4);
    expect(out[0]).toMatch(/^\r\[.*\]   1\/100 .*\x1b\[K$/);
    expect(out[1]).toMatch(/^\r.*  3\/100/);
    expect(out[2]).toMatch(/^\r.*100\/100 .* total/);
    expect(out[3]).toBe('\n');
    expect(w.lineOpen).toBe(false);
  });

  it('cuts lines to the terminal width so \\r redraws work', () => {
    const { out, stream } = sink(true, 30);
    new ProgressWriter(stream, { now: () => 0 }).update(st(5));
    expect(out[0]).toBe('\r' + renderProgress(st(5)).slice(0, 29) + '\x1b[K');
  });

  it('prints plain lines at most every plainIntervalMs when not a terminal', () => {
    let t = 0;
    const { out, stream } = sink(false);
    const w = new ProgressWriter(stream, { now: () => t, plainIntervalMs: 1000 });
    for (let b = 1; b <= 50; b++) { t = b * 100; w.update(st(b)); }
    w.done(st(100), '  val_acc 0.9900');
    expect(out.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
    expect(out.length).toBe(6); // t = 100, 1100, 2100, 3100, 4100, then done
    expect(out.at(-1)).toMatch(/100\/100 .*total  loss 1\.0000  val_acc 0\.9900\n$/);
  });
});
