// Hand-written SVG charts for the HTML report: no library, no script. Every chart shares one time
// axis (the same t0, t1 and plot x range), so a mark at one instant sits at the same x in each.
// Elements carry data- attributes (the chart, its series, bounds, marks and its scale) that tests and
// scripts read; the README lists them.
import { linearScale, niceStep, niceTicks, valueDomain, type DomainOptions, type LinearScale } from './chart-scale.ts';
import { escapeHtml } from './html-escape.ts';
import type { Mark, MarkKind, PhaseBand } from './report-timeline.ts';

/** The viewBox width and the plot's x range inside it, the same for every chart. */
const CHART_WIDTH = 960;
export const PLOT_X0 = 76;
export const PLOT_X1 = 936;
const PLOT_HEIGHT = 120;
const TOP = 10;
const AXIS_HEIGHT = 22;
const FONT = 'font-family="system-ui, sans-serif" font-size="11"';
/** A rough width of 11px sans-serif text: enough to keep labels apart. */
const CHAR_PX = 6.4;

export interface TimeAxis {
  t0Ms: number;
  t1Ms: number;
}

export interface Overlay {
  bands: readonly PhaseBand[];
  marks: readonly Mark[];
}

export interface ChartSeries {
  id: string;
  label: string;
  color: string;
  /** null: no value then (a guard that could not see); the line breaks */
  points: readonly (readonly [tMs: number, value: number | null])[];
}

interface ChartBound {
  id: string;
  label: string;
  value: number;
  color: string;
  /** a cap far above the data is drawn at the top, labelled "off scale", instead of flattening the data */
  mayBeOffScale?: boolean;
}

export interface ChartSpec {
  id: string;
  /** the accessible name of the chart */
  title: string;
  series: readonly ChartSeries[];
  bounds: readonly ChartBound[];
  format: (value: number) => string;
  domain?: DomainOptions;
  /** values always inside the value range (impact: 0 and 100) */
  include?: readonly number[];
}

export const PHASE_COLOR: Record<string, string> = {
  preflight: '#e9ecef',
  baseline: '#dbe9f8',
  inject: '#fbd3bd',
  observe: '#fde8db',
  rollback: '#e5d8f4',
  verify: '#d8f0da',
  restore: '#d3eeec',
};

export const MARK_COLOR: Record<MarkKind, string> = {
  'fault-in': '#d9480f',
  'fault-out': '#2b8a3e',
  'fault-paused': '#868e96',
  'fault-resumed': '#868e96',
  breach: '#c92a2a',
  rollback: '#7048e8',
  'rollback-failed': '#c92a2a',
  budget: '#e67700',
  note: '#1c7ed6',
  'emergency-stop': '#212529',
  error: '#c92a2a',
};

const r1 = (n: number): string => String(Math.round(n * 10) / 10);
const attr = (name: string, value: string | number): string => ` ${name}="${escapeHtml(String(value))}"`;

/** The shared x scale: epoch milliseconds onto the plot's x range. */
export function timeScale(axis: TimeAxis): LinearScale {
  return linearScale([axis.t0Ms, axis.t1Ms], [PLOT_X0, PLOT_X1]);
}

/** The runs of a series without gaps (null or non-finite values end a run). */
export function segments(points: ChartSeries['points']): [number, number][][] {
  const runs: [number, number][][] = [];
  let run: [number, number][] = [];
  for (const [t, v] of points) {
    if (v === null || !Number.isFinite(v) || !Number.isFinite(t)) {
      if (run.length) runs.push(run);
      run = [];
    } else run.push([t, v]);
  }
  if (run.length) runs.push(run);
  return runs;
}

/** A polyline's points attribute: "x,y x,y …", a tenth of a pixel. */
export function polylinePoints(run: readonly (readonly [number, number])[], x: (t: number) => number, y: (v: number) => number): string {
  return run.map(([t, v]) => `${r1(x(t))},${r1(y(v))}`).join(' ');
}

/** Steps a time axis is read in, from 100 ms to a day. */
const TIME_STEPS_MS = [
  100, 200, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 144e5, 216e5, 432e5, 864e5,
];

/** The smallest readable step giving at most `count` ticks over the span. */
export function timeStepMs(spanMs: number, count = 8): number {
  return TIME_STEPS_MS.find((s) => spanMs / s <= count) ?? niceStep(spanMs, count);
}

/** Time since the start as the axis shows it: "+0s", "+1.5s", "+45s", "+2m30s", "+1h05m". */
export function formatOffset(ms: number): string {
  if (ms < 60_000) {
    const s = ms / 1000;
    return `+${Number.isInteger(s) ? s : s.toFixed(1)}s`;
  }
  const totalS = Math.round(ms / 1000);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  if (h) return `+${h}h${String(m).padStart(2, '0')}m`;
  return s ? `+${m}m${String(s).padStart(2, '0')}s` : `+${m}m`;
}

export interface LabelBox {
  x: number;
  width: number;
}

/**
 * Rows for labels centred at `x`, so that none overlaps another in its row: each goes into the first
 * row where it clears the last label by `gapPx`, in x order. -1: no row had room (the label is left
 * out; its mark and the table still show the event).
 */
export function layoutLabels(items: readonly LabelBox[], rows: number, gapPx = 4): number[] {
  const rightEdge = Array<number>(rows).fill(-Infinity);
  const out = Array<number>(items.length).fill(-1);
  const order = items.map((_, i) => i).sort((a, b) => items[a].x - items[b].x);
  for (const i of order) {
    const left = items[i].x - items[i].width / 2;
    const row = rightEdge.findIndex((edge) => left >= edge + gapPx);
    if (row === -1) continue;
    out[i] = row;
    rightEdge[row] = items[i].x + items[i].width / 2;
  }
  return out;
}

const textWidth = (text: string): number => text.length * CHAR_PX;

/** The scale as data- attributes: a reader maps a time to x as x0 + (t − t0) / (t1 − t0) × (x1 − x0). */
function scaleAttrs(axis: TimeAxis): string {
  return attr('data-t0-ms', axis.t0Ms) + attr('data-t1-ms', axis.t1Ms) + attr('data-x0', PLOT_X0) + attr('data-x1', PLOT_X1);
}

function bandRects(bands: readonly PhaseBand[], x: LinearScale, top: number, height: number): string {
  return bands
    .map((b) => {
      const x0 = x(b.startMs);
      const w = Math.max(0.5, x(b.endMs) - x0);
      return `<rect${attr('data-phase', b.phase)}${attr('data-t-start-ms', b.startMs)}${attr('data-t-end-ms', b.endMs)} x="${r1(x0)}" y="${r1(top)}" width="${r1(w)}" height="${r1(height)}" fill="${PHASE_COLOR[b.phase] ?? '#f1f3f5'}"/>`;
    })
    .join('');
}

function markLines(marks: readonly Mark[], x: LinearScale, top: number, bottom: number): string {
  return marks
    .map((m) => {
      const mx = r1(x(m.tMs));
      const dash = m.kind === 'note' || m.kind === 'budget' ? ' stroke-dasharray="3 2"' : '';
      return `<line${attr('data-mark', m.kind)}${attr('data-t-ms', m.tMs)} x1="${mx}" x2="${mx}" y1="${r1(top)}" y2="${r1(bottom)}" stroke="${MARK_COLOR[m.kind]}" stroke-width="1.5"${dash}><title>${escapeHtml(m.detail)}</title></line>`;
    })
    .join('');
}

function timeAxis(axis: TimeAxis, x: LinearScale, y: number): string {
  const span = axis.t1Ms - axis.t0Ms;
  const step = timeStepMs(span);
  const parts = [`<line x1="${PLOT_X0}" x2="${PLOT_X1}" y1="${y}" y2="${y}" stroke="#495057"/>`];
  for (let off = 0; off <= span; off += step) {
    const tx = r1(x(axis.t0Ms + off));
    parts.push(`<line x1="${tx}" x2="${tx}" y1="${y}" y2="${y + 4}" stroke="#495057"/>`);
    parts.push(`<text x="${tx}" y="${y + 15}" text-anchor="middle" fill="#495057">${formatOffset(off)}</text>`);
  }
  return `<g data-axis="time">${parts.join('')}</g>`;
}

/** The value range, and which bounds are drawn off scale at the top. */
export function chartDomain(spec: Pick<ChartSpec, 'series' | 'bounds' | 'domain' | 'include'>): {
  domain: [number, number];
  offScale: Set<string>;
} {
  const values = spec.series.flatMap((s) => s.points.flatMap(([, v]) => (v !== null && Number.isFinite(v) ? [v] : [])));
  const dataMax = values.length ? Math.max(...values) : 0;
  const offScale = new Set(spec.bounds.filter((b) => b.mayBeOffScale && !(b.value <= 4 * dataMax)).map((b) => b.id));
  const inScale = spec.bounds.filter((b) => !offScale.has(b.id)).map((b) => b.value);
  return { domain: valueDomain([...values, ...inScale, ...(spec.include ?? [])], spec.domain), offScale };
}

/** One chart: phase bands, value grid, bounds, series, marks and the time axis. */
export function renderChart(spec: ChartSpec, axis: TimeAxis, overlay: Overlay): string {
  const x = timeScale(axis);
  const plotTop = TOP;
  const plotBottom = TOP + PLOT_HEIGHT;
  const height = plotBottom + AXIS_HEIGHT;
  const { domain, offScale } = chartDomain(spec);
  const y = linearScale(domain, [plotBottom, plotTop]);

  const grid = niceTicks(domain[0], domain[1], 4)
    .map((v) => {
      const gy = r1(y(v));
      return `<line x1="${PLOT_X0}" x2="${PLOT_X1}" y1="${gy}" y2="${gy}" stroke="#dee2e6"/><text x="${PLOT_X0 - 6}" y="${gy}" dy="0.35em" text-anchor="end" fill="#495057">${escapeHtml(spec.format(v))}</text>`;
    })
    .join('');

  // in-scale bound labels sit above their line at the right; one too close to the previous moves left.
  // Labels go on top of the series (with a white halo), so a line through them never hides them.
  const bounds: string[] = [];
  const boundLabels: string[] = [];
  const inScale = spec.bounds.filter((b) => !offScale.has(b.id)).sort((a, b) => y(a.value) - y(b.value));
  let lastY = -Infinity;
  let left = false;
  for (const b of inScale) {
    const by = y(b.value);
    left = by - lastY < 14 ? !left : false;
    lastY = by;
    const ly = by - plotTop < 12 ? by + 12 : by - 4;
    const text = `${b.label} ${spec.format(b.value)}`;
    bounds.push(
      `<line${attr('data-bound', b.id)}${attr('data-value', b.value)} x1="${PLOT_X0}" x2="${PLOT_X1}" y1="${r1(by)}" y2="${r1(by)}" stroke="${b.color}" stroke-width="1.5" stroke-dasharray="6 3"/>`,
    );
    boundLabels.push(
      `<text x="${left ? PLOT_X0 + 4 : PLOT_X1 - 4}" y="${r1(ly)}" text-anchor="${left ? 'start' : 'end'}" fill="${b.color}" paint-order="stroke" stroke="#fff" stroke-width="3">${escapeHtml(text)}</text>`,
    );
  }
  const off = spec.bounds.filter((b) => offScale.has(b.id));
  if (off.length) {
    for (const b of off)
      bounds.push(
        `<line${attr('data-bound', b.id)}${attr('data-value', b.value)} data-off-scale="true" x1="${PLOT_X0}" x2="${PLOT_X1}" y1="${plotTop}" y2="${plotTop}" stroke="${b.color}" stroke-width="1.5" stroke-dasharray="2 3"/>`,
      );
    // top left: the caps are for a series that only grows, so its line ends top right
    const text = `↑ off scale: ${off.map((b) => `${b.label} ${spec.format(b.value)}`).join(' · ')}`;
    boundLabels.push(
      `<text x="${PLOT_X0 + 4}" y="${plotTop + 12}" text-anchor="start" fill="#495057" paint-order="stroke" stroke="#fff" stroke-width="3">${escapeHtml(text)}</text>`,
    );
  }

  // a second series is dashed, so that where the two coincide both still show
  const series = spec.series
    .map((s, i) =>
      segments(s.points)
        .map(
          (run) =>
            `<polyline${attr('data-series', s.id)} points="${polylinePoints(run, x, y)}" fill="none" stroke="${s.color}" stroke-width="${i ? 1.5 : 2.5}" stroke-linejoin="round"${i ? ' stroke-dasharray="6 4"' : ''}/>`,
        )
        .join(''),
    )
    .join('');

  return [
    `<svg${attr('data-chart', spec.id)}${scaleAttrs(axis)}${attr('data-y-min', domain[0])}${attr('data-y-max', domain[1])} data-plot-top="${plotTop}" data-plot-bottom="${plotBottom}" viewBox="0 0 ${CHART_WIDTH} ${height}" role="img" ${FONT} xmlns="http://www.w3.org/2000/svg">`,
    `<title>${escapeHtml(spec.title)}</title>`,
    `<g data-layer="phases" opacity="0.75">${bandRects(overlay.bands, x, plotTop, PLOT_HEIGHT)}</g>`,
    `<g data-layer="grid">${grid}</g>`,
    `<rect x="${PLOT_X0}" y="${plotTop}" width="${PLOT_X1 - PLOT_X0}" height="${PLOT_HEIGHT}" fill="none" stroke="#adb5bd"/>`,
    `<g data-layer="marks">${markLines(overlay.marks, x, plotTop, plotBottom)}</g>`,
    `<g data-layer="bounds">${bounds.join('')}</g>`,
    `<g data-layer="series">${series}</g>`,
    `<g data-layer="bound-labels">${boundLabels.join('')}</g>`,
    timeAxis(axis, x, plotBottom),
    '</svg>',
  ].join('\n');
}

/**
 * The strip above the charts: the phases as labelled bands, each mark with its label in rows that
 * do not overlap. Same x scale as the charts.
 */
export function renderTimelineStrip(axis: TimeAxis, overlay: Overlay, rows = 4): string {
  const x = timeScale(axis);
  const bandTop = 4;
  const bandHeight = 22;
  const rowHeight = 15;
  const labelsTop = bandTop + bandHeight + 4;
  const axisY = labelsTop + rows * rowHeight + 4;
  const height = axisY + AXIS_HEIGHT;

  const bandLabels = overlay.bands
    .map((b) => {
      const w = x(b.endMs) - x(b.startMs);
      if (w < textWidth(b.phase) + 8) return '';
      return `<text x="${r1(x(b.startMs) + w / 2)}" y="${bandTop + 15}" text-anchor="middle" fill="#212529">${escapeHtml(b.phase)}</text>`;
    })
    .join('');

  const boxes = overlay.marks.map((m) => {
    const width = textWidth(m.label) + 6;
    // a label at the edge is pushed inside the plot, not cut off
    const cx = Math.min(Math.max(x(m.tMs), PLOT_X0 + width / 2), PLOT_X1 - width / 2);
    return { x: cx, width };
  });
  const placed = layoutLabels(boxes, rows);
  const labels = overlay.marks
    .map((m, i) => {
      const row = placed[i];
      if (row === -1) return '';
      const ly = labelsTop + row * rowHeight + 11;
      return `<text${attr('data-mark-label', m.kind)}${attr('data-t-ms', m.tMs)} x="${r1(boxes[i].x)}" y="${ly}" text-anchor="middle" fill="${MARK_COLOR[m.kind]}" font-weight="600" paint-order="stroke" stroke="#fff" stroke-width="3">${escapeHtml(m.label)}</text>`;
    })
    .join('');

  return [
    `<svg data-chart="timeline"${scaleAttrs(axis)} viewBox="0 0 ${CHART_WIDTH} ${height}" role="img" ${FONT} xmlns="http://www.w3.org/2000/svg">`,
    '<title>phases and events</title>',
    `<g data-layer="phases">${bandRects(overlay.bands, x, bandTop, bandHeight)}${bandLabels}</g>`,
    `<g data-layer="marks">${markLines(overlay.marks, x, bandTop, axisY)}</g>`,
    `<g data-layer="labels">${labels}</g>`,
    timeAxis(axis, x, axisY),
    '</svg>',
  ].join('\n');
}
