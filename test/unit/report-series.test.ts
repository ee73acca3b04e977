// The report's chart data: every tick of a run of any length in bounded memory, evenly spread over
// the run, with the worst of each measure kept (a spike that broke an SLO is never averaged away).
import { describe, expect, it } from 'vitest';
import type { GamedayEvent } from '../../src/engine/events.ts';
import { MAX_POINTS, mergePoints, pointOf, SeriesCollector } from '../../src/headless/report-series.ts';

type Tick = Extract<GamedayEvent, { type: 'tick' }>;

function tick(i: number, over: { p95?: number; availability?: number; guard?: number | null } = {}): Tick {
  return {
    type: 'tick',
    ts: 1_000_000 + i * 250,
    phase: 'observe',
    slis: {
      p95LatencyMs: over.p95 ?? 10,
      errorRate: 0,
      availability: over.availability ?? 1,
      healthFailures: 0,
      samples: 40,
      throughputRps: 40,
    },
    budget: {
      costPerRequestUsd: 0.001,
      experimentSpentUsd: i * 0.01,
      experimentCapUsd: 50,
      daySpentUsd: 1 + i * 0.01,
      dayReservedUsd: 0,
      dayCapUsd: 500,
      requestsSent: i * 10,
      burnUsdPerMin: 2.4,
      timeToCapMs: null,
    },
    impact: { score: over.p95 ? 100 : 0, band: 'none', driver: null, peak: 0 },
    faultActive: true,
    byOutcome: { ok: 0, error: 0, timeout: 0, reset: 0, refused: 0 },
    guards: over.guard === undefined ? [] : [{ name: 'queue', value: over.guard, bound: 100, kind: 'max', state: 'ok' }],
  };
}

describe('mergePoints', () => {
  it('keeps the worse SLIs and impact, the later spend, the first time', () => {
    const a = pointOf(tick(0, { p95: 700, guard: 5 }));
    const b = pointOf(tick(1, { availability: 0.5, guard: 150 }));
    const m = mergePoints(a, b);
    expect(m).toMatchObject({ tMs: a.tMs, p95LatencyMs: 700, availability: 0.5, impact: 100, experimentSpentUsd: b.experimentSpentUsd });
    expect(m.guards.queue.value).toBe(150);
    // a guard that could not see does not hide one that did
    expect(mergePoints(pointOf(tick(0, { guard: null })), pointOf(tick(1, { guard: 7 }))).guards.queue.value).toBe(7);
  });
});

describe('SeriesCollector', () => {
  it('keeps every tick of a short run as it is', () => {
    const c = new SeriesCollector();
    for (let i = 0; i < 50; i++) c.add(tick(i));
    const { points, ticks } = c.result();
    expect(ticks).toBe(50);
    expect(points.map((p) => p.tMs)).toEqual(Array.from({ length: 50 }, (_, i) => 1_000_000 + i * 250));
  });

  it('holds a day of ticks in at most 2 × MAX_POINTS, in order, spread over the run, the spike and the last spend kept', () => {
    const c = new SeriesCollector();
    const n = 345_600; // a day at 4 a second
    const spikeAt = 123_457;
    for (let i = 0; i < n; i++) c.add(tick(i, i === spikeAt ? { p95: 9000 } : i === spikeAt + 1000 ? { availability: 0.2 } : {}));
    const { points, ticks } = c.result();
    expect(ticks).toBe(n);
    expect(points.length).toBeLessThan(2 * MAX_POINTS);
    expect(points.length).toBeGreaterThanOrEqual(MAX_POINTS);
    for (let i = 1; i < points.length; i++) expect(points[i].tMs).toBeGreaterThan(points[i - 1].tMs);
    expect(points[0].tMs).toBe(1_000_000);
    expect(points.at(-1)!.tMs).toBeGreaterThan(1_000_000 + (n - 1) * 250 - (n / MAX_POINTS) * 250);
    expect(Math.max(...points.map((p) => p.p95LatencyMs))).toBe(9000);
    expect(Math.min(...points.map((p) => p.availability))).toBe(0.2);
    expect(points.at(-1)!.experimentSpentUsd).toBeCloseTo((n - 1) * 0.01, 6);
    // the spike is drawn near its time
    const spike = points.find((p) => p.p95LatencyMs === 9000)!;
    expect(Math.abs(spike.tMs - (1_000_000 + spikeAt * 250))).toBeLessThanOrEqual((n / MAX_POINTS) * 250);
  });
});
