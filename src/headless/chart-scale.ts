// The arithmetic of a chart, apart from any markup: a linear map from data to pixels, the value
// range a series is drawn in, and round tick values people can read.

export interface LinearScale {
  (value: number): number;
  domain: readonly [number, number];
  range: readonly [number, number];
}

/** Maps [d0, d1] onto [r0, r1]; an empty domain (d0 = d1) maps everything to the middle of the range. */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): LinearScale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  const f = ((v: number) => (span === 0 ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0))) as LinearScale;
  f.domain = domain;
  f.range = range;
  return f;
}

/** 1, 2, 2.5 or 5 times a power of ten: the step that gives about `count` ticks over `span`. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  const nice = unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 2.5 ? 2.5 : unit <= 5 ? 5 : 10;
  return nice * power;
}

/** Ticks at multiples of a nice step inside [lo, hi], ends included when they fall on a step. */
export function niceTicks(lo: number, hi: number, count = 4): number[] {
  if (!(hi > lo)) return [lo];
  const step = niceStep(hi - lo, count);
  const ticks: number[] = [];
  // integer multiples, so that 0.1 + 0.2 never shows as 0.30000000000000004
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

export interface DomainOptions {
  /** start at zero (a magnitude: latency, a rate, money) */
  zero?: boolean;
  /** never above this (availability: 1) */
  max?: number;
  /** the smallest span drawn, so a flat series is not blown up to fill the chart */
  minSpan?: number;
}

/**
 * The value range for a chart: every value and bound in it, 8 % headroom above (and below, when not
 * zero-based), clamped to `max`. Non-finite values are left out.
 */
export function valueDomain(values: readonly number[], opts: DomainOptions = {}): [number, number] {
  const finite = values.filter(Number.isFinite);
  let lo = finite.length ? Math.min(...finite) : 0;
  let hi = finite.length ? Math.max(...finite) : 1;
  if (opts.zero) lo = Math.min(0, lo);
  const minSpan = opts.minSpan ?? 1e-9;
  if (hi - lo < minSpan) {
    if (opts.zero) hi = lo + minSpan;
    else if (opts.max !== undefined && (hi + lo) / 2 + minSpan / 2 > opts.max) lo = hi - minSpan;
    else {
      const mid = (hi + lo) / 2;
      lo = mid - minSpan / 2;
      hi = mid + minSpan / 2;
    }
  }
  const pad = (hi - lo) * 0.08;
  hi += pad;
  if (!opts.zero) lo -= pad;
  if (opts.max !== undefined && hi > opts.max) {
    hi = opts.max;
    if (hi - lo < minSpan) lo = hi - minSpan;
  }
  return [lo, hi];
}
