// The headless text face: event lines as they come, a status line a second read from the store (the
// state the control room draws), the summary last, secrets redacted throughout.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Summary } from '../../src/engine/events.ts';
import { textReporter } from '../../src/headless/text-reporter.ts';
import { createGamedayStore } from '../../src/state/store.ts';

const slis = { p95LatencyMs: 812, errorRate: 0.0123, availability: 0.995, healthFailures: 0, samples: 480, throughputRps: 100 };

function setup() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const store = createGamedayStore({ nowMs: 0 });
  const report = textReporter(out, (t) => t.replaceAll('hunter2', '***'), store);
  const tick = (nowMs: number, phase: 'baseline' | 'observe' | 'done' = 'observe') =>
    store.setState((s) => ({ nowMs, phase, faultActive: phase === 'observe', slis, impact: { ...s.impact, score: 99.6 }, budget: { ...s.budget, experimentSpentUsd: 1.25, experimentCapUsd: 50 } }));
  return { store, report, tick, lines: () => text.trimEnd().split('\n') };
}

describe('textReporter', () => {
  it('prints the status line from the store at most once a second, not from tick events', () => {
    const { report, tick, lines } = setup();
    const base = Date.UTC(2026, 10, 27, 12, 0, 0);
    for (let i = 0; i <= 8; i++) tick(base + i * 250); // 2 s of ticks every 250 ms
    report({ type: 'tick', ts: base, phase: 'observe', slis, budget: {} as never, impact: {} as never, faultActive: true });
    expect(lines()).toEqual([
      '12:00:00.000   [observe, fault on] p95 812ms · errors 1.23% · avail 99.50% · health ok · 480 samples · $1.250/$50 · impact 100',
      '12:00:01.000   [observe, fault on] p95 812ms · errors 1.23% · avail 99.50% · health ok · 480 samples · $1.250/$50 · impact 100',
      '12:00:02.000   [observe, fault on] p95 812ms · errors 1.23% · avail 99.50% · health ok · 480 samples · $1.250/$50 · impact 100',
    ]);
  });

  it('ignores store writes that are not ticks, and the done phase', () => {
    const { store, tick, lines } = setup();
    tick(5_000);
    store.setState({ faultActive: false }); // same nowMs: not a tick
    tick(7_000, 'done');
    expect(lines()).toHaveLength(1);
  });

  it('writes event lines with their marks, redacts them, and stops the status line after the summary', () => {
    const { report, tick, lines } = setup();
    const ts = Date.UTC(2026, 10, 27, 12, 0, 0);
    report({ type: 'note', ts, text: 'token hunter2 rotated', source: 'user' });
    report({ type: 'breach', ts, breaches: [{ sli: 'p95LatencyMs', value: 812, threshold: 500 }] });
    const summary: Summary = { status: 'breach', exitCode: 3, experiment: 'x', experimentId: 'id1', spentUsd: 1.25, requests: 1250, detectionMs: 751, recoveryMs: 1275, peakImpact: 100, trigger: 'breach', reason: 'SLO breached', faultRemoved: true, recoveryVerified: true, durationMs: 9000, journalPath: null };
    report({ type: 'summary', ts, ...summary });
    tick(ts + 5_000);
    const out = lines();
    expect(out[0]).toMatch(/^12:00:00\.000 {3}.*token \*\*\* rotated/);
    expect(out[1]).toMatch(/^12:00:00\.000 !! SLO breach: p95/);
    expect(out[2]).toBe('result: BREACH (exit 3) — SLO breached');
    expect(out.some((l) => l.includes('[observe'))).toBe(false);
  });
});
