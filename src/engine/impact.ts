// The impact score: one number, 0–100, for how hard an experiment is hurting users right now.
import type { GuardView, ImpactBand } from './events.ts';
import type { SliName, SloThresholds, Slis } from './slis.ts';
import { SLI_NAMES } from './slis.ts';

export interface Impact {
  score: number;
  /** the SLI (or PromQL guard, by name) with the highest score; null when nothing is degraded */
  driver: string | null;
  perSli: Record<SliName, number>;
}

/** A PromQL guard's part in the score: its value now and at the baseline, against its bound. */
export interface GuardImpact {
  name: string;
  baseline: number;
  current: number;
  bound: number;
  kind: 'max' | 'min';
}

const clampPct = (x: number): number => (Number.isFinite(x) ? Math.min(100, Math.max(0, x)) : 0);

/**
 * Share (0–100) of the distance from `base` to `threshold` that `cur` has travelled, for an SLI
 * that degrades upwards (latency, error rate). A baseline already at or over its threshold leaves
 * no distance to travel: it scores 100 if the current value is over the threshold, else 0.
 */
function upwardScore(base: number, cur: number, threshold: number): number {
  if (base >= threshold) return cur > threshold ? 100 : 0;
  return clampPct(((cur - base) / (threshold - base)) * 100);
}

/** As `upwardScore`, for an SLI that degrades downwards (availability). */
function downwardScore(base: number, cur: number, threshold: number): number {
  if (base <= threshold) return cur < threshold ? 100 : 0;
  return clampPct(((base - cur) / (base - threshold)) * 100);
}

/** Health has no baseline distance: the share of the failures that trigger a rollback. */
function healthScore(failures: number, threshold: number): number {
  if (threshold <= 0) return failures > 0 ? 100 : 0;
  return clampPct((failures / threshold) * 100);
}

/**
 * Impact score, 0–100: how far the current SLIs have moved from the baseline towards the SLOs.
 *
 *     latency      = (p95_cur   − p95_base)   / (p95_slo   − p95_base)   × 100
 *     errors       = (err_cur   − err_base)   / (err_slo   − err_base)   × 100
 *     availability = (avail_base − avail_cur) / (avail_base − avail_slo) × 100
 *     health       = failures_cur / failures_slo × 100
 *     each clamped to [0, 100]; a baseline already at or past its SLO scores 100 when the
 *     current value is past the SLO, else 0
 *     score  = max(latency, errors, availability, health)
 *     driver = the SLI that gives the max (null when score = 0)
 *
 * So 0 means "as at baseline", 100 means "at an SLO threshold" (a rollback is due), and the score
 * never falls as any one SLI degrades.
 */
export function impactScore(baseline: Slis, current: Slis, slo: SloThresholds, guards: readonly GuardImpact[] = []): Impact {
  const perSli: Record<SliName, number> = {
    p95LatencyMs: upwardScore(baseline.p95LatencyMs, current.p95LatencyMs, slo.p95LatencyMs),
    errorRate: upwardScore(baseline.errorRate, current.errorRate, slo.errorRate),
    availability: downwardScore(baseline.availability, current.availability, slo.availability),
    healthFailures: healthScore(current.healthFailures, slo.healthFailures),
  };
  let score = 0;
  let driver: string | null = null;
  for (const sli of SLI_NAMES) {
    if (perSli[sli] > score) {
      score = perSli[sli];
      driver = sli;
    }
  }
  // a guard with a max degrades upwards like latency, one with a min downwards like availability
  for (const g of guards) {
    const s = g.kind === 'max' ? upwardScore(g.baseline, g.current, g.bound) : downwardScore(g.baseline, g.current, g.bound);
    if (s > score) {
      score = s;
      driver = g.name;
    }
  }
  return { score, driver, perSli };
}

/** The PromQL guards that have a value now and one at the baseline. */
export function guardImpacts(views: readonly GuardView[], baseline: Readonly<Record<string, number>>): GuardImpact[] {
  return views.flatMap((v) =>
    v.value === null || baseline[v.name] === undefined
      ? []
      : [{ name: v.name, baseline: baseline[v.name], current: v.value, bound: v.bound, kind: v.kind }],
  );
}

/**
 * Bands for people: none < 1 ≤ low < 25 ≤ moderate < 60 ≤ high < 100 ≤ critical.
 * Critical means an SLI has reached its threshold.
 */
export function impactBand(score: number): ImpactBand {
  if (score >= 100) return 'critical';
  if (score >= 60) return 'high';
  if (score >= 25) return 'moderate';
  if (score >= 1) return 'low';
  return 'none';
}
