import { describe, expect, it } from 'vitest';
import { SloWindow } from '../../src/engine/slo-window.ts';
import { percentile } from '../../src/engine/percentile.ts';
import { rng } from '../helpers/rng.ts';

const T0 = 1_700_000_000_000; // epoch-like times, as the engine uses

describe('percentile (exact, nearest rank)', () => {
  it('takes the smallest value with at least p % at or below it', () => {
    expect(percentile([], 95)).toBe(0);
    expect(percentile([5], 95)).toBe(5);
    const oneTo100 = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(oneTo100, 95)).toBe(95);
    expect(percentile(oneTo100, 50)).toBe(50);
    expect(percentile(oneTo100, 100)).toBe(100);
    expect(percentile(oneTo100, 0)).toBe(1);
    expect(percentile([1, 2, 3], 95)).toBe(3);
  });
});

describe('SloWindow', () => {
  const distributions: Record<string, (r: () => number) => number> = {
    uniform: (r) => 1 + r() * 200,
    'sub-millisecond': (r) => 0.05 + r() * 0.9,
    exponential: (r) => -Math.log(1 - r()) * 20,
    'log-normal (heavy tail)': (r) => Math.exp(3 + 1.5 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())),
    'pareto α=1.1 (very heavy tail)': (r) => 2 / Math.pow(1 - r(), 1 / 1.1),
    bimodal: (r) => (r() < 0.9 ? 2 + r() : 800 + r() * 400),
  };

  for (const [name, draw] of Object.entries(distributions)) {
    it(`p95 is within 1 % of the exact figure: ${name}`, () => {
      const r = rng(name.length * 7919);
      for (const n of [50, 1000, 20_000]) {
        const w = new SloWindow({ windowMs: 5000 });
        const values: number[] = [];
        for (let i = 0; i < n; i++) {
          const v = draw(r);
          values.push(v);
          w.record('ok', v, T0 + (i * 4000) / n);
        }
        const exact = percentile(values, 95);
        const got = w.evaluate(T0 + 4000, [], 0).p95LatencyMs;
        expect(Math.abs(got - exact) / exact, `n=${n} exact=${exact} got=${got}`).toBeLessThan(0.01);
      }
    });
  }

  it('old buckets fall out of the window', () => {
    const w = new SloWindow({ windowMs: 5000, bucketMs: 250 });
    for (let t = 0; t < 1000; t += 2) w.record('error', 300, T0 + t);
    for (let t = 5000; t < 5200; t += 2) w.record('ok', 10, T0 + t);
    const mixed = w.evaluate(T0 + 5200, [], 0); // covers T0+250 .. 5200: 375 errors, 100 ok
    expect(mixed.samples).toBe(375 + 100);
    expect(mixed.errorRate).toBeCloseTo(375 / 475, 6);

    for (let t = 5200; t < 6000; t += 2) w.record('ok', 10, T0 + t);
    const during = w.evaluate(T0 + 5999, [], 0);
    // the window covers buckets from T0+1000 on: the early errors are gone
    expect(during.samples).toBe(500);
    expect(during.errorRate).toBe(0);
    expect(during.p95LatencyMs).toBeCloseTo(10, 1);

    const later = w.evaluate(T0 + 20_000, [], 0);
    expect(later).toMatchObject({ samples: 0, p95LatencyMs: 0, errorRate: 0, availability: 1, throughputRps: 0 });
  });

  it('a bucket slot reused by a newer period starts empty', () => {
    const w = new SloWindow({ windowMs: 1000, bucketMs: 100 });
    w.record('error', 900, T0 + 50);
    w.record('ok', 5, T0 + 1050); // same ring slot, one lap later
    const s = w.evaluate(T0 + 1060, [], 0);
    expect(s.samples).toBe(1);
    expect(s.errorRate).toBe(0);
    expect(s.p95LatencyMs).toBeCloseTo(5, 1);
    w.record('error', 900, T0 + 60); // older than the window now: ignored
    expect(w.evaluate(T0 + 1060, [], 0).samples).toBe(1);
  });

  it('computes error rate over requests and availability over answered ones', () => {
    const w = new SloWindow({ windowMs: 5000 });
    const counts = { ok: 100, error: 2, timeout: 3, reset: 1, refused: 4 } as const;
    let t = T0;
    for (const [outcome, n] of Object.entries(counts)) {
      for (let i = 0; i < n; i++) w.record(outcome as keyof typeof counts, 10, (t += 10));
    }
    const s = w.evaluate(t, [], 2);
    expect(s.samples).toBe(110);
    expect(s.errorRate).toBeCloseTo(2 / 110, 9);
    expect(s.availability).toBeCloseTo(102 / 110, 9);
    expect(s.healthFailures).toBe(2);
  });

  it('with zero samples: p95 0, error rate 0, availability 1', () => {
    const w = new SloWindow({ windowMs: 5000 });
    expect(w.evaluate(T0, [], 0)).toEqual({
      p95LatencyMs: 0,
      errorRate: 0,
      availability: 1,
      healthFailures: 0,
      samples: 0,
      throughputRps: 0,
    });
  });

  it('throughput is completed requests per second of the window, or of the elapsed part', () => {
    const w = new SloWindow({ windowMs: 5000 });
    w.evaluate(T0, [], 0); // the window starts here
    for (let t = 0; t < 1000; t++) w.record('ok', 1, T0 + t);
    expect(w.evaluate(T0 + 1000, [], 0).throughputRps).toBeCloseTo(1000, 0);
    for (let t = 1000; t < 20_000; t += 5) w.record('ok', 1, T0 + t); // 200 rps from then on
    const steady = w.evaluate(T0 + 20_000, [], 0).throughputRps;
    expect(Math.abs(steady - 200) / 200).toBeLessThan(0.05 + 1e-9);
  });

  it('counts slow in-flight requests, so p95 crosses before their responses arrive', () => {
    const w = new SloWindow({ windowMs: 5000 });
    for (let i = 0; i < 1000; i++) w.record('ok', 10 + (i % 10), T0 + i * 4);
    const thresholdMs = 500;
    // 4 % slow in flight: not yet past the 95th percentile
    const few = w.evaluate(
      T0 + 4000,
      Array.from({ length: 40 }, () => 600),
      0,
    );
    expect(few.p95LatencyMs).toBeLessThan(thresholdMs);
    expect(few.samples).toBe(1040);
    expect(few.availability).toBe(1); // in flight counts as answered
    // over 5 % slow: p95 is the in-flight age, above the threshold, with no response yet
    const many = w.evaluate(
      T0 + 4000,
      Array.from({ length: 60 }, (_, i) => 600 + i),
      0,
    );
    expect(many.p95LatencyMs).toBeGreaterThan(thresholdMs);
    expect(many.samples).toBe(1060);
    expect(many.throughputRps).toBeCloseTo(w.evaluate(T0 + 4000, [], 0).throughputRps, 9);
    // and nothing was kept: the next evaluation without them is back to normal
    expect(w.evaluate(T0 + 4000, [], 0).p95LatencyMs).toBeLessThan(20);
  });

  it('reset empties the window', () => {
    const w = new SloWindow({ windowMs: 5000 });
    for (let i = 0; i < 100; i++) w.record('error', 700, T0 + i);
    w.reset();
    expect(w.evaluate(T0 + 200, [], 0)).toMatchObject({ samples: 0, errorRate: 0, availability: 1, p95LatencyMs: 0 });
  });

  it('clamps out-of-range latencies instead of throwing', () => {
    const w = new SloWindow({ windowMs: 5000 });
    w.record('ok', -3, T0);
    w.record('timeout', 10 * 3_600_000, T0 + 1);
    const s = w.evaluate(T0 + 2, [], 0);
    expect(s.samples).toBe(2);
    expect(s.p95LatencyMs).toBeGreaterThan(3_590_000);
  });
});

describe('SloWindow.reset(nowMs): a new period', () => {
  it('does not count requests scheduled before the reset, completed or in flight', () => {
    const w = new SloWindow({ windowMs: 5000 });
    const resetAtMs = 10_000;
    w.reset(resetAtMs);
    // scheduled at 9_300 (before the reset), completing slowly at 10_100: the fault's request
    w.record('ok', 800, 10_100);
    // scheduled after the reset: counted
    for (let i = 0; i < 40; i++) w.record('ok', 5, 10_200 + i * 10);
    // in flight: one scheduled at 9_000 (age 1_700 at 10_700), one at 10_050 (age 650)
    const slis = w.evaluate(10_700, [1_700, 650], 0);
    expect(slis.samples).toBe(41);
    expect(slis.p95LatencyMs).toBeLessThan(10);
  });

  it('without a time, counts everything recorded after it', () => {
    const w = new SloWindow({ windowMs: 5000 });
    w.reset();
    w.record('error', 800, 10_100);
    expect(w.evaluate(10_200, [], 0).samples).toBe(1);
  });
});
