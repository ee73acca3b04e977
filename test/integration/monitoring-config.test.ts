// The shipped monitoring config against the real tools: promtool checks and unit-tests the rules
// (and the unit tests fail when a rule is broken), and a real Prometheus evaluates the rules and
// answers every dashboard query, scraping stand-ins for a run and for `gameday exporter` that serve
// the metrics gameday exports (test/helpers/monitoring-config.ts).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PHASES } from '../../src/engine/events.ts';
import { OUTCOMES, SLI_NAMES } from '../../src/engine/slis.ts';
import { listenOnLoopback } from '../helpers/loopback.ts';
import { CONFIG_PATHS, interpolate, readDashboard, type Panel } from '../helpers/monitoring-config.ts';
import { describeWith, queryProm, startPrometheus } from '../helpers/monitoring.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function promtool(args: string[], cwd: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  const how = r.error ? `\n(${r.error.message})` : r.signal ? `\n(killed by ${r.signal})` : '';
  return { status: r.status, out: `${r.stdout}${r.stderr}${how}` };
}

const prometheusDir = dirname(CONFIG_PATHS.rules);
const rulesText = readFileSync(CONFIG_PATHS.rules, 'utf8');

/** `promtool test rules` of the shipped unit tests against a rules file with `from` replaced by `to`. */
function testMutatedRules(from: string, to: string): { status: number | null; out: string } {
  if (!rulesText.includes(from)) throw new Error(`the rules no longer say ${from}`);
  const dir = mkdtempSync(join(tmpdir(), 'gameday-rules-'));
  try {
    writeFileSync(join(dir, 'gameday-rules.yml'), rulesText.replaceAll(from, to));
    copyFileSync(CONFIG_PATHS.rulesTest, join(dir, 'gameday-rules.test.yml'));
    return promtool(['test', 'rules', 'gameday-rules.test.yml'], dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describeWith(['promtool'], 'the shipped Prometheus rules and config, by promtool', () => {
  it('promtool check rules passes', () => {
    const r = promtool(['check', 'rules', 'gameday-rules.yml'], prometheusDir);
    expect(r.out).toContain('SUCCESS: 8 rules found');
    expect(r.status).toBe(0);
  });

  it('promtool test rules passes', () => {
    const r = promtool(['test', 'rules', 'gameday-rules.test.yml'], prometheusDir);
    expect(r.out).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('promtool check config passes on the example config, rules included', () => {
    const r = promtool(['check', 'config', 'prometheus.example.yml'], prometheusDir);
    expect(r.out).toContain('SUCCESS: 1 rule files found');
    expect(r.status).toBe(0);
  });

  it('promtool check rules fails on a rule that does not parse', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gameday-rules-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'gameday-rules.yml'), rulesText.replace('>= 0.8', '>= 0.8)'));
    const r = promtool(['check', 'rules', 'gameday-rules.yml'], dir);
    expect(r.status).not.toBe(0);
  });

  // Each of these breaks one rule; the unit tests must notice (and name what broke).
  const mutants: Array<[string, string, string, string]> = [
    ['warning at 90 % instead of 80 %', '>= 0.8', '>= 0.9', 'GamedayDailyBudgetHigh'],
    ['critical above 100 % instead of at it', '>= 1\n', '> 1\n', 'GamedayDailyBudgetExhausted'],
    ['a cap of 0 not left out', '{scope="day"} > 0)', '{scope="day"})', 'ratio_of_limit'],
    ['deriv() instead of rate() over midnight', 'rate(gameday_ledger_spent_dollars', 'deriv(gameday_ledger_spent_dollars', 'rate5m'],
    ['rollback-failed: a first-appearing series missed', '          or\n', '          and\n', 'GamedayRollbackFailed'],
    ['rollback-failed: only 5 minutes long', 'offset 1h', 'offset 5m', 'GamedayRollbackFailed'],
    ['rollback step: every result, not failed', '{result="failed"}', '', 'GamedayRollbackStepFailed'],
    ['rollback step: forgotten once the run is gone', '[15m]', '[1m]', 'GamedayRollbackStepFailed'],
    ['latch after 20 minutes', 'for: 30m', 'for: 20m', 'GamedayEmergencyStopLatched'],
    ["any job's up", 'up{job="gameday-exporter"}', 'up', 'GamedayExporterDown'],
    ['exporter down after 1 minute', 'for: 5m', 'for: 1m', 'GamedayExporterDown'],
  ];
  it.each(mutants)('promtool test rules fails when a rule is broken: %s', (_what, from, to, named) => {
    const r = testMutatedRules(from, to);
    expect(r.status).not.toBe(0);
    expect(r.out).toContain(named);
  });
});

/**
 * A /metrics stand-in for a run, shaped as the contract says (labels from the engine's own lists).
 * Its samples carry their own timestamps, so rates come out exact whatever the scrape's jitter.
 */
function runMetricsText(startedMs: number): string {
  const now = Date.now();
  const elapsedS = (now - startedMs) / 1000;
  const lines = [
    `gameday_budget_spent_dollars{scope="experiment"} ${(0.1 * elapsedS).toFixed(6)}`,
    `gameday_budget_spent_dollars{scope="day"} ${(200 + 0.1 * elapsedS).toFixed(6)}`,
    'gameday_budget_limit_dollars{scope="experiment"} 50',
    'gameday_budget_limit_dollars{scope="day"} 500',
    ...OUTCOMES.map((o, i) => `gameday_requests_total{outcome="${o}"} ${(100 - i * 20) * elapsedS}`),
    ...SLI_NAMES.map((s) => `gameday_sli{sli="${s}"} 0.5`),
    ...SLI_NAMES.map((s) => `gameday_slo_threshold{sli="${s}"} 1`),
    'gameday_impact_score 42',
    'gameday_rollbacks_total{trigger="breach",result="ok"} 2',
    'gameday_rollbacks_total{trigger="breach",result="failed"} 1',
    ...PHASES.map((p) => `gameday_experiment_phase{phase="${p}"} ${p === 'observe' ? 1 : 0}`),
    'gameday_detection_seconds 1.2',
    'gameday_recovery_seconds 5.3',
    'gameday_slo_guard_value{guard="checkout-p95"} 0.31',
    'gameday_slo_guard_bound{guard="checkout-p95",kind="max"} 0.5',
    ...['ok', 'breach', 'inconclusive'].map((s) => `gameday_slo_guard_state{guard="checkout-p95",state="${s}"} ${s === 'ok' ? 1 : 0}`),
    'gameday_alertmanager_notifications_total{result="sent"} 3',
    `gameday_process_process_cpu_seconds_total ${(0.2 * elapsedS).toFixed(6)}`,
    'gameday_process_nodejs_eventloop_lag_p99_seconds 0.012',
  ];
  return lines.map((l) => `${l} ${now}\n`).join('');
}

/** `gameday exporter` stand-in: 85 % of the day's cap spent, the latch set, one rollback failed today. */
const EXPORTER_TEXT = [
  'gameday_ledger_spent_dollars{scope="day"} 425',
  'gameday_ledger_limit_dollars{scope="day"} 500',
  'gameday_ledger_reserved_dollars 12.5',
  'gameday_ledger_running_experiments 1',
  'gameday_emergency_stop_latched 1',
  'gameday_ledger_experiments_total{status="breach"} 4',
  'gameday_ledger_experiments_total{status="rollback-failed"} 1',
  '',
].join('\n');

async function serve(body: () => string): Promise<string> {
  const l = await listenOnLoopback(
    createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body())),
  );
  cleanups.push(l.close);
  return `127.0.0.1:${l.port}`;
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The dashboard's queries, as Grafana would send them with every variable at "All". */
function dashboardQueries(): { panels: Array<{ where: string; expr: string }>; annotations: Array<{ where: string; expr: string }> } {
  const d = readDashboard();
  const filled = (where: string, expr: string) => ({ where, expr: interpolate(expr, '.+').expr });
  return {
    panels: d.panels.flatMap((p) => (p.targets ?? []).map((t) => filled(`${p.title} ${t.refId}`, t.expr))),
    annotations: d.annotations.list.map((a) => filled(`annotation ${a.name}`, a.expr)),
  };
}

describeWith(['prometheus'], 'a real Prometheus with the shipped rules, scraping a run and the exporter', () => {
  let promUrl = '';
  beforeAll(async () => {
    const started = Date.now();
    const run = await serve(() => runMetricsText(started));
    const exporter = await serve(() => EXPORTER_TEXT);
    const prom = await startPrometheus({
      targets: [
        { job: 'gameday-run', target: run },
        { job: 'gameday-exporter', target: exporter },
      ],
      ruleFiles: [CONFIG_PATHS.rules],
    });
    cleanups.push(prom.close);
    promUrl = prom.url;
  });

  it('records the day spend ratio and raises the alerts the ledger calls for', async () => {
    const ratio = await eventually(
      'the ratio recorded',
      async () => (await queryProm(promUrl, 'job:gameday_ledger_spent_dollars:ratio_of_limit'))[0],
    );
    expect(ratio.metric).toEqual({ __name__: 'job:gameday_ledger_spent_dollars:ratio_of_limit', job: 'gameday-exporter' });
    expect(Number(ratio.value[1])).toBeCloseTo(0.85, 10);
    const alerts = async (): Promise<string[] | undefined> => {
      const r = await queryProm(promUrl, 'ALERTS');
      const got = r.map((a) => `${a.metric.alertname} ${a.metric.alertstate}`).sort();
      return got.length >= 4 ? got : undefined;
    };
    // budget at 85 % and the latch: pending (for: 1m, 30m); a rollback failed today: firing at once
    expect(await eventually('the alerts', alerts)).toEqual([
      'GamedayDailyBudgetHigh pending',
      'GamedayEmergencyStopLatched pending',
      'GamedayRollbackFailed firing',
      'GamedayRollbackStepFailed firing',
    ]);
  });

  it('answers every dashboard query with data (the annotations: without an error)', async () => {
    const { panels, annotations } = dashboardQueries();
    expect(panels.length).toBeGreaterThan(20);
    // queryProm throws on an error; the rollback annotation has nothing to mark (the run is observing)
    for (const a of annotations) await queryProm(promUrl, a.expr);
    const withoutData = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const q of panels) if (!(await queryProm(promUrl, q.expr)).length) out.push(q.where);
      return out;
    };
    // rates need two scrapes, the recording rules an evaluation after them
    let missing = await withoutData();
    for (const deadline = Date.now() + 30_000; missing.length && Date.now() < deadline; missing = await withoutData())
      await new Promise((r) => setTimeout(r, 500));
    expect(missing).toEqual([]);
  });

  it('shows the phase, the guard state and the burn rate as the run has them', async () => {
    const d = readDashboard();
    const panel = (title: string): Panel => d.panels.find((p) => p.title === title)!;
    const firstQuery = (title: string): string => interpolate(panel(title).targets![0].expr, '.+').expr;
    /** what a panel shows for the value its first query gives now (through its value mappings) */
    const shown = async (title: string): Promise<string> => {
      const [r] = await queryProm(promUrl, firstQuery(title));
      return panel(title).fieldConfig.defaults.mappings?.[0].options[r.value[1]]?.text ?? `unmapped ${r.value[1]}`;
    };
    expect(await shown('Phase')).toBe('observe');
    expect(await shown('PromQL guard states')).toBe('ok');
    // $0.10 a second
    const [burn] = await queryProm(promUrl, firstQuery('Experiment burn rate ($/min)'));
    expect(Math.abs(Number(burn.value[1]) - 6)).toBeLessThan(0.06);
  });
});
