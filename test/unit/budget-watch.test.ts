// Budget thresholds, burn rate and the preflight estimate: the money maths, tested directly.
import { describe, expect, it } from 'vitest';
import type { BudgetTotals } from '../../src/budget/budget.ts';
import { BurnMeter, budgetView, estimateCost, newCrossings } from '../../src/engine/budget-watch.ts';

const totals = (over: Partial<BudgetTotals>): BudgetTotals => ({
  costPerRequestUsd: 0.001,
  experimentCapUsd: 10,
  experimentSpentUsd: 0,
  experimentReservedUsd: 0,
  dayCapUsd: 100,
  daySpentUsd: 0,
  dayReservedUsd: 0,
  ...over,
});

describe('newCrossings', () => {
  it('reports each of 50/80/100 % once per scope, in order, exactly at the threshold', () => {
    const seen = new Set<string>();
    expect(newCrossings(totals({ experimentSpentUsd: 4.999 }), seen)).toEqual([]);
    expect(newCrossings(totals({ experimentSpentUsd: 5 }), seen).map((c) => `${c.scope}:${c.thresholdPct}`)).toEqual(['experiment:50']);
    expect(newCrossings(totals({ experimentSpentUsd: 5.5 }), seen)).toEqual([]);
    // 0.1 + 0.7 style float sums must not miss a crossing
    expect(
      newCrossings(totals({ experimentSpentUsd: 0.1 * 3 + 9.7, daySpentUsd: 80 }), seen).map((c) => `${c.scope}:${c.thresholdPct}`),
    ).toEqual(['experiment:80', 'experiment:100', 'day:50', 'day:80']);
  });
});

describe('BurnMeter', () => {
  it('gives $/min over its trailing window, 0 until it has two samples', () => {
    const m = new BurnMeter(10_000);
    expect(m.usdPerMin()).toBe(0);
    m.add(0, 0);
    m.add(5_000, 0.5); // $0.50 in 5 s = $6/min
    expect(m.usdPerMin()).toBeCloseTo(6, 9);
    m.add(20_000, 0.5); // idle since: the old samples fall out
    m.add(25_000, 0.5);
    expect(m.usdPerMin()).toBeCloseTo(0, 9);
  });
});

describe('budgetView', () => {
  it('time to cap is to the nearer cap at the current burn, null when not burning', () => {
    const t = totals({ experimentSpentUsd: 4, daySpentUsd: 97, dayReservedUsd: 1 });
    expect(budgetView(t, 4000, 0).timeToCapMs).toBeNull();
    // experiment has $6 left, the day $2 (100 − 97 − 1): $2 at $1/min = 2 min
    expect(budgetView(t, 4000, 1).timeToCapMs).toBeCloseTo(120_000, 6);
  });
});

describe('estimateCost', () => {
  it('is rate × duration × cost, and says how long the money lasts', () => {
    const e = estimateCost({
      rps: 100,
      costPerRequestUsd: 0.001,
      baselineMs: 5_000,
      durationMs: 60_000,
      recoveryWindowMs: 5_000,
      availableUsd: 3,
    });
    expect(e.baselineUsd).toBeCloseTo(0.5, 9);
    expect(e.totalUsd).toBeCloseTo(7, 9);
    expect(e.coversBaseline).toBe(true);
    expect(e.coversAll).toBe(false);
    expect(e.affordableMs).toBeCloseTo(30_000, 6);
  });
});
