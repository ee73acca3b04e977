import { describe, expect, it } from 'vitest';
import { impactBand, impactScore } from '../../src/engine/impact.ts';
import type { SliName, SloThresholds, Slis } from '../../src/engine/slis.ts';
import { SLI_NAMES } from '../../src/engine/slis.ts';

const slo: SloThresholds = { p95LatencyMs: 500, errorRate: 0.01, availability: 0.99, healthFailures: 3 };
const slis = (over: Partial<Slis> = {}): Slis => ({
  p95LatencyMs: 50,
  errorRate: 0.001,
  availability: 0.999,
  healthFailures: 0,
  samples: 1000,
  throughputRps: 200,
  ...over,
});
const baseline = slis();

function rng(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 16807) % 2147483647) - 1) / 2147483646;
}

describe('impactScore', () => {
  it('is 0 at baseline, with no driver', () => {
    expect(impactScore(baseline, baseline, slo)).toEqual({
      score: 0,
      driver: null,
      perSli: { p95LatencyMs: 0, errorRate: 0, availability: 0, healthFailures: 0 },
    });
  });

  it('is 100 at each threshold, and the SLI at its threshold drives it', () => {
    const atThreshold: Record<SliName, Partial<Slis>> = {
      p95LatencyMs: { p95LatencyMs: 500 },
      errorRate: { errorRate: 0.01 },
      availability: { availability: 0.99 },
      healthFailures: { healthFailures: 3 },
    };
    for (const sli of SLI_NAMES) {
      const r = impactScore(baseline, slis(atThreshold[sli]), slo);
      expect(r.score, sli).toBeCloseTo(100, 9);
      expect(r.driver).toBe(sli);
    }
  });

  it('is the fraction of the distance travelled, the max over SLIs', () => {
    const r = impactScore(baseline, slis({ p95LatencyMs: 275, availability: 0.9945, healthFailures: 1 }), slo);
    expect(r.perSli.p95LatencyMs).toBeCloseTo(50, 9); // (275-50)/(500-50)
    expect(r.perSli.availability).toBeCloseTo(50, 9); // (0.999-0.9945)/(0.999-0.99)
    expect(r.perSli.healthFailures).toBeCloseTo(100 / 3, 9);
    expect(r.perSli.errorRate).toBe(0);
    expect(r.score).toBeCloseTo(50, 9);
    expect(r.driver === 'p95LatencyMs' || r.driver === 'availability').toBe(true);
  });

  it('is bounded: clamped at 100 past a threshold and at 0 when better than baseline', () => {
    const worse = impactScore(baseline, slis({ p95LatencyMs: 10_000, errorRate: 1, availability: 0, healthFailures: 50 }), slo);
    expect(worse.score).toBe(100);
    for (const v of Object.values(worse.perSli)) expect(v).toBe(100);
    const better = impactScore(baseline, slis({ p95LatencyMs: 1, errorRate: 0, availability: 1 }), slo);
    expect(better.score).toBe(0);
    expect(better.driver).toBeNull();
  });

  it('a baseline already at or past its threshold scores 100 only when the current value is past it', () => {
    const badBase = slis({ p95LatencyMs: 600, errorRate: 0.01, availability: 0.98 });
    expect(impactScore(badBase, slis({ p95LatencyMs: 500.5, errorRate: 0.001, availability: 0.999 }), slo).perSli.p95LatencyMs).toBe(100);
    expect(impactScore(badBase, slis({ p95LatencyMs: 400 }), slo).perSli.p95LatencyMs).toBe(0);
    expect(impactScore(badBase, slis({ errorRate: 0.01 }), slo).perSli.errorRate).toBe(0);
    expect(impactScore(badBase, slis({ errorRate: 0.02 }), slo).perSli.errorRate).toBe(100);
    expect(impactScore(badBase, slis({ availability: 0.985 }), slo).perSli.availability).toBe(100);
    expect(impactScore(badBase, slis({ availability: 0.995 }), slo).perSli.availability).toBe(0);
  });

  it('never returns NaN, even for degenerate input', () => {
    const r = impactScore(slis({ p95LatencyMs: NaN }), slis({ p95LatencyMs: NaN, errorRate: NaN }), { ...slo, healthFailures: 0 });
    expect(Number.isFinite(r.score)).toBe(true);
  });

  it('is monotone in each SLI’s degradation and stays in [0, 100] (randomized)', () => {
    const r = rng(42);
    const degrade: Record<SliName, (s: Slis, amount: number) => Slis> = {
      p95LatencyMs: (s, a) => ({ ...s, p95LatencyMs: s.p95LatencyMs + a * 400 }),
      errorRate: (s, a) => ({ ...s, errorRate: Math.min(1, s.errorRate + a * 0.02) }),
      availability: (s, a) => ({ ...s, availability: Math.max(0, s.availability - a * 0.02) }),
      healthFailures: (s, a) => ({ ...s, healthFailures: s.healthFailures + Math.round(a * 3) }),
    };
    for (let k = 0; k < 2000; k++) {
      const base = slis({ p95LatencyMs: r() * 700, errorRate: r() * 0.015, availability: 0.98 + r() * 0.02 });
      let cur = slis({
        p95LatencyMs: r() * 900,
        errorRate: r() * 0.03,
        availability: 0.95 + r() * 0.05,
        healthFailures: Math.floor(r() * 5),
      });
      const sli = SLI_NAMES[Math.floor(r() * SLI_NAMES.length)];
      const before = impactScore(base, cur, slo);
      cur = degrade[sli](cur, r());
      const after = impactScore(base, cur, slo);
      expect(after.perSli[sli]).toBeGreaterThanOrEqual(before.perSli[sli]);
      expect(after.score).toBeGreaterThanOrEqual(before.score);
      for (const v of [before.score, after.score, ...Object.values(after.perSli)]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(100);
      }
    }
  });
});

describe('impactBand', () => {
  it('bands: none < 1 ≤ low < 25 ≤ moderate < 60 ≤ high < 100 ≤ critical', () => {
    const cases: Array<[number, string]> = [
      [0, 'none'],
      [0.99, 'none'],
      [1, 'low'],
      [24.9, 'low'],
      [25, 'moderate'],
      [59.9, 'moderate'],
      [60, 'high'],
      [99.9, 'high'],
      [100, 'critical'],
    ];
    for (const [score, band] of cases) expect(impactBand(score), String(score)).toBe(band);
  });
});
