// The service level indicators the engine watches, and the objectives they are held to.

export type SliName = 'p95LatencyMs' | 'errorRate' | 'availability' | 'healthFailures';
export const SLI_NAMES: readonly SliName[] = ['p95LatencyMs', 'errorRate', 'availability', 'healthFailures'];

/** How one request ended. `error` is a 5xx answer; timeout/reset/refused are unanswered. */
export type Outcome = 'ok' | 'error' | 'timeout' | 'reset' | 'refused';
export const OUTCOMES: readonly Outcome[] = ['ok', 'error', 'timeout', 'reset', 'refused'];
export const isAnswered = (o: Outcome): boolean => o === 'ok' || o === 'error';

/** One evaluation of the sliding window. Rates are fractions (0.01 = 1 %). */
export interface Slis {
  p95LatencyMs: number;
  errorRate: number;
  availability: number;
  /** consecutive failed health probes */
  healthFailures: number;
  /** requests the window holds (completed plus in-flight counted as slow) */
  samples: number;
  /** completed requests per second over the window */
  throughputRps: number;
}

/** The objectives. Breach: p95 above, error rate above, availability below, health failures reaching. */
export interface SloThresholds {
  p95LatencyMs: number;
  errorRate: number;
  availability: number;
  healthFailures: number;
}

export interface Breach {
  sli: SliName;
  value: number;
  threshold: number;
}

/** Which SLIs break their objective. Health is judged on its own: it needs no traffic samples. */
export function findBreaches(slis: Slis, slo: SloThresholds, minSamples: number): Breach[] {
  const breaches: Breach[] = [];
  if (slis.samples >= minSamples) {
    if (slis.p95LatencyMs > slo.p95LatencyMs) breaches.push({ sli: 'p95LatencyMs', value: slis.p95LatencyMs, threshold: slo.p95LatencyMs });
    if (slis.errorRate > slo.errorRate) breaches.push({ sli: 'errorRate', value: slis.errorRate, threshold: slo.errorRate });
    if (slis.availability < slo.availability) breaches.push({ sli: 'availability', value: slis.availability, threshold: slo.availability });
  }
  if (slis.healthFailures >= slo.healthFailures) {
    breaches.push({ sli: 'healthFailures', value: slis.healthFailures, threshold: slo.healthFailures });
  }
  return breaches;
}

export function formatSli(sli: SliName, value: number): string {
  switch (sli) {
    case 'p95LatencyMs': return `${Math.round(value)}ms`;
    case 'errorRate': return `${(value * 100).toFixed(2)}%`;
    case 'availability': return `${(value * 100).toFixed(2)}%`;
    case 'healthFailures': return `${value} failed`;
  }
}

export const SLI_LABEL: Record<SliName, string> = {
  p95LatencyMs: 'p95 latency',
  errorRate: 'error rate',
  availability: 'availability',
  healthFailures: 'health',
};
