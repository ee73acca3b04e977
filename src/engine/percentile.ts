// Exact percentiles, for tests and for any figure that must not carry histogram rounding.

/**
 * Nearest-rank percentile of a sorted (ascending) array: the smallest value such that at least
 * `p` % of the values are ≤ it, i.e. `sorted[ceil(p/100 · n) − 1]` (p = 0 gives the minimum).
 * Returns 0 for an empty array, like an SLO window with no samples.
 */
function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const clampedP = Math.min(100, Math.max(0, p));
  const rank = Math.ceil((clampedP / 100) * n);
  return sorted[Math.min(n - 1, Math.max(0, rank - 1))];
}

/** Nearest-rank percentile of unsorted values (copies and sorts; the input is not modified). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = Float64Array.from(values).sort();
  return percentileOfSorted(sorted, p);
}
