// The shipped monitoring config (config/prometheus, config/grafana) and what it is checked against:
// the metric names gameday exports. That list is the contract: the rules and the dashboard may read
// only these (and their own recording rules, and Prometheus's `up`).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { promqlMetricNames, promqlProblem } from '../../src/telemetry/promql.ts';

/**
 * Every metric name gameday exports that the shipped rules and dashboard may use: keep it in step
 * with the registries (src/telemetry/metrics.ts RunMetrics; the exporter's).
 */
export const GAMEDAY_METRICS = {
  /** a run's /metrics (RunMetrics), job e.g. gameday-run */
  run: [
    'gameday_budget_spent_dollars', // {scope=experiment|day}
    'gameday_budget_limit_dollars', // {scope}
    'gameday_requests_total', // {outcome}
    'gameday_sli', // {sli}
    'gameday_slo_threshold', // {sli}
    'gameday_impact_score',
    'gameday_rollbacks_total', // {trigger,result}
    'gameday_experiment_phase', // {phase}
    'gameday_detection_seconds',
    'gameday_recovery_seconds',
    'gameday_slo_guard_value', // {guard}
    'gameday_slo_guard_bound', // {guard,kind=max|min}
    'gameday_slo_guard_state', // {guard,state=ok|breach|inconclusive}
    'gameday_alertmanager_notifications_total', // {result}
  ],
  /** prom-client's default metrics on a run's /metrics (collectDefaultMetrics, prefix gameday_process_): the ones used */
  runProcess: ['gameday_process_process_cpu_seconds_total', 'gameday_process_nodejs_eventloop_lag_p99_seconds'],
  /** `gameday exporter`, job e.g. gameday-exporter */
  exporter: [
    'gameday_ledger_spent_dollars', // {scope="day"}
    'gameday_ledger_limit_dollars', // {scope="day"}
    'gameday_ledger_reserved_dollars',
    'gameday_ledger_running_experiments',
    'gameday_emergency_stop_latched',
    'gameday_ledger_experiments_total', // {status}
    'gameday_ledger_up', // 0 when the last scrape could not read the ledger
  ],
} as const;

/** Prometheus's own series that the rules and dashboard may read. */
const PROMETHEUS_METRICS = ['up'];

const KNOWN = new Set<string>([...Object.values(GAMEDAY_METRICS).flat(), ...PROMETHEUS_METRICS]);

const root = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));

export const CONFIG_PATHS = {
  rules: root('config/prometheus/gameday-rules.yml'),
  rulesTest: root('config/prometheus/gameday-rules.test.yml'),
  prometheusExample: root('config/prometheus/prometheus.example.yml'),
  dashboard: root('config/grafana/gameday-dashboard.json'),
  provisioning: root('config/grafana/provisioning/dashboards.yaml'),
  docs: root('docs/monitoring.md'),
  readme: root('README.md'),
};

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RulesFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}

/** A YAML file, as whatever its caller says it is. */
export const readYaml = <T>(path: string): T => parse(readFileSync(path, 'utf8')) as T;
export const readRules = (): RulesFile => readYaml<RulesFile>(CONFIG_PATHS.rules);

/** The parts of a Grafana dashboard the tests read. */
export interface Dashboard {
  [key: string]: unknown;
  panels: Panel[];
  templating: { list: Variable[] };
  annotations: { list: Array<{ name: string; expr: string; datasource: unknown }> };
}
export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  datasource?: unknown;
  targets?: Array<{ refId: string; expr: string; datasource?: unknown }>;
  panels?: unknown[];
  repeat?: string;
  fieldConfig: { defaults: { mappings?: Array<{ options: Record<string, { text: string }> }> } };
}
export interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  datasource?: unknown;
}
export const readDashboard = (text = readFileSync(CONFIG_PATHS.dashboard, 'utf8')): Dashboard => JSON.parse(text) as Dashboard;

/** The recording rules' names in a rules file. */
export function recordNames(rules: RulesFile): Set<string> {
  return new Set(rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))));
}

/**
 * What is wrong with a PromQL expression of the shipped config: it does not parse, or it reads a
 * metric that is neither in GAMEDAY_METRICS, nor Prometheus's, nor one of `records`.
 */
export function exprProblems(expr: string, records: ReadonlySet<string>): string[] {
  const syntax = promqlProblem(expr);
  if (syntax) return [syntax];
  return promqlMetricNames(expr)
    .filter((name) => !KNOWN.has(name) && !records.has(name))
    .map((name) =>
      name.includes(':')
        ? `reads the recording rule ${name}, which gameday-rules.yml does not define`
        : `reads ${name}, which gameday does not export`,
    );
}

/** Grafana's own variables, as Grafana would fill them in: durations. */
const BUILTIN_DURATIONS: Record<string, string> = { __rate_interval: '1m', __interval: '15s', __range: '1h' };

/**
 * A Grafana query as Prometheus would get it: Grafana's interval variables become durations, and the
 * dashboard's own variables (label values: allowed only inside label-matcher strings) become `fill`.
 */
export function interpolate(expr: string, fill = 'x'): { expr: string; problem: string | null } {
  const filled = expr.replace(/\$\{?(__rate_interval|__interval|__range)\}?/g, (_m, name: string) => BUILTIN_DURATIONS[name]);
  const outsideStrings = filled.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  if (/\$|\[\[/.test(outsideStrings)) return { expr: filled, problem: 'a dashboard variable outside a label matcher' };
  return { expr: filled.replace(/\$\{[^}]+\}|\$\w+|\[\[\w+\]\]/g, fill), problem: null };
}
