import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeXml, niceTicks, renderCurvesSvg } from '../src/cli/curve-svg.js';

interface El { name: string; attrs: Record<string, string>; children: El[]; text: string }

/**
 * A strict little XML reader for the test: checks well-formedness (one root, balanced and properly
 * nested tags, quoted attributes without duplicates, only the five predefined entities, no stray
 * '<' or '&') and returns the element tree.
 */
function parseXml(src: string): El {
  let s = src.replace(/^<\?xml[^?]*\?>\s*/, '');
  const root: El = { name: '#doc', attrs: {}, children: [], text: '' };
  const stack: El[] = [root];
  const checkText = (t: string) => {
    if (t.includes('<') || t.includes('>')) throw new Error(`stray angle bracket in text ${JSON.stringify(t)}`);
    for (const m of t.matchAll(/&([^;]*);?/g)) {
      if (!/^(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+)$/i.test(m[1]!) || !m[0].endsWith(';')) throw new Error(`bad entity ${m[0]}`);
    }
  };
  while (s.length) {
    const lt = s.indexOf('<');
    const text = lt < 0 ? s : s.slice(0, lt);
    checkText(text);
    stack[stack.length - 1]!.text += text;
    if (lt < 0) break;
    s = s.slice(lt);
    const close = /^<\/([A-Za-z_][\w.-]*)\s*>/.exec(s);
    if (close) {
      const top = stack.pop()!;
      if (top.name !== close[1]) throw new Error(`</${close[1]}> closes <${top.name}>`);
      s = s.slice(close[0].length);
      continue;
    }
    const open = /^<([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_:][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(s);
    if (!open) throw new Error(`malformed tag at ${JSON.stringify(s.slice(0, 40))}`);
    const el: El = { name: open[1]!, attrs: {}, children: [], text: '' };
    for (const a of open[2]!.matchAll(/([A-Za-z_:][\w:.-]*)\s*=\s*("([^"]*)"|'([^']*)')/g)) {
      if (a[1]! in el.attrs) throw new Error(`duplicate attribute ${a[1]} on <${el.name}>`);
      const v = a[3] ?? a[4]!;
      checkText(v);
      el.attrs[a[1]!] = v;
    }
    stack[stack.length - 1]!.children.push(el);
    if (open[3] !== '/') stack.push(el);
    s = s.slice(open[0].length);
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (root.children.length !== 1 || root.text.trim() !== '') throw new Error('expected exactly one root element');
  return root.children[0]!;
}

const all = (el: El, name: string): El[] => [...(el.name === name ? [el] : []), ...el.children.flatMap((c) => all(c, name))];
const unescape = (t: string) => t.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e]!);
const texts = (el: El): string[] => all(el, 'text').map((t) => unescape(t.text));

const history = {
  epoch: [0, 1, 2, 3, 4],
  history: {
    loss: [0.9, 0.35, 0.2, 0.15, 0.12],
    acc: [0.72, 0.89, 0.94, 0.955, 0.962],
    val_loss: [0.4, 0.25, 0.18, 0.16, 0.17],
    val_acc: [0.88, 0.93, 0.95, 0.958, 0.957],
  },
};

describe('XML checker (self-test)', () => {
  it('rejects malformed documents', () => {
    expect(() => parseXml('<a><b></a></b>')).toThrow(/closes/);
    expect(() => parseXml('<a x=1/>')).toThrow(/malformed/);
    expect(() => parseXml('<a>x & y</a>')).toThrow(/bad entity/);
    expect(() => parseXml('<a x="1" x="2"/>')).toThrow(/duplicate/);
    expect(() => parseXml('<a>')).toThrow(/unclosed/);
    expect(parseXml('<a k="&lt;"><b/>t&amp;</a>').children.length).toBe(1);
  });
});

describe('renderCurvesSvg', () => {
  it('draws two panels with train and validation lines, ticks, labels and legends', () => {
    const svg = parseXml(renderCurvesSvg(history, { title: 'MNIST CNN <seed 1> & co' }));
    expect(svg.name).toBe('svg');
    expect(svg.attrs['xmlns']).toBe('http://www.w3.org/2000/svg');
    const w = Number(svg.attrs['width']), h = Number(svg.attrs['height']);
    expect(svg.attrs['viewBox']).toBe(`0 0 ${w} ${h}`);
    const panels = svg.children.filter((c) => c.attrs['class'] === 'panel');
    expect(panels.length).toBe(2);
    const [lossP, accP] = panels as [El, El];
    expect(texts(lossP)).toEqual(expect.arrayContaining(['Loss', 'epoch', 'loss', 'train', 'validation', '1', '5']));
    expect(texts(accP)).toEqual(expect.arrayContaining(['Accuracy', 'accuracy', 'train', 'validation']));
    expect(texts(svg)).toContain('MNIST CNN <seed 1> & co');
    for (const p of panels) {
      const series = p.children.filter((c) => c.attrs['class'] === 'series');
      expect(series.map((s) => s.attrs['data-label'])).toEqual(['train', 'validation']);
      for (const s of series) {
        expect(all(s, 'path').length).toBe(1);
        expect(all(s, 'circle').length).toBe(5);
        expect(all(s, 'path')[0]!.attrs['d']).toMatch(/^M[\d.]+ [\d.]+(L[\d.]+ [\d.]+){4}$/);
      }
    }
    // Every drawn point lies inside the figure, and the falling loss is drawn going down (y grows).
    for (const c of all(svg, 'circle')) {
      expect(Number(c.attrs['cx'])).toBeGreaterThan(0);
      expect(Number(c.attrs['cx'])).toBeLessThan(w);
      expect(Number(c.attrs['cy'])).toBeGreaterThan(0);
      expect(Number(c.attrs['cy'])).toBeLessThan(h);
    }
    const trainLoss = all(lossP.children.find((c) => c.attrs['data-label'] === 'train')!, 'circle').map((c) => Number(c.attrs['cy']));
    expect([...trainLoss].sort((a, b) => a - b)).toEqual(trainLoss);
    // Accuracy ticks stay within [0, 1].
    const accTicks = texts(accP).map(Number).filter((v, i, a) => Number.isFinite(v) && a.indexOf(v) === i);
    expect(accTicks.every((v) => v >= 0)).toBe(true);
    expect(accTicks.filter((v) => v <= 1).length).toBeGreaterThanOrEqual(3);
  });

  it('accepts accuracy/val_accuracy names, a single epoch, no validation and NaN losses', () => {
    const one = parseXml(renderCurvesSvg({ epoch: [0], history: { loss: [0.5], accuracy: [0.8] } }));
    expect(all(one, 'circle').length).toBe(2);
    expect(one.children.filter((c) => c.attrs['class'] === 'series').length).toBe(0);
    const nan = parseXml(renderCurvesSvg({ epoch: [0, 1, 2], history: { loss: [1, NaN, 0.5], val_accuracy: [0.5, 0.6, 0.7] } }));
    const lossPath = all(nan, 'path')[0]!.attrs['d']!;
    expect(lossPath.match(/M/g)!.length).toBe(2); // the NaN breaks the line
    expect(texts(nan)).toContain('Accuracy');
    expect(renderCurvesSvg(history)).not.toContain('NaN');
  });

  it('rejects histories it cannot draw', () => {
    expect(() => renderCurvesSvg({ epoch: [0, 1], history: { loss: [1] } })).toThrow(
      'training history: "loss" has 1 values but there are 2 epochs',
    );
    expect(() => renderCurvesSvg({ epoch: [0], history: { mse: [1] } })).toThrow(
      'training history has neither "loss" nor "acc"/"accuracy"; keys: mse',
    );
  });

  it('picks round ticks and escapes text', () => {
    expect(niceTicks(0.12, 0.9)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.72, 0.962)).toEqual([0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1]);
    expect(niceTicks(3, 3)).toEqual([2.6, 2.8, 3, 3.2, 3.4]);
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
  });

  it.skipIf(!existsSync('/usr/bin/chromium'))('renders to a PNG with headless chromium', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simdcnn-svg-'));
    try {
      await writeFile(join(dir, 'curve.svg'), renderCurvesSvg(history));
      const r = spawnSync('/usr/bin/chromium', ['--headless', '--no-sandbox', '--disable-gpu',
        `--screenshot=${join(dir, 'curve.png')}`, '--window-size=900,400', `file://${join(dir, 'curve.svg')}`], { timeout: 60_000 });
      expect(r.status).toBe(0);
      const png = await readFile(join(dir, 'curve.png'));
      expect(png.subarray(1, 4).toString()).toBe('PNG');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
