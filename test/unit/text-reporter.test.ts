// The headless text face: event lines as they come, a status line at most once a second from the
// tick events, the summary last, secrets redacted throughout.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { BudgetView, GamedayEvent, ImpactView, Phase, Summary } from '../../src/engine/events.ts';
import { textReporter } from '../../src/headless/text-reporter.ts';

const slis = { p95LatencyMs: 812, errorRate: 0.0123, availability: 0.995, healthFailures: 0, samples: 480, throughputRps: 100 };
const budget = { experimentSpentUsd: 1.25, experimentCapUsd: 50 } as BudgetView;
const impact = { score: 99.6 } as ImpactView;
const byOutcome = { ok: 480, error: 0, timeout: 0, reset: 0, refused: 0 };

function setup() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const report = textReporter(out, (t) => t.replaceAll('hunter2', '***'));
  const tick = (ts: number, phase: Phase = 'observe'): GamedayEvent => ({
    type: 'tick',
    ts,
    phase,
    faultActive: phase === 'observe',
    slis,
    budget,
    impact,
    byOutcome,
    guards: [],
  });
  return { report, tick, lines: () => text.trimEnd().split('\n') };
}

describe('textReporter', () => {
  it('prints a status line from the ticks at most once a second', () => {
    const { report, tick, lines } = setup();
    const base = Date.UTC(2026, 10, 27, 12, 0, 0);
    for (let i = 0; i <= 8; i++) report(tick(base + i * 250)); // 2 s of ticks every 250 ms
    expect(lines()).toEqual([
      '12:00:00.000   [observe, fault on] p95 812ms · errors 1.23% · avail 99.50% · health ok · 480 samples · $1.250/$50 · impact 100',
      '12:00:01.000   [observe, fault on] p95 812ms · errors 1.23% · avail 99.50% · health ok · 480 samples · $1.250/$50 · impact 100',
      '12:00:02.000   [observe, fault on] p95 812ms · errors 1.23% · avail 99.50% · health ok · 480 samples · $1.250/$50 · impact 100',
    ]);
  });

  it('prints no status line for preflight or done ticks', () => {
    const { report, tick, lines } = setup();
    report(tick(5_000, 'preflight'));
    report(tick(7_000, 'done'));
    report(tick(9_000, 'baseline'));
    expect(lines()).toHaveLength(1);
  });

  it('writes event lines with their marks, redacts them, and prints nothing after the summary', () => {
    const { report, tick, lines } = setup();
    const ts = Date.UTC(2026, 10, 27, 12, 0, 0);
    report({ type: 'note', ts, text: 'token hunter2 rotated', source: 'user' });
    report({ type: 'breach', ts, breaches: [{ sli: 'p95LatencyMs', value: 812, threshold: 500 }] });
    const summary: Summary = {
      status: 'breach',
      exitCode: 3,
      experiment: 'x',
      experimentId: 'id1',
      spentUsd: 1.25,
      requests: 1250,
      detectionMs: 751,
      recoveryMs: 1275,
      peakImpact: 100,
      trigger: 'breach',
      reason: 'SLO breached',
      faultRemoved: true,
      recoveryVerified: true,
      durationMs: 9000,
      journalPath: null,
    };
    report({ type: 'summary', ts, ...summary });
    report(tick(ts + 5_000));
    const out = lines();
    expect(out[0]).toMatch(/^12:00:00\.000 {3}.*token \*\*\* rotated/);
    expect(out[1]).toMatch(/^12:00:00\.000 !! SLO breach: p95/);
    expect(out[2]).toBe('result: BREACH (exit 3) — SLO breached');
    expect(out.some((l) => l.includes('[observe'))).toBe(false);
  });

  it("says which setting won each budget number: the preflight line and the summary's budget line", () => {
    const { report, lines } = setup();
    const ts = Date.UTC(2026, 10, 27, 12, 0, 0);
    const runBudget = {
      costPerRequestUsd: 0.002,
      experimentCapUsd: 7,
      dailyCapUsd: 9,
      sources: {
        costPerRequestUsd: { kind: 'env', name: 'COST_PER_REQUEST' },
        experimentCapUsd: { kind: 'env', name: 'MAX_EXPERIMENT_COST' },
        dailyCapUsd: { kind: 'file', path: '/etc/team.yaml' },
      },
    } as const;
    const detail =
      '$0.002 per request (COST_PER_REQUEST), experiment cap $7 (MAX_EXPERIMENT_COST), daily cap $9 (config file /etc/team.yaml)';
    report({ type: 'preflight', ts, check: 'budget settings', ok: true, detail, budget: runBudget });
    const summary: Summary = {
      status: 'passed',
      exitCode: 0,
      experiment: 'x',
      experimentId: 'id1',
      spentUsd: 0.2,
      requests: 100,
      detectionMs: null,
      recoveryMs: null,
      peakImpact: 0,
      trigger: 'duration',
      reason: 'done',
      faultRemoved: true,
      recoveryVerified: true,
      durationMs: 9000,
      journalPath: null,
      budget: runBudget,
    };
    report({ type: 'summary', ts, ...summary });
    const out = lines();
    expect(out[0]).toBe(`12:00:00.000    ✓ budget settings: ${detail}`);
    expect(out).toContain(`  budget:        ${detail}`);
  });
});
