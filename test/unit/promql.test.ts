// PromQL is checked with Prometheus's own grammar before anything is sent.
import { describe, expect, it } from 'vitest';
import { promqlMetricNames, promqlProblem } from '../../src/telemetry/promql.ts';

describe('promqlProblem', () => {
  it('accepts what Prometheus accepts', () => {
    for (const q of [
      'up',
      'up == 1',
      'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="checkout"}[30s])))',
      'sum(rate(x[1m])) / sum(rate(y[1m]))',
    ]) {
      expect(promqlProblem(q)).toBeNull();
    }
  });

  it('names where a query breaks', () => {
    expect(promqlProblem('sum(rate(x[1m])')).toMatch(/^not valid PromQL: syntax error at character \d+/);
    expect(promqlProblem('foo{')).toMatch(/syntax error/);
    expect(promqlProblem('   ')).toBe('empty query');
  });
});

describe('promqlMetricNames', () => {
  it('lists the metrics a query reads, not its functions or labels', () => {
    expect(promqlMetricNames('histogram_quantile(0.95, sum by (le) (rate(a_bucket{job="x"}[30s]))) / on() b_total')).toEqual([
      'a_bucket',
      'b_total',
    ]);
    expect(promqlMetricNames('{__name__="x"}')).toEqual([]);
  });
});
