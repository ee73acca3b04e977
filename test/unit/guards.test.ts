// The SLO guards: ok, breach or inconclusive, with the values the panes show; and how the engine
// combines a list of them.
import { describe, expect, it } from 'vitest';
import { HealthGuard } from '../../src/engine/guards/health-guard.ts';
import { evaluateGuards, type SloGuard } from '../../src/engine/guards/slo-guard.ts';
import { TrafficGuard } from '../../src/engine/guards/traffic-guard.ts';
import { SloWindow } from '../../src/engine/slo-window.ts';

const thresholds = { p95LatencyMs: 500, errorRate: 0.01, availability: 0.99, healthFailures: 3 };

function trafficGuard(slowAges: number[] = []) {
  const window = new SloWindow({ windowMs: 5000 });
  const guard = new TrafficGuard({ window, thresholds, minSamples: 20, slowInFlightAges: () => slowAges });
  return { window, guard };
}

describe('TrafficGuard', () => {
  it('cannot judge on fewer requests than minSamples, and says why', () => {
    const { window, guard } = trafficGuard();
    for (let i = 0; i < 19; i++) window.record('error', 900, 1000 + i);
    const v = guard.evaluate(1100);
    expect(v.status).toBe('inconclusive');
    expect(v.breaches).toEqual([]);
    expect(v.reason).toBe('only 19 requests answered in the last 5.00s (need 20)');
    expect(v.values.samples).toBe(19);
  });

  it('ok within the objectives; its values leave health to the health guard', () => {
    const { window, guard } = trafficGuard();
    for (let i = 0; i < 40; i++) window.record('ok', 20, 1000 + i);
    const v = guard.evaluate(1100);
    expect(v.status).toBe('ok');
    expect(v.values).toMatchObject({ errorRate: 0, availability: 1, samples: 40 });
    expect(v.values.healthFailures).toBeUndefined();
  });

  it('breach: errors and slow requests still in flight', () => {
    const { window, guard } = trafficGuard(Array.from({ length: 30 }, () => 900));
    for (let i = 0; i < 20; i++) window.record(i < 2 ? 'error' : 'ok', 20, 1000 + i);
    const v = guard.evaluate(1100);
    expect(v.status).toBe('breach');
    expect(v.breaches.map((b) => ('sli' in b ? b.sli : b.guard))).toEqual(['p95LatencyMs', 'errorRate']);
  });

  it('reset starts a fresh period: what came before counts for nothing', () => {
    const { window, guard } = trafficGuard();
    for (let i = 0; i < 40; i++) window.record('error', 20, 1000 + i);
    guard.reset(2000);
    expect(guard.evaluate(2100).status).toBe('inconclusive');
  });
});

describe('HealthGuard', () => {
  it('judges with no traffic: breach at the objective', () => {
    let failures = 2;
    const guard = new HealthGuard(() => failures, thresholds);
    expect(guard.evaluate()).toEqual({ status: 'ok', breaches: [], values: { healthFailures: 2 } });
    failures = 3;
    expect(guard.evaluate().breaches).toEqual([{ sli: 'healthFailures', value: 3, threshold: 3 }]);
  });
});

describe('evaluateGuards', () => {
  const fixed = (name: string, verdict: ReturnType<SloGuard['evaluate']>): SloGuard => ({ name, evaluate: () => verdict });

  it('merges values, collects breaches in order, and is ok only when every guard judged ok', () => {
    const a = fixed('a', {
      status: 'breach',
      breaches: [{ sli: 'errorRate', value: 0.5, threshold: 0.01 }],
      values: { errorRate: 0.5, samples: 100 },
    });
    const b = fixed('b', { status: 'inconclusive', breaches: [], values: { healthFailures: 1 }, reason: 'no data' });
    const all = evaluateGuards([a, b], 0);
    expect(all.breaches).toEqual([{ sli: 'errorRate', value: 0.5, threshold: 0.01 }]);
    expect(all.slis).toEqual({ p95LatencyMs: 0, errorRate: 0.5, availability: 1, healthFailures: 1, samples: 100, throughputRps: 0 });
    expect(all.allOk).toBe(false);
    expect(all.inconclusive).toEqual(['no data']);
    expect(evaluateGuards([fixed('c', { status: 'ok', breaches: [], values: {} })], 0).allOk).toBe(true);
  });
});
