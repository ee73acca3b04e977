// The measurements a report charts, taken from the journal's ticks as it is read: 4 a second, so a
// long run has hundreds of thousands. At most MAX_POINTS are kept: past that, neighbours are merged
// two into one, keeping the worse value of each measure, so a spike that broke an SLO is never
// averaged away.
import type { GamedayEvent } from '../engine/events.ts';

type Tick = Extract<GamedayEvent, { type: 'tick' }>;

interface GuardPoint {
  value: number | null;
  bound: number;
  kind: 'max' | 'min';
}

export interface SeriesPoint {
  tMs: number;
  p95LatencyMs: number;
  errorRate: number;
  availability: number;
  healthFailures: number;
  impact: number;
  experimentSpentUsd: number;
  experimentCapUsd: number;
  daySpentUsd: number;
  dayCapUsd: number;
  guards: Record<string, GuardPoint>;
}

export const MAX_POINTS = 800;

export function pointOf(e: Tick): SeriesPoint {
  return {
    tMs: e.ts,
    p95LatencyMs: e.slis.p95LatencyMs,
    errorRate: e.slis.errorRate,
    availability: e.slis.availability,
    healthFailures: e.slis.healthFailures,
    impact: e.impact.score,
    experimentSpentUsd: e.budget.experimentSpentUsd,
    experimentCapUsd: e.budget.experimentCapUsd,
    daySpentUsd: e.budget.daySpentUsd,
    dayCapUsd: e.budget.dayCapUsd,
    guards: Object.fromEntries(e.guards.map((g) => [g.name, { value: g.value, bound: g.bound, kind: g.kind }])),
  };
}

const worseGuard = (a: GuardPoint | undefined, b: GuardPoint | undefined): GuardPoint | undefined => {
  if (!a || a.value === null) return b ?? a;
  if (!b || b.value === null) return a;
  const bWorse = b.kind === 'max' ? b.value > a.value : b.value < a.value;
  return bWorse ? b : a;
};

/**
 * Two neighbours as one point at the first one's time: the worse SLIs and impact (higher latency,
 * errors, health failures and impact; lower availability), the later spend and caps (they only grow).
 */
export function mergePoints(a: SeriesPoint, b: SeriesPoint): SeriesPoint {
  const guards: Record<string, GuardPoint> = {};
  for (const name of new Set([...Object.keys(a.guards), ...Object.keys(b.guards)])) {
    const g = worseGuard(a.guards[name], b.guards[name]);
    if (g) guards[name] = g;
  }
  return {
    tMs: a.tMs,
    p95LatencyMs: Math.max(a.p95LatencyMs, b.p95LatencyMs),
    errorRate: Math.max(a.errorRate, b.errorRate),
    availability: Math.min(a.availability, b.availability),
    healthFailures: Math.max(a.healthFailures, b.healthFailures),
    impact: Math.max(a.impact, b.impact),
    experimentSpentUsd: b.experimentSpentUsd,
    experimentCapUsd: b.experimentCapUsd,
    daySpentUsd: b.daySpentUsd,
    dayCapUsd: b.dayCapUsd,
    guards,
  };
}

/**
 * Collects the points, bounded. Each stored point stands for `stride` ticks; when the store reaches
 * 2 × max it is halved by merging pairs and the stride doubles, so memory stays O(max) however long
 * the run and the points stay evenly spread over it.
 */
export class SeriesCollector {
  private readonly points: SeriesPoint[] = [];
  private stride = 1;
  private pending: SeriesPoint | null = null;
  private pendingCount = 0;
  private total = 0;

  constructor(private readonly max = MAX_POINTS) {}

  add = (tick: Tick): void => {
    this.total++;
    const p = pointOf(tick);
    this.pending = this.pending ? mergePoints(this.pending, p) : p;
    if (++this.pendingCount < this.stride) return;
    this.points.push(this.pending);
    this.pending = null;
    this.pendingCount = 0;
    if (this.points.length >= 2 * this.max) {
      const halved: SeriesPoint[] = [];
      for (let i = 0; i < this.points.length; i += 2)
        halved.push(i + 1 < this.points.length ? mergePoints(this.points[i], this.points[i + 1]) : this.points[i]);
      this.points.splice(0, this.points.length, ...halved);
      this.stride *= 2;
    }
  };

  /** The points in time order; `ticks`: how many ticks they stand for. */
  result(): { points: SeriesPoint[]; ticks: number } {
    return { points: this.pending ? [...this.points, this.pending] : [...this.points], ticks: this.total };
  }
}
