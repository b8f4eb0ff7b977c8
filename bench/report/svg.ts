/**
 * Hand-written SVG charts (no dependency): small-multiple line charts (RSS over time per
 * profile) and horizontal bars with a target mark (throughput ratios). Text is escaped;
 * numbers are rounded to 0.1 px so files stay small and diffs readable.
 */

export interface Series {
  name: string;
  /** [x, y] points, x ascending. */
  points: ReadonlyArray<readonly [number, number]>;
  color: string;
  dashed?: boolean;
}

export interface Panel {
  title: string;
  series: Series[];
  /** Horizontal reference lines, e.g. a budget. */
  marks?: Array<{ y: number; label: string }>;
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  panels: Panel[];
  columns?: number;
}

export interface Bar {
  label: string;
  value: number;
  /** The value the bar should reach; drawn as a tick, bar coloured by met/missed. */
  target?: number;
}

export interface BarChartSpec {
  title: string;
  bars: Bar[];
  /** Axis maximum (default: the largest value or target, rounded up). */
  max?: number;
  valueSuffix?: string;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);
}

const r1 = (n: number) => Math.round(n * 10) / 10;

/** A "nice" axis maximum: 1, 2 or 5 times a power of ten, at least `value`. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${r1(x)}" y="${r1(y)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(content)}</text>`;
}

const PANEL_W = 320;
/** Room for the title and legend however few panels there are. */
const MIN_WIDTH = 720;
const PANEL_H = 200;
const PAD = { left: 48, right: 12, top: 24, bottom: 34 };

function panelSvg(panel: Panel, ox: number, oy: number, xLabel: string, yLabel: string): string {
  const all = panel.series.flatMap((s) => s.points);
  const xMax = niceCeiling(Math.max(1e-9, ...all.map((p) => p[0])));
  const yTop = Math.max(1e-9, ...all.map((p) => p[1]), ...(panel.marks ?? []).map((m) => m.y));
  const yMax = niceCeiling(yTop * 1.05);
  const w = PANEL_W - PAD.left - PAD.right;
  const h = PANEL_H - PAD.top - PAD.bottom;
  const sx = (x: number) => ox + PAD.left + (x / xMax) * w;
  const sy = (y: number) => oy + PAD.top + h - (y / yMax) * h;
  const out: string[] = [];
  out.push(text(ox + PAD.left, oy + 15, panel.title, 'font-weight="bold"'));
  out.push(`<rect x="${r1(ox + PAD.left)}" y="${r1(oy + PAD.top)}" width="${w}" height="${h}" fill="none" stroke="#bbb"/>`);
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    out.push(`<line x1="${r1(sx(0))}" x2="${r1(sx(xMax))}" y1="${r1(sy(y))}" y2="${r1(sy(y))}" stroke="#eee"/>`);
    out.push(text(sx(0) - 4, sy(y) + 4, String(r1(y)), 'text-anchor="end"'));
  }
  for (let i = 0; i <= 4; i++) {
    const x = (xMax * i) / 4;
    out.push(text(sx(x), oy + PAD.top + h + 14, String(r1(x)), 'text-anchor="middle"'));
  }
  out.push(text(ox + PAD.left + w / 2, oy + PANEL_H - 4, xLabel, 'text-anchor="middle" fill="#555"'));
  out.push(text(ox + 10, oy + PAD.top + h / 2, yLabel, `text-anchor="middle" fill="#555" transform="rotate(-90 ${r1(ox + 10)} ${r1(oy + PAD.top + h / 2)})"`));
  for (const mark of panel.marks ?? []) {
    if (mark.y > yMax) continue;
    out.push(`<line x1="${r1(sx(0))}" x2="${r1(sx(xMax))}" y1="${r1(sy(mark.y))}" y2="${r1(sy(mark.y))}" stroke="#c00" stroke-dasharray="2 3"/>`);
    out.push(text(sx(xMax) - 2, sy(mark.y) - 3, mark.label, 'text-anchor="end" fill="#c00"'));
  }
  for (const s of panel.series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${r1(sx(p[0]))} ${r1(sy(p[1]))}`).join('');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
  }
  return out.join('\n');
}

/** Small multiples sharing a legend (series names and colours of the first panel). */
export function lineChartSvg(spec: LineChartSpec): string {
  const columns = Math.max(1, Math.min(spec.columns ?? 3, spec.panels.length));
  const rows = Math.ceil(spec.panels.length / columns);
  const legend = spec.panels[0]?.series ?? [];
  const width = Math.max(MIN_WIDTH, columns * PANEL_W);
  const height = 50 + rows * PANEL_H;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    text(10, 20, spec.title, 'font-size="14" font-weight="bold"'),
  ];
  legend.forEach((s, i) => {
    const x = 10 + i * 170;
    out.push(`<line x1="${x}" x2="${x + 24}" y1="36" y2="36" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
    out.push(text(x + 30, 40, s.name));
  });
  spec.panels.forEach((panel, i) => {
    out.push(panelSvg(panel, (i % columns) * PANEL_W, 50 + Math.floor(i / columns) * PANEL_H, spec.xLabel, spec.yLabel));
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Horizontal bars; a bar with a target is green when value ≥ target, red otherwise. */
export function barChartSvg(spec: BarChartSpec): string {
  const labelW = 230;
  const barW = 380;
  const rowH = 28;
  const top = 40;
  const max = spec.max ?? niceCeiling(Math.max(...spec.bars.map((b) => Math.max(b.value, b.target ?? 0))));
  const width = labelW + barW + 90;
  const height = top + spec.bars.length * rowH + 30;
  const sx = (v: number) => labelW + (Math.max(0, v) / max) * barW;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    text(10, 22, spec.title, 'font-size="14" font-weight="bold"'),
  ];
  spec.bars.forEach((bar, i) => {
    const y = top + i * rowH;
    const color = bar.target === undefined ? '#4a78b5' : bar.value >= bar.target ? '#3a9a4a' : '#c4463a';
    out.push(text(labelW - 8, y + 16, bar.label, 'text-anchor="end"'));
    out.push(`<rect x="${labelW}" y="${y + 4}" width="${r1(sx(bar.value) - labelW)}" height="${rowH - 10}" fill="${color}"/>`);
    out.push(text(sx(bar.value) + 6, y + 16, `${bar.value.toFixed(2)}${spec.valueSuffix ?? ''}`));
    if (bar.target !== undefined) {
      out.push(`<line x1="${r1(sx(bar.target))}" x2="${r1(sx(bar.target))}" y1="${y}" y2="${y + rowH - 2}" stroke="#000" stroke-width="2"/>`);
    }
  });
  const axisY = top + spec.bars.length * rowH + 4;
  out.push(`<line x1="${labelW}" x2="${labelW + barW}" y1="${axisY}" y2="${axisY}" stroke="#999"/>`);
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    out.push(text(sx(v), axisY + 14, String(r1(v * 100) / 100), 'text-anchor="middle" fill="#555"'));
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
