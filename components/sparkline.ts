// Sparklines from a series of numbers: ▁▂▃▄▅▆▇█. Pure.

export const SPARK_TICKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const;

export interface SparklineOptions {
  /** exact width in cells; the series is bucketed when longer, left-padded with spaces when shorter */
  width?: number;
  /** value drawn as the lowest tick (default: the series minimum) */
  min?: number;
  /** value drawn as the highest tick (default: the series maximum) */
  max?: number;
  /** how a bucket of several values becomes one cell: the worst of a latency series is its max */
  reduce?: 'max' | 'min' | 'mean' | 'last';
}

function reduceBucket(values: number[], how: NonNullable<SparklineOptions['reduce']>): number {
  switch (how) {
    case 'max':
      return Math.max(...values);
    case 'min':
      return Math.min(...values);
    case 'last':
      return values[values.length - 1];
    case 'mean':
      return values.reduce((a, b) => a + b, 0) / values.length;
  }
}

/** Resamples `values` (oldest first) into at most `width` buckets, newest last. */
export function resample(values: readonly number[], width: number, how: NonNullable<SparklineOptions['reduce']> = 'max'): number[] {
  const n = values.length;
  if (width <= 0) return [];
  if (n <= width) return [...values];
  const out: number[] = [];
  for (let i = 0; i < width; i++) {
    const from = Math.floor((i * n) / width);
    const to = Math.max(from + 1, Math.floor(((i + 1) * n) / width));
    out.push(reduceBucket(values.slice(from, to), how));
  }
  return out;
}

export function sparkline(values: readonly number[], options: SparklineOptions = {}): string {
  const finite = values.filter((v) => Number.isFinite(v));
  const width = options.width;
  const series = width === undefined ? [...values] : resample(values, width, options.reduce ?? 'max');
  const min = options.min ?? (finite.length ? Math.min(...finite) : 0);
  const max = options.max ?? (finite.length ? Math.max(...finite) : 0);
  const range = max - min;
  const top = SPARK_TICKS.length - 1;
  const cells = series.map((v) => {
    if (!Number.isFinite(v)) return ' ';
    if (range <= 0) return v > min ? SPARK_TICKS[top] : SPARK_TICKS[0];
    const level = Math.round(((Math.min(max, Math.max(min, v)) - min) / range) * top);
    return SPARK_TICKS[level];
  });
  const text = cells.join('');
  return width === undefined ? text : ' '.repeat(Math.max(0, width - cells.length)) + text;
}
