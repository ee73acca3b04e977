// The HTML report's charts as small pure functions: scales, ranges, ticks, path building, label
// layout, and the markup they make out of hostile text.
import { describe, expect, it } from 'vitest';
import { linearScale, niceStep, niceTicks, valueDomain } from '../../src/headless/chart-scale.ts';
import { escapeHtml } from '../../src/headless/html-escape.ts';
import type { Mark } from '../../src/headless/report-timeline.ts';
import {
  chartDomain,
  formatOffset,
  layoutLabels,
  PLOT_X0,
  PLOT_X1,
  polylinePoints,
  renderChart,
  renderTimelineStrip,
  segments,
  timeScale,
  timeStepMs,
  type ChartSpec,
} from '../../src/headless/svg-chart.ts';
import { startTags } from '../helpers/html.ts';

const HOSTILE = `</svg><script>alert(1)</script>"'&`;

describe('scales and ranges', () => {
  it('linearScale maps the domain onto the range, either way round', () => {
    const x = linearScale([1000, 3000], [100, 900]);
    expect([x(1000), x(2000), x(3000), x(4000)]).toEqual([100, 500, 900, 1300]);
    const y = linearScale([0, 50], [130, 10]); // SVG y grows downwards
    expect([y(0), y(25), y(50)]).toEqual([130, 70, 10]);
    // an empty domain cannot divide by zero: everything in the middle
    expect(linearScale([5, 5], [0, 100])(5)).toBe(50);
  });

  it('niceStep is 1, 2, 2.5 or 5 times a power of ten', () => {
    expect(niceStep(512, 4)).toBe(200);
    expect(niceStep(1, 4)).toBe(0.25);
    expect(niceStep(0.011, 4)).toBe(0.005);
    expect(niceStep(0, 4)).toBe(1);
  });

  it('niceTicks are multiples of the step inside the range, with no floating-point noise', () => {
    expect(niceTicks(0, 552, 4)).toEqual([0, 200, 400]);
    expect(niceTicks(0, 0.3, 3)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(0.9892, 1, 4)).toEqual([0.99, 0.995, 1]);
    expect(niceTicks(0.9892, 1, 8)).toEqual([0.99, 0.992, 0.994, 0.996, 0.998, 1]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });

  it('valueDomain: headroom above, zero-based magnitudes, availability never above 100 %', () => {
    expect(valueDomain([0, 10, 512, 500], { zero: true })).toEqual([0, 552.96]);
    const [lo, hi] = valueDomain([1, 1, 0.99], { max: 1, minSpan: 0.005 });
    expect(hi).toBe(1);
    expect(lo).toBeCloseTo(0.9892, 6);
    // a flat series at the ceiling still gets a visible range below it
    expect(valueDomain([1, 1], { max: 1, minSpan: 0.005 })).toEqual([0.995 - 0.0004, 1]);
    // a flat series of zeros: the minimum span
    expect(valueDomain([0, 0], { zero: true, minSpan: 1 })).toEqual([0, 1.08]);
    expect(valueDomain([], { zero: true, minSpan: 1 })).toEqual([0, 1.08]);
  });

  it('chartDomain draws a cap far above the data off scale, and a near one to scale', () => {
    const spend = (max: number) => ({ id: 's', label: 's', color: '#000', points: [[0, 0] as const, [1, max] as const] });
    const caps = [
      { id: 'experimentCapUsd', label: 'experiment cap', value: 2, color: '#000', mayBeOffScale: true },
      { id: 'dayCapUsd', label: 'day cap', value: 500, color: '#000', mayBeOffScale: true },
    ];
    const far = chartDomain({ series: [spend(0.2)], bounds: caps, domain: { zero: true } });
    expect([...far.offScale].sort()).toEqual(['dayCapUsd', 'experimentCapUsd']);
    expect(far.domain[1]).toBeCloseTo(0.216, 6);
    const near = chartDomain({ series: [spend(1.5)], bounds: caps, domain: { zero: true } });
    expect([...near.offScale]).toEqual(['dayCapUsd']);
    expect(near.domain[1]).toBeCloseTo(2.16, 6);
    // nothing spent yet: both off scale, the range is the minimum span
    expect([...chartDomain({ series: [spend(0)], bounds: caps, domain: { zero: true, minSpan: 0.01 } }).offScale]).toHaveLength(2);
  });
});

describe('paths and axes', () => {
  it('segments breaks a series where it has no value', () => {
    expect(
      segments([
        [1, 10],
        [2, null],
        [3, 30],
        [4, 40],
        [5, Number.NaN],
      ]),
    ).toEqual([
      [[1, 10]],
      [
        [3, 30],
        [4, 40],
      ],
    ]);
    expect(segments([])).toEqual([]);
  });

  it('polylinePoints: "x,y x,y", a tenth of a pixel', () => {
    const x = linearScale([0, 3], [0, 100]);
    const y = linearScale([0, 1], [100, 0]);
    expect(
      polylinePoints(
        [
          [0, 0],
          [1, 0.5],
          [3, 1],
        ],
        x,
        y,
      ),
    ).toBe('0,100 33.3,50 100,0');
  });

  it('the time axis is read in round steps, as time since the start', () => {
    expect(timeStepMs(12_400)).toBe(2000);
    expect(timeStepMs(4_600)).toBe(1000);
    expect(timeStepMs(600)).toBe(100);
    expect(timeStepMs(30 * 60_000)).toBe(300_000);
    expect(timeStepMs(3 * 86_400_000)).toBeGreaterThanOrEqual((3 * 86_400_000) / 8);
    expect(['+0s', '+1.5s', '+45s', '+1m', '+2m30s', '+1h05m']).toEqual([0, 1500, 45_000, 60_000, 150_000, 3_900_000].map(formatOffset));
  });

  it('layoutLabels puts overlapping labels in the next row, and leaves out what no row holds', () => {
    const boxes = [
      { x: 100, width: 40 },
      { x: 110, width: 40 }, // overlaps the first
      { x: 300, width: 40 },
      { x: 120, width: 40 }, // overlaps both rows
      { x: 130, width: 40 },
    ];
    expect(layoutLabels(boxes, 3)).toEqual([0, 1, 0, 2, -1]);
    expect(layoutLabels(boxes, 1)).toEqual([0, -1, 0, -1, -1]);
    // far enough apart: one row
    expect(
      layoutLabels(
        [
          { x: 0, width: 10 },
          { x: 20, width: 10 },
        ],
        2,
      ),
    ).toEqual([0, 0]);
  });
});

describe('renderChart', () => {
  const axis = { t0Ms: 10_000, t1Ms: 20_000 };
  const marks: Mark[] = [
    { kind: 'fault-in', tMs: 12_000, label: 'fault in', detail: 'fault in' },
    { kind: 'note', tMs: 15_000, label: 'note', detail: `note: ${HOSTILE}` },
  ];
  const spec: ChartSpec = {
    id: 'p95-latency',
    title: HOSTILE,
    series: [
      {
        id: 'p95LatencyMs',
        label: HOSTILE,
        color: '#1864ab',
        points: [
          [10_000, 10],
          [15_000, 700],
          [20_000, null],
        ],
      },
    ],
    bounds: [{ id: 'p95LatencyMs', label: HOSTILE, value: 500, color: '#c92a2a' }],
    format: (v) => `${v}ms`,
    domain: { zero: true },
  };
  const svg = renderChart(spec, axis, { bands: [{ phase: 'observe', startMs: 12_000, endMs: 18_000 }], marks });

  it('places marks, bands and points with the shared time scale, and says so in data- attributes', () => {
    const x = timeScale(axis);
    const [root] = startTags(svg, 'svg');
    expect(root).toMatchObject({
      'data-chart': 'p95-latency',
      'data-t0-ms': '10000',
      'data-t1-ms': '20000',
      'data-x0': String(PLOT_X0),
      'data-x1': String(PLOT_X1),
    });
    const lines = startTags(svg, 'line');
    const fault = lines.find((l) => l['data-mark'] === 'fault-in')!;
    expect(Number(fault.x1)).toBeCloseTo(x(12_000), 1);
    expect(fault['data-t-ms']).toBe('12000');
    const band = startTags(svg, 'rect').find((r) => r['data-phase'] === 'observe')!;
    expect(Number(band.x)).toBeCloseTo(x(12_000), 1);
    expect(Number(band.width)).toBeCloseTo(x(18_000) - x(12_000), 1);
    const [line] = startTags(svg, 'polyline');
    const pts = line.points.split(' ').map((p) => p.split(',').map(Number));
    expect(pts.map(([px]) => px)).toEqual([x(10_000), x(15_000)].map((v) => Math.round(v * 10) / 10));
    // the peak is above the bound (smaller y)
    const bound = lines.find((l) => l['data-bound'] === 'p95LatencyMs')!;
    expect(pts[1][1]).toBeLessThan(Number(bound.y1));
    expect(pts[0][1]).toBeGreaterThan(Number(bound.y1));
  });

  it('escapes hostile text in titles, labels and tooltips: one svg, no script', () => {
    expect(svg).not.toContain('<script');
    expect(svg.match(/<\/svg>/g)).toHaveLength(1);
    expect(svg).toContain(escapeHtml(HOSTILE));
    expect(escapeHtml(HOSTILE)).toBe('&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;');
  });

  it('the timeline strip labels the marks in rows that do not overlap', () => {
    const many: Mark[] = Array.from({ length: 12 }, (_, i) => ({
      kind: 'note',
      tMs: 15_000 + i,
      label: `note ${HOSTILE}`,
      detail: HOSTILE,
    }));
    const strip = renderTimelineStrip(axis, { bands: [], marks: many }, 4);
    expect(strip).not.toContain('<script');
    const labels = startTags(strip, 'text').filter((t) => t['data-mark-label']);
    // 12 marks at one instant, 4 rows: 4 labels, every line still drawn
    expect(labels).toHaveLength(4);
    expect(new Set(labels.map((l) => l.y)).size).toBe(4);
    expect(startTags(strip, 'line').filter((l) => l['data-mark'])).toHaveLength(12);
  });
});
