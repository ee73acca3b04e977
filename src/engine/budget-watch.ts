// Budget thresholds (50/80/100 %) and burn rate, computed from the account's totals each tick.
import type { BudgetTotals, BudgetScope } from '../budget/budget.ts';
import type { BudgetView } from './events.ts';

const BUDGET_THRESHOLDS_PCT = [50, 80, 100] as const;

export interface ThresholdCrossing {
  scope: BudgetScope;
  thresholdPct: number;
  spentUsd: number;
  capUsd: number;
}

/** Spend of each scope as the thresholds see it: the day counts what others hold, too. */
function scopeSpend(t: BudgetTotals): Record<BudgetScope, { spentUsd: number; capUsd: number }> {
  return {
    experiment: { spentUsd: t.experimentSpentUsd, capUsd: t.experimentCapUsd },
    day: { spentUsd: t.daySpentUsd, capUsd: t.dayCapUsd },
  };
}

/** Crossings not reported before; `reported` is updated in place ("experiment:50", …). */
export function newCrossings(totals: BudgetTotals, reported: Set<string>): ThresholdCrossing[] {
  const out: ThresholdCrossing[] = [];
  for (const [scope, { spentUsd, capUsd }] of Object.entries(scopeSpend(totals)) as [BudgetScope, { spentUsd: number; capUsd: number }][]) {
    if (capUsd <= 0) continue;
    // Compare in micro-dollars: 0.1 + 0.2 style float error must not hide the 100 % crossing.
    const spentMicros = Math.round(spentUsd * 1e6);
    for (const pct of BUDGET_THRESHOLDS_PCT) {
      const key = `${scope}:${pct}`;
      if (reported.has(key)) continue;
      if (spentMicros * 100 >= Math.round(capUsd * 1e6) * pct) {
        reported.add(key);
        out.push({ scope, thresholdPct: pct, spentUsd, capUsd });
      }
    }
  }
  return out;
}

/** Burn rate over a trailing window of (timeMs, spentUsd) samples, in $/min. */
export class BurnMeter {
  private readonly samples: { tMs: number; spentUsd: number }[] = [];
  constructor(private readonly windowMs = 10_000) {}

  add(tMs: number, spentUsd: number): void {
    this.samples.push({ tMs, spentUsd });
    while (this.samples.length > 2 && this.samples[0].tMs < tMs - this.windowMs) this.samples.shift();
  }

  usdPerMin(): number {
    if (this.samples.length < 2) return 0;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dtMs = last.tMs - first.tMs;
    return dtMs > 0 ? ((last.spentUsd - first.spentUsd) / dtMs) * 60_000 : 0;
  }
}

/** What the store and the tick event show of the money. */
/** What this experiment may still spend: the tighter of its own cap and what the day has left. */
export function availableUsd(t: BudgetTotals): number {
  return Math.min(t.experimentCapUsd - t.experimentSpentUsd, t.dayCapUsd - t.daySpentUsd - t.dayReservedUsd);
}

export function budgetView(t: BudgetTotals, requestsSent: number, burnUsdPerMin: number): BudgetView {
  const leftUsd = availableUsd(t);
  return {
    costPerRequestUsd: t.costPerRequestUsd,
    experimentSpentUsd: t.experimentSpentUsd,
    experimentCapUsd: t.experimentCapUsd,
    daySpentUsd: t.daySpentUsd,
    dayReservedUsd: t.dayReservedUsd,
    dayCapUsd: t.dayCapUsd,
    requestsSent,
    burnUsdPerMin,
    timeToCapMs: burnUsdPerMin > 0 ? Math.max(0, (leftUsd / burnUsdPerMin) * 60_000) : null,
  };
}

/** Preflight's money check: what the run would cost, and how long what is left can pay for. */
export function estimateCost(opts: {
  rps: number;
  costPerRequestUsd: number;
  baselineMs: number;
  durationMs: number;
  recoveryWindowMs: number;
  availableUsd: number;
}) {
  const perSecondUsd = opts.rps * opts.costPerRequestUsd;
  const baselineUsd = (perSecondUsd * opts.baselineMs) / 1000;
  const totalUsd = (perSecondUsd * (opts.baselineMs + opts.durationMs + opts.recoveryWindowMs)) / 1000;
  const affordableMs = perSecondUsd > 0 ? (opts.availableUsd / perSecondUsd) * 1000 : Infinity;
  return {
    perSecondUsd,
    baselineUsd,
    totalUsd,
    affordableMs,
    coversBaseline: baselineUsd <= opts.availableUsd,
    coversAll: totalUsd <= opts.availableUsd,
  };
}
