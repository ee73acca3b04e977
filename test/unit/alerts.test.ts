// Alertmanager alerts from the run's events (pure), what each Alertmanager is sent and when (a fake
// clock), and the notifier around them (a fake transport, fake timers): posts never on the event
// path, 4xx never retried, failures retried on the next resend, a warning once, a flush at close.
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GamedayEvent, Summary } from '../../src/engine/events.ts';
import { AlertBook, Delivery, HOLD_MS, ROLLBACK_FAILED_HOLD_MS, postable, type PostableAlert } from '../../src/telemetry/alerts.ts';
import { AlertmanagerNotifier, POST_TIMEOUT_MS, type Transport } from '../../src/telemetry/alertmanager.ts';
import { RunMetrics } from '../../src/telemetry/metrics.ts';
import { openAlertsToResolve } from '../../src/telemetry/open-alerts.ts';

const T0 = Date.parse('2025-06-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

const experiment = (ts = T0, name = 'checkout-latency'): GamedayEvent => ({
  type: 'experiment',
  ts,
  experiment: {
    id: 'exp-1',
    name,
    targetUrl: 'http://127.0.0.1:8080',
    faultLabel: 'latency 800ms',
    rps: 100,
    durationMs: 60_000,
    baselineMs: 5_000,
    demo: false,
  },
  thresholds: { p95LatencyMs: 500, errorRate: 0.01, availability: 0.99, healthFailures: 3 },
  minSamples: 20,
});
const fault = (ts: number, state: 'in' | 'out' | 'paused' | 'resumed'): GamedayEvent => ({ type: 'fault', ts, state });
const summary = (ts: number, over: Partial<Summary> = {}): GamedayEvent => ({
  type: 'summary',
  ts,
  status: 'breach',
  exitCode: 3,
  experiment: 'checkout-latency',
  experimentId: 'exp-1',
  spentUsd: 1,
  requests: 1000,
  detectionMs: 900,
  recoveryMs: 2000,
  peakImpact: 100,
  trigger: 'breach',
  reason: 'p95 over 500 ms',
  faultRemoved: true,
  recoveryVerified: true,
  durationMs: 10_000,
  journalPath: null,
  ...over,
});

function bookOf(events: GamedayEvent[], redact?: (t: string) => string): AlertBook {
  const book = new AlertBook(redact);
  for (const e of events) book.observe(e);
  return book;
}
const byName = (book: AlertBook, name: string) => book.all.filter((a) => a.labels.alertname === name);

describe('alerts from events (pure)', () => {
  it('GamedayExperimentActive: opens at fault in, stays through pause, resolved at fault out with endsAt = then', () => {
    const book = bookOf([experiment(), fault(T0 + 1000, 'in'), fault(T0 + 2000, 'paused'), fault(T0 + 3000, 'resumed')]);
    const [active] = byName(book, 'GamedayExperimentActive');
    expect(active.labels).toEqual({
      alertname: 'GamedayExperimentActive',
      severity: 'info',
      experiment: 'checkout-latency',
      experiment_id: 'exp-1',
    });
    expect(active.resolved).toBe(false);
    // open: each send holds it HOLD_MS from the send
    expect(postable(active, T0 + 4000)).toMatchObject({ startsAt: iso(T0 + 1000), endsAt: iso(T0 + 4000 + HOLD_MS) });
    expect(active.annotations.summary).toContain('latency 800ms');

    book.observe(fault(T0 + 5000, 'out'));
    const [resolved] = byName(book, 'GamedayExperimentActive');
    expect(resolved.resolved).toBe(true);
    expect(postable(resolved, T0 + 9000)).toMatchObject({ startsAt: iso(T0 + 1000), endsAt: iso(T0 + 5000) });
    expect(resolved.version).toBe(active.version + 1);
  });

  it('the summary resolves an active alert the fault-out event did not (a run that ended otherwise)', () => {
    const book = bookOf([experiment(), fault(T0 + 1000, 'in'), summary(T0 + 7000, { status: 'stopped', exitCode: 5 })]);
    expect(postable(byName(book, 'GamedayExperimentActive')[0], T0 + 8000).endsAt).toBe(iso(T0 + 7000));
    expect(book.ended).toBe(true);
  });

  it('GamedaySloBreach: label slo = the SLIs, numbers in annotations, endsAt 5 minutes after', () => {
    const book = bookOf([
      experiment(),
      {
        type: 'breach',
        ts: T0 + 2000,
        breaches: [
          { sli: 'p95LatencyMs', value: 812.5, threshold: 500 },
          { sli: 'availability', value: 0.97, threshold: 0.99 },
        ],
      },
    ]);
    const [a] = byName(book, 'GamedaySloBreach');
    expect(a.labels).toEqual({
      alertname: 'GamedaySloBreach',
      severity: 'warning',
      experiment: 'checkout-latency',
      experiment_id: 'exp-1',
      slo: 'p95LatencyMs,availability',
    });
    expect(a.annotations).toMatchObject({
      p95LatencyMs: '812.5',
      p95LatencyMs_threshold: '500',
      availability: '0.97',
      availability_threshold: '0.99',
    });
    expect(postable(a, T0 + 3000)).toMatchObject({ startsAt: iso(T0 + 2000), endsAt: iso(T0 + 2000 + HOLD_MS) });
    // no number in a label: Alertmanager would see every value as another alert
    expect(Object.values(a.labels).some((v) => /\d/.test(v.replace('exp-1', '').replace(/p95/g, '')))).toBe(false);
  });

  it('GamedayBudgetThreshold: 80 % warning, 100 % critical, by scope; 50 % is not alerted', () => {
    const budget = (ts: number, scope: 'experiment' | 'day', pct: number): GamedayEvent => ({
      type: 'budget',
      ts,
      scope,
      thresholdPct: pct,
      spentUsd: pct / 10,
      capUsd: 10,
    });
    const book = bookOf([experiment(), budget(T0 + 1, 'experiment', 50), budget(T0 + 2, 'experiment', 80), budget(T0 + 3, 'day', 100)]);
    const got = byName(book, 'GamedayBudgetThreshold').map((a) => [a.labels.scope, a.labels.severity, a.annotations.threshold_pct]);
    expect(got).toEqual([
      ['experiment', 'warning', '80'],
      ['day', 'critical', '100'],
    ]);
    expect(byName(book, 'GamedayBudgetThreshold')[1].annotations).toMatchObject({ spent_usd: '10', cap_usd: '10' });
  });

  it('a budget event before the announcement still names the experiment (known from the start)', () => {
    const book = new AlertBook(undefined, { name: 'checkout-latency', id: 'exp-1' });
    book.observe({ type: 'budget', ts: T0, scope: 'day', thresholdPct: 100, spentUsd: 500, capUsd: 500 });
    expect(book.all[0].labels).toMatchObject({ experiment: 'checkout-latency', experiment_id: 'exp-1' });
  });

  it('GamedayEmergencyStop at its event', () => {
    const book = bookOf([experiment(), { type: 'emergency-stop', ts: T0 + 5, source: 'emergency-stop command' }]);
    expect(byName(book, 'GamedayEmergencyStop')[0]).toMatchObject({
      labels: { severity: 'warning' },
      annotations: { source: 'emergency-stop command' },
      endsAtMs: T0 + 5 + HOLD_MS,
    });
  });

  it('GamedayRollbackFailed: critical, from the fatal error or the summary, one alert, held far ahead', () => {
    const book = bookOf([
      experiment(),
      fault(T0 + 1000, 'in'),
      { type: 'error', ts: T0 + 1500, message: 'closing the topology: EPIPE' }, // not fatal: not this alert
      {
        type: 'error',
        ts: T0 + 2000,
        fatal: true,
        message: 'ROLLBACK FAILED: the fault may still be in place (command). Remove it by hand.',
      },
    ]);
    expect(byName(book, 'GamedayRollbackFailed')).toHaveLength(1);
    book.observe(
      summary(T0 + 3000, { status: 'rollback-failed', exitCode: 6, reason: 'rollback failed: restore exited 1', faultRemoved: false }),
    );
    const failed = byName(book, 'GamedayRollbackFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      labels: { alertname: 'GamedayRollbackFailed', severity: 'critical', experiment_id: 'exp-1' },
      annotations: { exit_code: '6' },
      startsAtMs: T0 + 2000,
      endsAtMs: T0 + 3000 + ROLLBACK_FAILED_HOLD_MS,
    });
    expect(failed[0].annotations.description).toContain('restore exited 1');
    // the fault may be in, but the run is over: the experiment is no longer active
    expect(byName(book, 'GamedayExperimentActive')[0].resolved).toBe(true);
  });

  it('recovery not verified (exit 6, no fatal rollback error): the summary raises it', () => {
    const book = bookOf([experiment(), summary(T0 + 1, { status: 'rollback-failed', exitCode: 6, reason: 'recovery not verified' })]);
    expect(byName(book, 'GamedayRollbackFailed')).toHaveLength(1);
  });

  it('names and reasons are redacted', () => {
    const redact = (t: string) => t.replaceAll('hunter2', '***');
    const book = bookOf(
      [experiment(T0, 'x hunter2'), summary(T0 + 1, { status: 'rollback-failed', exitCode: 6, reason: 'curl http://u:hunter2@h failed' })],
      redact,
    );
    expect(JSON.stringify(book.all)).not.toContain('hunter2');
  });
});

describe('delivery to one Alertmanager (fake clock)', () => {
  it('a change is due once; a resend re-posts what is live; a lapsed one-off is not resent', () => {
    const book = bookOf([experiment(), fault(T0, 'in'), { type: 'emergency-stop', ts: T0, source: 'x' }]);
    const d = new Delivery();
    const first = d.due(book.all, T0, false);
    expect(first.map((a) => a.labels.alertname)).toEqual(['GamedayExperimentActive', 'GamedayEmergencyStop']);
    d.settle(first, 'ok');
    expect(d.due(book.all, T0 + 1, false)).toEqual([]);
    expect(d.due(book.all, T0 + 30_000, true)).toHaveLength(2);
    // 5 minutes on: the stop alert has lapsed, the active one (open) is still resent
    expect(d.due(book.all, T0 + HOLD_MS + 1, true).map((a) => a.labels.alertname)).toEqual(['GamedayExperimentActive']);
  });

  it('a resolve is due until delivered, then never resent', () => {
    const book = bookOf([experiment(), fault(T0, 'in')]);
    const d = new Delivery();
    d.settle(d.due(book.all, T0, false), 'ok');
    book.observe(fault(T0 + 1000, 'out'));
    const resolve = d.due(book.all, T0 + 1000, false);
    expect(resolve).toHaveLength(1);
    d.settle(resolve, 'failed'); // retried at the next resend
    expect(d.due(book.all, T0 + 31_000, true)).toHaveLength(1);
    d.settle(resolve, 'ok');
    expect(d.due(book.all, T0 + 61_000, true)).toEqual([]);
  });

  it('4xx: not retried, not resent, until the alert changes', () => {
    const book = bookOf([experiment(), fault(T0, 'in')]);
    const d = new Delivery();
    d.settle(d.due(book.all, T0, false), 'rejected');
    expect(d.due(book.all, T0 + 30_000, true)).toEqual([]);
    book.observe(fault(T0 + 40_000, 'out'));
    expect(d.due(book.all, T0 + 40_000, false)).toHaveLength(1);
  });

  it('an answer for an older version does not cover a newer one', () => {
    const book = bookOf([experiment(), fault(T0, 'in')]);
    const d = new Delivery();
    const inFlight = d.due(book.all, T0, false);
    book.observe(fault(T0 + 10, 'out')); // changed while the post was out
    d.settle(inFlight, 'ok');
    expect(d.due(book.all, T0 + 20, false)[0].resolved).toBe(true);
  });
});

interface Call {
  endpoint: string;
  alerts: PostableAlert[];
  signal: AbortSignal;
  answer(status: number): void;
  fail(err: Error): void;
}

function fakeTransport(): { transport: Transport; calls: Call[] } {
  const calls: Call[] = [];
  const transport: Transport = (endpoint, alerts, signal) =>
    new Promise<number>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(Object.assign(new Error('canceled'), { code: 'ERR_CANCELED' })));
      calls.push({ endpoint, alerts, signal, answer: resolve, fail: reject });
    });
  return { transport, calls };
}

const flush = () => vi.advanceTimersByTimeAsync(0);

describe('the notifier (fake transport, fake timers)', () => {
  let clock = T0;
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    clock = T0;
  });
  afterEach(() => vi.useRealTimers());
  const now = () => Date.now();

  function notifier(over: Partial<ConstructorParameters<typeof AlertmanagerNotifier>[0]> = {}) {
    const { transport, calls } = fakeTransport();
    const told: string[] = [];
    const results: string[] = [];
    const n = new AlertmanagerNotifier({
      urls: ['http://am-1:9093', 'http://user:pw@am-2:9093/prefix/'],
      resendEveryMs: 30_000,
      transport,
      now,
      tell: (t) => told.push(t),
      count: (r) => results.push(r),
      ...over,
    }).start();
    return { n, calls, told, results };
  }

  it('the listener only queues: nothing is posted until the event loop turns', async () => {
    const { n, calls } = notifier();
    n.listener(experiment());
    n.listener(fault(clock, 'in'));
    expect(calls).toHaveLength(0);
    await flush();
    expect(calls.map((c) => c.endpoint)).toEqual(['http://am-1:9093/api/v2/alerts', 'http://user:pw@am-2:9093/prefix/api/v2/alerts']);
    expect(calls[0].alerts[0].labels.alertname).toBe('GamedayExperimentActive');
  });

  it('resends every resendEvery; one post in flight per Alertmanager; each post times out after 2 s', async () => {
    const { n, calls, results } = notifier({ urls: ['http://am-1:9093'] });
    n.listener(experiment());
    n.listener(fault(clock, 'in'));
    await flush();
    expect(calls).toHaveLength(1);
    n.listener({ type: 'emergency-stop', ts: now(), source: 'x' }); // while the first post is out
    await flush();
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(POST_TIMEOUT_MS); // the first post gives up; the pending change follows
    expect(calls[0].signal.aborted).toBe(true);
    expect(results).toEqual(['failed']);
    expect(calls).toHaveLength(2);
    expect(calls[1].alerts.map((a) => a.labels.alertname)).toEqual(['GamedayExperimentActive', 'GamedayEmergencyStop']);
    calls[1].answer(200);
    await flush();
    await vi.advanceTimersByTimeAsync(30_000 - POST_TIMEOUT_MS); // the resend, 30 s after start()
    expect(calls).toHaveLength(3);
    expect(calls[2].alerts).toHaveLength(2);
    expect(results).toEqual(['failed', 'ok']);
    calls[2].answer(200);
    await n.close();
  });

  it('4xx: counted rejected, not retried at the next resend; a dead Alertmanager is told once', async () => {
    const { n, calls, told, results } = notifier();
    n.listener(experiment());
    n.listener(fault(clock, 'in'));
    await flush();
    calls[0].answer(400);
    calls[1].fail(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    await flush();
    expect(results.sort()).toEqual(['failed', 'rejected']);
    await vi.advanceTimersByTimeAsync(30_000);
    // am-1 refused it for good; am-2 failed: retried
    expect(calls.slice(2).map((c) => c.endpoint)).toEqual(['http://user:pw@am-2:9093/prefix/api/v2/alerts']);
    calls[2].answer(503);
    await vi.advanceTimersByTimeAsync(30_000);
    calls[3].fail(new Error('socket hang up'));
    await flush();
    expect(told).toHaveLength(2); // once per Alertmanager, not once per failure
    expect(told.join('\n')).toContain('alertmanager http://am-1:9093: HTTP 400');
    expect(told.join('\n')).toContain('alertmanager http://am-2:9093/prefix/: ECONNREFUSED');
    expect(told.join('\n')).not.toContain('pw');
    const closed = n.close(); // am-2 still owes the alert: one more try, cut at its timeout
    await vi.advanceTimersByTimeAsync(POST_TIMEOUT_MS);
    await closed;
  });

  it('close() delivers the resolve, waits at most 2.5 s for an Alertmanager that never answers, and never rejects', async () => {
    const { n, calls } = notifier();
    n.listener(experiment());
    n.listener(fault(clock, 'in'));
    await flush();
    calls[0].answer(200);
    calls[1].answer(200);
    await flush();
    n.listener(fault(now() + 10, 'out'));
    n.listener(summary(now() + 20));
    const closed = n.close();
    let done = false;
    void closed.then(() => (done = true));
    await flush();
    expect(calls.slice(2).map((c) => c.alerts[0].endsAt)).toEqual([iso(now() + 10), iso(now() + 10)]);
    calls[2].answer(200); // am-2 never answers
    await vi.advanceTimersByTimeAsync(2_000);
    expect(done).toBe(true); // its own 2 s timeout
    await closed;
  });

  it('counts into gameday_alertmanager_notifications_total{result}', async () => {
    const metrics = new RunMetrics({ p95LatencyMs: 500, errorRate: 0.01, availability: 0.99, healthFailures: 3 });
    const { n, calls } = notifier({ count: metrics.countNotification });
    n.listener(experiment());
    n.listener(fault(clock, 'in'));
    await flush();
    calls[0].answer(200);
    calls[1].answer(422);
    await flush();
    const text = await metrics.registry.metrics();
    expect(text).toContain('gameday_alertmanager_notifications_total{result="ok"} 1');
    expect(text).toContain('gameday_alertmanager_notifications_total{result="rejected"} 1');
    expect(text).toContain('gameday_alertmanager_notifications_total{result="failed"} 0');
    await n.close();
  });
});

describe('GamedayRollbackFailed outlives the run (state dir record, resolved later)', () => {
  it('is recorded (0600, redacted strings), and a later notifier posts it resolved and forgets it', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'gameday-alerts-'));
    const first = fakeTransport();
    const now = () => T0 + 2000;
    const run = new AlertmanagerNotifier({ urls: ['http://am:9093'], resendEveryMs: 30_000, transport: first.transport, stateDir, now });
    run.listener(experiment());
    run.listener(summary(T0 + 1000, { status: 'rollback-failed', exitCode: 6 }));
    const closing = run.close();
    await new Promise((r) => setImmediate(r));
    first.calls[0].answer(200);
    await closing;
    const files = readdirSync(join(stateDir, 'alerts'));
    expect(files).toEqual(['exp-1.json']);
    expect(statSync(join(stateDir, 'alerts', files[0])).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(stateDir, 'alerts', files[0]), 'utf8'))).toMatchObject({
      labels: { alertname: 'GamedayRollbackFailed' },
    });

    // still awaiting rollback in the ledger: left firing
    expect(await openAlertsToResolve(stateDir, new Set(['exp-1']))).toEqual([]);
    const leftovers = await openAlertsToResolve(stateDir, new Set());
    const later = fakeTransport();
    const told: string[] = [];
    const next = new AlertmanagerNotifier({
      urls: ['http://am:9093'],
      resendEveryMs: 30_000,
      transport: later.transport,
      tell: (t) => told.push(t),
      now: () => T0 + 3_600_000,
    });
    next.resolveLeftovers(leftovers);
    const closingNext = next.close();
    await new Promise((r) => setImmediate(r));
    const posted = later.calls[0].alerts[0];
    expect(posted.labels).toMatchObject({ alertname: 'GamedayRollbackFailed', experiment_id: 'exp-1' });
    expect(posted.endsAt).toBe(iso(T0 + 3_600_000));
    later.calls[0].answer(200);
    await closingNext;
    expect(readdirSync(join(stateDir, 'alerts'))).toEqual([]);
    expect(told[0]).toContain('GamedayRollbackFailed of checkout-latency (exp-1) resolved');
  });
});
