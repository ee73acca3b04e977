// The metric names the shipped rules and dashboard may use (GAMEDAY_METRICS) are the names gameday
// really exports: a metric renamed in code, or added to the list without code, fails here.
import { describe, expect, it } from 'vitest';
import { LedgerExporter } from '../../src/telemetry/ledger-exporter.ts';
import { RunMetrics } from '../../src/telemetry/metrics.ts';
import { GAMEDAY_METRICS } from '../helpers/monitoring-config.ts';

const names = async (registry: { getMetricsAsJSON(): Promise<Array<{ name: string }>> }): Promise<string[]> =>
  (await registry.getMetricsAsJSON()).map((m) => m.name).sort();

describe('the metrics contract', () => {
  it("a run's /metrics: exactly the listed gameday_ metrics, plus prom-client's process metrics", async () => {
    const run = new RunMetrics({ p95LatencyMs: 500, errorRate: 0.01, availability: 0.99, healthFailures: 3 });
    const all = await names(run.registry);
    expect(all.filter((n) => !n.startsWith('gameday_process_'))).toEqual([...GAMEDAY_METRICS.run].sort());
    for (const n of GAMEDAY_METRICS.runProcess) expect(all).toContain(n);
  });

  it("the exporter's: exactly the listed ones", async () => {
    const exporter = new LedgerExporter({ read: () => ({ ok: true, status: null }) as never });
    expect(await names(exporter.registry)).toEqual([...GAMEDAY_METRICS.exporter].sort());
  });
});
