// The service level indicators the engine watches, and the objectives they are held to.

export type SliName = 'p95LatencyMs' | 'errorRate' | 'availability' | 'healthFailures';
export const SLI_NAMES: readonly SliName[] = ['p95LatencyMs', 'errorRate', 'availability', 'healthFailures'];

/** How one request ended. `error` is a 5xx answer; timeout/reset/refused are unanswered. */
export type Outcome = 'ok' | 'error' | 'timeout' | 'reset' | 'refused';
export const OUTCOMES: readonly Outcome[] = ['ok', 'error', 'timeout', 'reset', 'refused'];

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

/** A built-in SLI past its objective. */
export interface SliBreach {
  sli: SliName;
  value: number;
  threshold: number;
}

/** A PromQL guard past its bound: above its max, or below its min. */
interface GuardBreach {
  guard: string;
  value: number;
  threshold: number;
  bound: 'max' | 'min';
}

export type Breach = SliBreach | GuardBreach;

/** Whether one SLI breaks its objective: above for latency and errors, below for availability, reaching for health. */
export function isBreaching(sli: SliName, value: number, threshold: number): boolean {
  switch (sli) {
    case 'p95LatencyMs':
    case 'errorRate':
      return value > threshold;
    case 'availability':
      return value < threshold;
    case 'healthFailures':
      return value >= threshold;
  }
}

/** Whether an SLI is judged only once the window holds `minSamples` requests. Health needs no traffic. */
export function needsSamples(sli: SliName): boolean {
  return sli !== 'healthFailures';
}

/** Which SLIs break their objective, in SLI_NAMES order. */
export function findBreaches(slis: Slis, slo: SloThresholds, minSamples: number): SliBreach[] {
  const breaches: SliBreach[] = [];
  for (const sli of SLI_NAMES) {
    if (needsSamples(sli) && slis.samples < minSamples) continue;
    if (isBreaching(sli, slis[sli], slo[sli])) breaches.push({ sli, value: slis[sli], threshold: slo[sli] });
  }
  return breaches;
}

export function formatSli(sli: SliName, value: number): string {
  switch (sli) {
    case 'p95LatencyMs':
      return `${Math.round(value)}ms`;
    case 'errorRate':
      return `${(value * 100).toFixed(2)}%`;
    case 'availability':
      return `${(value * 100).toFixed(2)}%`;
    case 'healthFailures':
      return `${value} failed`;
  }
}

export const SLI_LABEL: Record<SliName, string> = {
  p95LatencyMs: 'p95 latency',
  errorRate: 'error rate',
  availability: 'availability',
  healthFailures: 'health',
};

/** One broken objective for people: "p95 latency 812ms (limit 500ms)". */
/** A guard's value for people: a few significant digits, whatever its unit. */
export const formatGuardValue = (v: number): string => (Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v));

function formatBreach(b: Breach): string {
  if ('guard' in b) return `${b.guard} ${formatGuardValue(b.value)} (${b.bound} ${formatGuardValue(b.threshold)})`;
  return `${SLI_LABEL[b.sli]} ${formatSli(b.sli, b.value)} (limit ${formatSli(b.sli, b.threshold)})`;
}

export const formatBreaches = (breaches: readonly Breach[]): string => breaches.map(formatBreach).join(', ');
