// A run's /metrics: the detection time is there as soon as the breach is, and a run that was being
// scraped waits (briefly) for the scrape that sees its final numbers before it stops serving.
import { describe, expect, it } from 'vitest';
import type { Summary } from '../../src/engine/events.ts';
import { RunMetrics } from '../../src/telemetry/metrics.ts';

const thresholds = { p95LatencyMs: 500, errorRate: 0.01, availability: 0.99, healthFailures: 3 };
const summary: Summary = {
  status: 'breach',
  exitCode: 3,
  experiment: 'x',
  experimentId: 'id',
  spentUsd: 1,
  requests: 1000,
  detectionMs: 750,
  recoveryMs: 1200,
  peakImpact: 100,
  trigger: 'breach',
  reason: 'r',
  faultRemoved: true,
  recoveryVerified: true,
  durationMs: 9000,
  journalPath: null,
};
const scrape = async (url: string): Promise<string> => (await fetch(url)).text();
const value = (text: string, name: string): string | undefined =>
  text
    .split('\n')
    .find((l) => l.startsWith(`${name} `))
    ?.split(' ')[1];

describe('RunMetrics', () => {
  it('knows the detection time at the breach', async () => {
    const m = new RunMetrics(thresholds);
    const url = (await m.listen('127.0.0.1', 0))!;
    m.observe({ type: 'fault', ts: 10_000, state: 'in' });
    m.observe({ type: 'breach', ts: 10_750, breaches: [{ sli: 'p95LatencyMs', value: 800, threshold: 500 }] });
    expect(value(await scrape(url), 'gameday_detection_seconds')).toBe('0.75');
    await m.close();
  });

  it('nobody scraping: closes at once; scraped: waits for the scrape after the summary, but not forever', async () => {
    const quiet = new RunMetrics(thresholds);
    await quiet.listen('127.0.0.1', 0);
    quiet.observe({ type: 'summary', ts: 1, ...summary });
    let t = performance.now();
    await quiet.close();
    expect(performance.now() - t).toBeLessThan(100);

    const m = new RunMetrics(thresholds);
    const url = (await m.listen('127.0.0.1', 0))!;
    for (let i = 0; i < 3; i++) {
      await scrape(url);
      await new Promise((r) => setTimeout(r, 200));
    }
    m.observe({ type: 'summary', ts: 1, ...summary });
    t = performance.now();
    const closed = m.close();
    await new Promise((r) => setTimeout(r, 100));
    const last = await scrape(url); // the scraper's next visit: it sees the final numbers
    await closed;
    expect(performance.now() - t).toBeLessThan(300);
    expect(value(last, 'gameday_recovery_seconds')).toBe('1.2');

    // a scraper that does not come back: at most two of its intervals
    const n = new RunMetrics(thresholds);
    const nurl = (await n.listen('127.0.0.1', 0))!;
    for (let i = 0; i < 3; i++) {
      await scrape(nurl);
      await new Promise((r) => setTimeout(r, 100));
    }
    n.observe({ type: 'summary', ts: 1, ...summary });
    t = performance.now();
    await n.close();
    expect(performance.now() - t).toBeGreaterThan(150);
    expect(performance.now() - t).toBeLessThan(600);
  });
});
