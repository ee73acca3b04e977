// The shipped Prometheus rules (config/prometheus/gameday-rules.yml), read as data: every expression
// parses and reads only metrics gameday exports, names follow level:metric:operations, alerts say
// how bad and what to do, and the promtool unit tests cover every rule both ways. (promtool itself
// runs in test/integration/monitoring-config.test.ts.)
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_PATHS,
  GAMEDAY_METRICS,
  exprProblems,
  readRules,
  readYaml,
  recordNames,
  type Rule,
  type RulesFile,
} from '../helpers/monitoring-config.ts';

/** The parts of a promtool unit-test file this reads. */
interface PromtoolTests {
  rule_files: string[];
  tests: Array<{
    promql_expr_test?: Array<{ expr: string; exp_samples?: unknown[] }>;
    alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }>;
  }>;
}
interface PrometheusConfig {
  rule_files: string[];
  scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }>;
}

const CONTRACT = new Set<string>([...Object.values(GAMEDAY_METRICS).flat(), 'up']);
const SEVERITIES = ['warning', 'critical'];

function ruleProblems(rule: Rule, records: ReadonlySet<string>): string[] {
  const name = rule.record ?? rule.alert ?? '(unnamed)';
  const out = exprProblems(rule.expr, records).map((p) => `${name}: ${p}`);
  if (rule.record) {
    // level:metric:operations, the metric being one gameday exports
    const m = /^([a-z_]+):([a-z_]+):([a-z0-9_]+)$/.exec(rule.record);
    if (!m) out.push(`${name}: not named level:metric:operations`);
    else if (!CONTRACT.has(m[2])) out.push(`${name}: ${m[2]} is not a metric gameday exports`);
  } else {
    if (!/^Gameday[A-Z][A-Za-z]+$/.test(name)) out.push(`${name}: alert names are GamedayCamelCase`);
    if (!SEVERITIES.includes(rule.labels?.severity ?? '')) out.push(`${name}: severity must be one of ${SEVERITIES.join(', ')}`);
    for (const a of ['summary', 'description']) if (!rule.annotations?.[a]?.trim()) out.push(`${name}: no ${a} annotation`);
    if (rule.for !== undefined && !/^\d+[smh]$/.test(rule.for)) out.push(`${name}: for: ${rule.for} is not a duration`);
  }
  return out;
}

/** Everything wrong with a rules file, one line each ([] when nothing is). */
function rulesProblems(rules: RulesFile): string[] {
  const records = recordNames(rules);
  const all = rules.groups.flatMap((g) => g.rules);
  const names = all.map((r) => r.record ?? r.alert);
  const twice = names.filter((n, i) => names.indexOf(n) !== i).map((n) => `${n}: defined twice`);
  return [...twice, ...all.flatMap((r) => ruleProblems(r, records))];
}

const rules = readRules();
const allRules = rules.groups.flatMap((g) => g.rules);

describe('gameday-rules.yml', () => {
  it('has the recording rules and alerts of issue 9', () => {
    expect([...recordNames(rules)]).toEqual(['job:gameday_ledger_spent_dollars:ratio_of_limit', 'job:gameday_ledger_spent_dollars:rate5m']);
    expect(allRules.flatMap((r) => (r.alert ? [`${r.alert} ${r.labels?.severity}`] : []))).toEqual([
      'GamedayDailyBudgetHigh warning',
      'GamedayDailyBudgetExhausted critical',
      'GamedayRollbackFailed critical',
      'GamedayRollbackStepFailed warning',
      'GamedayEmergencyStopLatched warning',
      'GamedayExporterDown warning',
    ]);
  });

  it('parses, reads only metrics gameday exports, and names and labels its rules as it should', () => {
    expect(rulesProblems(rules)).toEqual([]);
  });

  it('the same check catches a misspelt metric, an undefined recording rule and an alert without severity', () => {
    const mutated: RulesFile = structuredClone(rules);
    const rule = (name: string): Rule => mutated.groups.flatMap((g) => g.rules).find((r) => (r.record ?? r.alert) === name)!;
    const ratio = rule('job:gameday_ledger_spent_dollars:ratio_of_limit');
    ratio.expr = ratio.expr.replace('gameday_ledger_spent_dollars', 'gameday_ledger_spend_dollars');
    rule('GamedayDailyBudgetHigh').expr = 'job:gameday_ledger_spent_dollars:ratio_of_limt >= 0.8';
    delete rule('GamedayDailyBudgetExhausted').labels;
    rule('GamedayRollbackFailed').expr = 'max by (job) (rate(gameday_ledger_experiments_total[1h]) > 0';
    expect(rulesProblems(mutated)).toEqual([
      'job:gameday_ledger_spent_dollars:ratio_of_limit: reads gameday_ledger_spend_dollars, which gameday does not export',
      'GamedayDailyBudgetHigh: reads the recording rule job:gameday_ledger_spent_dollars:ratio_of_limt, which gameday-rules.yml does not define',
      'GamedayDailyBudgetExhausted: severity must be one of warning, critical',
      expect.stringMatching(/^GamedayRollbackFailed: not valid PromQL: syntax error/),
    ]);
  });

  it('every recording rule and every alert has promtool unit tests, firing and not firing', () => {
    const tests = readYaml<PromtoolTests>(CONFIG_PATHS.rulesTest);
    expect(tests.rule_files).toEqual(['gameday-rules.yml']);
    const exprTests = tests.tests.flatMap((t) => t.promql_expr_test ?? []);
    const alertTests = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    const missing: string[] = [];
    for (const r of allRules) {
      if (r.record) {
        if (!exprTests.some((t) => t.expr.includes(r.record!) && t.exp_samples?.length)) missing.push(`${r.record}: no promql_expr_test`);
      } else {
        const mine = alertTests.filter((t) => t.alertname === r.alert);
        if (!mine.some((t) => t.exp_alerts?.length)) missing.push(`${r.alert}: never tested firing`);
        if (!mine.some((t) => !t.exp_alerts?.length)) missing.push(`${r.alert}: never tested not firing`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('prometheus.example.yml', () => {
  const config = readYaml<PrometheusConfig>(CONFIG_PATHS.prometheusExample);
  const jobs = new Map<string, string[]>(
    config.scrape_configs.map((s) => [s.job_name, s.static_configs.flatMap((c) => c.targets)] as [string, string[]]),
  );

  it('loads the rules and scrapes a run (9464) and the exporter (9465)', () => {
    expect(config.rule_files).toEqual(['gameday-rules.yml']);
    expect(jobs.get('gameday-run')).toEqual(['127.0.0.1:9464']);
    expect(jobs.get('gameday-exporter')).toEqual(['127.0.0.1:9465']);
  });

  it("names the exporter's job as GamedayExporterDown does", () => {
    const down = allRules.find((r) => r.alert === 'GamedayExporterDown');
    const job = /up\{job="([^"]+)"\}/.exec(down?.expr ?? '')?.[1];
    expect(job).toBeDefined();
    expect(jobs.has(job!)).toBe(true);
  });
});

describe('docs/monitoring.md', () => {
  const docs = readFileSync(CONFIG_PATHS.docs, 'utf8');

  it('names only files that exist, and the README points at it', () => {
    const named = [...new Set(docs.match(/\b(?:config|test)\/[\w./-]+\.(?:ya?ml|json|ts)\b/g))];
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((f) => !existsSync(fileURLToPath(new URL(`../../${f}`, import.meta.url))))).toEqual([]);
    expect(readFileSync(CONFIG_PATHS.readme, 'utf8')).toContain('(docs/monitoring.md)');
  });

  it('documents every recording rule and alert', () => {
    expect(allRules.map((r) => r.record ?? r.alert).filter((n) => !docs.includes(`\`${n}\``))).toEqual([]);
  });
});
