// A self-contained SVG chart of training curves (loss and accuracy, train vs validation) from a
// tfjs-style History: no scripts, no external fonts or styles, so it renders anywhere (browsers,
// GitHub, image viewers) and can be saved next to the model.

export interface HistoryLike {
  /** 0-based epoch indices, as in tfjs History.epoch. */
  epoch: number[];
  history: Record<string, readonly number[] | undefined>;
}

export interface CurveOptions {
  title?: string;
  /** Size of each plot area in px. */
  plotWidth?: number;
  plotHeight?: number;
}

const TRAIN_COLOR = '#1f77b4';
const VAL_COLOR = '#ff7f0e';

/** Escape text for XML content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Round tick positions covering [lo, hi] with steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const first = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v < hi + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < hi) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  return Number(v.toPrecision(6)).toString();
}

function pick(h: HistoryLike['history'], ...keys: string[]): { key: string; values: readonly number[] } | undefined {
  for (const k of keys) {
    const v = h[k];
    if (v !== undefined) return { key: k, values: v };
  }
  return undefined;
}

interface Series {
  label: string;
  color: string;
  values: readonly number[];
}

function panel(x0: number, y0: number, w: number, h: number, title: string, xs: number[], series: Series[],
  clamp?: [number, number]): string {
  const finite = series.flatMap((s) => s.values.filter((v) => Number.isFinite(v)));
  let lo = finite.length ? Math.min(...finite) : 0;
  let hi = finite.length ? Math.max(...finite) : 1;
  if (clamp) {
    lo = Math.max(clamp[0], lo);
    hi = Math.min(clamp[1], hi);
  }
  let yt = niceTicks(lo, hi);
  if (clamp) yt = yt.filter((t) => t >= clamp[0] - 1e-9 && t <= clamp[1] + 1e-9);
  const ymin = yt[0]!, ymax = yt[yt.length - 1]!;
  const xmin = xs.length ? Math.min(...xs) : 1, xmaxRaw = xs.length ? Math.max(...xs) : 1;
  const xmax = xmaxRaw > xmin ? xmaxRaw : xmin + 1;
  const step = Math.max(1, Math.ceil((xmax - xmin) / 10));
  const xt: number[] = [];
  for (let v = xmin; v <= xmax; v += step) xt.push(v);
  const px = (v: number) => x0 + ((v - xmin) / (xmax - xmin)) * w;
  const py = (v: number) => y0 + h - ((v - ymin) / (ymax - ymin || 1)) * h;
  const r = (v: number) => v.toFixed(1);
  const out: string[] = [];
  out.push(`<g class="panel">`);
  out.push(`<text x="${r(x0 + w / 2)}" y="${r(y0 - 10)}" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
  out.push(`<rect x="${r(x0)}" y="${r(y0)}" width="${w}" height="${h}" fill="none" stroke="#333"/>`);
  for (const t of yt) {
    const y = r(py(t));
    out.push(`<line x1="${r(x0)}" y1="${y}" x2="${r(x0 + w)}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<line x1="${r(x0 - 4)}" y1="${y}" x2="${r(x0)}" y2="${y}" stroke="#333"/>`);
    out.push(`<text x="${r(x0 - 7)}" y="${y}" dy="0.32em" text-anchor="end" font-size="11">${fmt(t)}</text>`);
  }
  for (const t of xt) {
    const x = r(px(t));
    out.push(`<line x1="${x}" y1="${r(y0 + h)}" x2="${x}" y2="${r(y0 + h + 4)}" stroke="#333"/>`);
    out.push(`<text x="${x}" y="${r(y0 + h + 17)}" text-anchor="middle" font-size="11">${fmt(t)}</text>`);
  }
  out.push(`<text x="${r(x0 + w / 2)}" y="${r(y0 + h + 36)}" text-anchor="middle" font-size="12">epoch</text>`);
  out.push(`<text transform="translate(${r(x0 - 46)} ${r(y0 + h / 2)}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(title.toLowerCase())}</text>`);
  for (const s of series) {
    // Non-finite values (a diverged loss) break the line instead of poisoning the scale.
    let d = '';
    let pen = false;
    const dots: string[] = [];
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v)) {
        pen = false;
        return;
      }
      const x = r(px(xs[i]!)), y = r(py(Math.min(ymax, Math.max(ymin, v))));
      d += `${pen ? 'L' : 'M'}${x} ${y}`;
      pen = true;
      dots.push(`<circle cx="${x}" cy="${y}" r="2.5" fill="${s.color}"/>`);
    });
    out.push(`<g class="series" data-label="${escapeXml(s.label)}">`);
    if (d !== '') out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    out.push(...dots, `</g>`);
  }
  series.forEach((s, i) => {
    const ly = y0 + 14 + i * 18;
    const lx = x0 + w - 100;
    out.push(`<line x1="${r(lx)}" y1="${r(ly)}" x2="${r(lx + 20)}" y2="${r(ly)}" stroke="${s.color}" stroke-width="2"/>`);
    out.push(`<text x="${r(lx + 26)}" y="${r(ly)}" dy="0.32em" font-size="11">${escapeXml(s.label)}</text>`);
  });
  out.push(`</g>`);
  return out.join('\n');
}

/** Render loss and accuracy curves side by side as a standalone SVG document. */
export function renderCurvesSvg(hist: HistoryLike, opts: CurveOptions = {}): string {
  const n = hist.epoch.length;
  const h = hist.history;
  for (const [k, v] of Object.entries(h)) {
    if (v !== undefined && v.length !== n) {
      throw new Error(`training history: "${k}" has ${v.length} values but there are ${n} epochs`);
    }
  }
  const loss = pick(h, 'loss');
  const valLoss = pick(h, 'val_loss');
  const acc = pick(h, 'acc', 'accuracy');
  const valAcc = pick(h, 'val_acc', 'val_accuracy');
  if (!loss && !acc) {
    throw new Error(`training history has neither "loss" nor "acc"/"accuracy"; keys: ${Object.keys(h).join(', ') || 'none'}`);
  }
  const xs = hist.epoch.map((e) => e + 1);
  const pw = opts.plotWidth ?? 360, ph = opts.plotHeight ?? 240;
  const left = 70, top = opts.title ? 64 : 40, gap = 90;
  const panels: string[] = [];
  const lossSeries: Series[] = [];
  if (loss) lossSeries.push({ label: 'train', color: TRAIN_COLOR, values: loss.values });
  if (valLoss) lossSeries.push({ label: 'validation', color: VAL_COLOR, values: valLoss.values });
  const accSeries: Series[] = [];
  if (acc) accSeries.push({ label: 'train', color: TRAIN_COLOR, values: acc.values });
  if (valAcc) accSeries.push({ label: 'validation', color: VAL_COLOR, values: valAcc.values });
  let x = left;
  if (lossSeries.length) {
    panels.push(panel(x, top, pw, ph, 'Loss', xs, lossSeries));
    x += pw + gap;
  }
  if (accSeries.length) {
    panels.push(panel(x, top, pw, ph, 'Accuracy', xs, accSeries, [0, 1]));
    x += pw + gap;
  }
  const width = x - gap + 20;
  const height = top + ph + 50;
  const title = opts.title ? `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(opts.title)}</text>\n` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${title}${panels.join('\n')}
</svg>
`;
}
