// Per-epoch training progress: a pure renderer (state -> one line) and a writer that redraws the
// line in place on a terminal, or prints plain lines every few seconds when output is a pipe/log.

export interface ProgressState {
  epoch?: number;
  epochs?: number;
  /** Batches finished so far in this epoch (0..batches). */
  batch: number;
  batches: number;
  /** Images processed so far in this epoch. */
  images: number;
  /** Milliseconds since the epoch started. */
  elapsedMs: number;
  loss?: number;
  accuracy?: number;
}

/** 65 -> "1:05", 3723 -> "1:02:03"; "?" when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function bar(frac: number, width: number): string {
  const filled = Math.max(0, Math.min(width, Math.floor(frac * width)));
  if (filled >= width) return '='.repeat(width);
  return '='.repeat(filled) + '>' + ' '.repeat(width - filled - 1);
}

/**
 * One progress line, e.g.
 * `Epoch 2/5 [=======>             ] 312/938  5,120 img/s  ETA 0:41  loss 0.2345  acc 0.9312`.
 * When finished (batch == batches) the ETA becomes the epoch's total time.
 */
export function renderProgress(s: ProgressState, barWidth = 20): string {
  const parts: string[] = [];
  if (s.epoch !== undefined) parts.push(`Epoch ${s.epoch}${s.epochs !== undefined ? `/${s.epochs}` : ''}`);
  const frac = s.batches > 0 ? s.batch / s.batches : 0;
  const w = String(s.batches).length;
  parts.push(`[${bar(frac, barWidth)}] ${String(s.batch).padStart(w)}/${s.batches}`);
  const sec = s.elapsedMs / 1000;
  const rate = sec > 0 ? s.images / sec : NaN;
  parts.push(Number.isFinite(rate) ? `${Math.round(rate).toLocaleString('en-US')} img/s` : '- img/s');
  if (s.batch >= s.batches) parts.push(`${formatDuration(sec)} total`);
  else parts.push(`ETA ${s.batch > 0 ? formatDuration((sec / s.batch) * (s.batches - s.batch)) : '?'}`);
  if (s.loss !== undefined) parts.push(`loss ${s.loss.toFixed(4)}`);
  if (s.accuracy !== undefined) parts.push(`acc ${s.accuracy.toFixed(4)}`);
  return parts.join('  ').replace(/^(Epoch \S+)  \[/, '$1 [');
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressWriterOptions {
  /** Minimum time between redraws on a terminal. Default 100 ms. */
  ttyIntervalMs?: number;
  /** Minimum time between plain lines when not a terminal. Default 10 s. */
  plainIntervalMs?: number;
  /** Clock in ms; defaults to performance.now. */
  now?: () => number;
}

/**
 * One status line on a stream, throttled: redrawn in place on a terminal (\r, cut to its width),
 * printed as plain lines at most every plainIntervalMs when the stream is a pipe or a log.
 */
export class LiveLine {
  private last = -Infinity;
  private drawn = false;
  private readonly tty: boolean;
  private readonly interval: number;
  private readonly now: () => number;

  constructor(private readonly stream: ProgressStream, opts: ProgressWriterOptions = {}) {
    this.tty = stream.isTTY === true;
    this.interval = this.tty ? (opts.ttyIntervalMs ?? 100) : (opts.plainIntervalMs ?? 10_000);
    this.now = opts.now ?? (() => performance.now());
  }

  /** Show the line `render()` makes unless the last output was less than the interval ago (render is not called then). */
  update(render: () => string): void {
    const t = this.now();
    if (t - this.last < this.interval) return;
    this.last = t;
    this.draw(render());
  }

  /** Always show `line`, end it, and start the throttle afresh. */
  done(line: string): void {
    this.draw(line);
    if (this.tty) this.stream.write('\n');
    this.drawn = false;
    this.last = -Infinity;
  }

  private draw(line: string): void {
    if (this.tty) {
      // A line longer than the terminal wraps, and \r would then only redraw its last row.
      const cols = this.stream.columns;
      if (cols !== undefined && cols > 1 && line.length > cols - 1) line = line.slice(0, cols - 1);
      this.stream.write(`\r${line}\x1b[K`);
      this.drawn = true;
    } else {
      this.stream.write(line + '\n');
    }
  }

  /** True while a terminal line is open (so other output should start with a newline). */
  get lineOpen(): boolean {
    return this.drawn;
  }
}

/** Writes progress to a stream (e.g. process.stderr), throttled; call done() at the end of each epoch. */
export class ProgressWriter {
  private readonly line: LiveLine;

  constructor(stream: ProgressStream, opts: ProgressWriterOptions = {}) {
    this.line = new LiveLine(stream, opts);
  }

  /** Show `state` unless the last output was less than the interval ago. */
  update(state: ProgressState): void {
    this.line.update(() => renderProgress(state));
  }

  /** Always show the final state of the epoch and end the line. */
  done(state: ProgressState, suffix = ''): void {
    this.line.done(renderProgress(state) + suffix);
  }

  /** True while a terminal line is open (so other output should start with a newline). */
  get lineOpen(): boolean {
    return this.line.lineOpen;
  }
}
