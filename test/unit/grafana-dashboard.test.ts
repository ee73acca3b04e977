// The shipped Grafana dashboard (config/grafana/gameday-dashboard.json). Grafana is not installable
// here, so its structure is checked for what Grafana needs: unique panel ids, a gridPos on every
// panel, the datasource a templated ${datasource} variable everywhere (never __inputs), every query
// PromQL that parses, reading only metrics gameday exports (or recording rules the shipped rules
// define). The same check is shown failing on mutated dashboards.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_PATHS,
  exprProblems,
  interpolate,
  readDashboard,
  readRules,
  readYaml,
  recordNames,
  type Dashboard,
  type Panel,
  type Variable,
} from '../helpers/monitoring-config.ts';

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const PANEL_TYPES = new Set(['row', 'timeseries', 'stat', 'gauge', 'bargauge', 'state-timeline', 'table', 'text']);
const GRID_COLUMNS = 24;

function queryProblems(where: string, expr: unknown, records: ReadonlySet<string>): string[] {
  if (typeof expr !== 'string' || !expr.trim()) return [`${where}: no query`];
  const { expr: filled, problem } = interpolate(expr);
  if (problem) return [`${where}: ${problem}`];
  return exprProblems(filled, records).map((p) => `${where}: ${p}`);
}

function datasourceProblem(where: string, ds: unknown): string[] {
  return JSON.stringify(ds) === JSON.stringify(DATASOURCE)
    ? []
    : [`${where}: datasource is ${JSON.stringify(ds)}, not ${JSON.stringify(DATASOURCE)}`];
}

interface Grid {
  x: number;
  y: number;
  w: number;
  h: number;
}

function gridProblems(where: string, g: Partial<Grid> | undefined): string[] {
  if (!g) return [`${where}: no gridPos`];
  const bad = (['x', 'y', 'w', 'h'] as const).filter((k) => !Number.isInteger(g[k]) || g[k]! < 0);
  if (bad.length) return [`${where}: gridPos.${bad.join(', ')} not a whole number`];
  if (g.w! < 1 || g.h! < 1 || g.x! + g.w! > GRID_COLUMNS) return [`${where}: gridPos ${JSON.stringify(g)} off the 24-column grid`];
  return [];
}

const overlaps = (a: Grid, b: Grid): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

function panelProblems(panel: Panel, records: ReadonlySet<string>): string[] {
  const where = `panel ${panel.id} "${panel.title}"`;
  const out = [...gridProblems(where, panel.gridPos), ...datasourceProblem(where, panel.datasource)];
  if (!PANEL_TYPES.has(panel.type)) out.push(`${where}: unknown panel type ${panel.type}`);
  if (!panel.title) out.push(`panel ${panel.id}: no title`);
  const targets = panel.targets ?? [];
  if (panel.type === 'row') {
    if (targets.length || panel.panels?.length) out.push(`${where}: a row holding queries or collapsed panels`);
    return out;
  }
  if (!targets.length) out.push(`${where}: no queries`);
  const refIds = targets.map((t) => t.refId);
  if (new Set(refIds).size !== refIds.length || refIds.some((r) => !r)) out.push(`${where}: refIds missing or repeated`);
  for (const t of targets) {
    out.push(...datasourceProblem(`${where} ${t.refId}`, t.datasource));
    out.push(...queryProblems(`${where} ${t.refId}`, t.expr, records));
  }
  return out;
}

function variableProblems(v: Variable, records: ReadonlySet<string>): string[] {
  const where = `variable ${v.name}`;
  if (v.type === 'datasource') return v.query === 'prometheus' ? [] : [`${where}: a datasource variable not of Prometheus`];
  if (v.type !== 'query') return [];
  const out = datasourceProblem(where, v.datasource);
  const q = typeof v.query === 'string' ? v.query : v.query?.query;
  const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q ?? '');
  if (!m) return [...out, `${where}: not label_values(selector, label): ${q}`];
  return [...out, ...queryProblems(where, m[1], records)];
}

/** Everything Grafana (or a reader) would trip over in a dashboard, one line each ([] when nothing is). */
function dashboardProblems(dashboard: Dashboard, records: ReadonlySet<string>): string[] {
  const out: string[] = [];
  if ('__inputs' in dashboard || '__requires' in dashboard)
    out.push('an exported-for-sharing dashboard (__inputs): provisioning cannot fill it in');
  for (const k of ['uid', 'title', 'schemaVersion', 'panels', 'templating']) if (dashboard[k] === undefined) out.push(`no ${k}`);
  const vars = dashboard.templating?.list ?? [];
  const dsVar = vars.find((v) => v.name === 'datasource');
  if (dsVar?.type !== 'datasource') out.push('no datasource-type template variable named "datasource"');
  for (const v of vars) out.push(...variableProblems(v, records));
  const varNames = new Set(vars.map((v) => v.name));
  const panels = dashboard.panels ?? [];
  const ids = panels.map((p) => p.id);
  for (const [i, id] of ids.entries()) if (!Number.isInteger(id) || ids.indexOf(id) !== i) out.push(`panel id ${id} missing or repeated`);
  for (const p of panels) {
    out.push(...panelProblems(p, records));
    if (p.repeat && !varNames.has(p.repeat)) out.push(`panel ${p.id}: repeats over $${p.repeat}, which is not a variable`);
  }
  for (const [i, a] of panels.entries())
    for (const b of panels.slice(i + 1))
      if (a.gridPos && b.gridPos && overlaps(a.gridPos, b.gridPos)) out.push(`panels ${a.id} and ${b.id} overlap`);
  for (const a of dashboard.annotations?.list ?? []) {
    out.push(...datasourceProblem(`annotation ${a.name}`, a.datasource));
    out.push(...queryProblems(`annotation ${a.name}`, a.expr, records));
  }
  // whatever else: no datasource anywhere that is not the variable
  const hardCoded = JSON.stringify(dashboard).match(/"uid":\s*"(?!\$\{datasource\}|gameday")[^"]*"/g);
  if (hardCoded) out.push(`a hard-coded uid: ${hardCoded.join(', ')}`);
  return out;
}

const text = readFileSync(CONFIG_PATHS.dashboard, 'utf8');
const records = recordNames(readRules());

describe('the Grafana dashboard', () => {
  it('is JSON with the structure Grafana needs, its queries parse and read only what gameday exports', () => {
    const dashboard = readDashboard(text);
    expect(dashboardProblems(dashboard, records)).toEqual([]);
  });

  it('has the panels issue 9 asks for', () => {
    const titles = readDashboard(text).panels.map((p) => p.title);
    for (const t of [
      "Day's spend of the daily cap",
      "Day's spend, reserved and cap",
      'Experiment spend against its cap',
      'Experiment burn rate ($/min)',
      'p95 latency against its SLO',
      'PromQL guard $guard against its bound',
      'Impact score',
      'Phase',
      'Rollback steps by trigger and result',
      'Detection and recovery',
      'Emergency-stop latch',
      'Running experiments',
    ])
      expect(titles).toContain(t);
  });

  it('fails on a misspelt metric name', () => {
    const dashboard = readDashboard(text.replace('gameday_impact_score{', 'gameday_impact_scor{'));
    expect(dashboardProblems(dashboard, records)).toEqual([
      expect.stringMatching(/^panel \d+ "Impact score" A: reads gameday_impact_scor, which gameday does not export$/),
    ]);
  });

  it('fails on a recording rule the rules file does not define, and on a query that does not parse', () => {
    const dashboard = readDashboard(text.replace('job:gameday_ledger_spent_dollars:rate5m{', 'job:gameday_ledger_spent_dollars:rate1m{'));
    const target = dashboard.panels.find((p) => p.title === 'Impact score')!.targets![0];
    target.expr = `max(${target.expr}`;
    expect(dashboardProblems(dashboard, records)).toEqual([
      expect.stringMatching(
        /"Day's burn rate \(\$\/min\)" A: reads the recording rule job:gameday_ledger_spent_dollars:rate1m, which gameday-rules.yml/,
      ),
      expect.stringMatching(/"Impact score" A: not valid PromQL: syntax error/),
    ]);
  });

  it('fails on __inputs, a hard-coded datasource, a panel without gridPos, repeated ids and a variable outside a matcher', () => {
    const dashboard = readDashboard(text);
    dashboard.__inputs = [{ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' }];
    const [, first, second, third] = dashboard.panels;
    first.targets![0].datasource = { type: 'prometheus', uid: 'P1809F7CD0C75ACF3' };
    delete second.gridPos;
    third.id = first.id;
    third.targets![0].expr = 'max by (job) ($metric)';
    const problems = dashboardProblems(dashboard, records);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/__inputs/),
        expect.stringMatching(new RegExp(`^panel ${first.id} .* A: datasource is .*P1809F7CD0C75ACF3`)),
        expect.stringMatching(new RegExp(`^panel ${second.id} .*: no gridPos$`)),
        `panel id ${first.id} missing or repeated`,
        expect.stringMatching(/a dashboard variable outside a label matcher$/),
        'a hard-coded uid: "uid":"P1809F7CD0C75ACF3"',
      ]),
    );
  });

  it('fills in Grafana variables as Prometheus would see them', () => {
    expect(interpolate('rate(x{job=~"$run_job",i=~"${instance:regex}"}[$__rate_interval])')).toEqual({
      expr: 'rate(x{job=~"x",i=~"x"}[1m])',
      problem: null,
    });
    expect(interpolate('x offset $shift').problem).toMatch(/outside a label matcher/);
  });
});

describe('Grafana provisioning', () => {
  it('provisions the dashboard from files', () => {
    const p = readYaml<{ apiVersion: number; providers: Array<Record<string, unknown>> }>(CONFIG_PATHS.provisioning);
    expect(p.apiVersion).toBe(1);
    expect(p.providers).toHaveLength(1);
    expect(p.providers[0]).toMatchObject({ type: 'file', options: { path: expect.any(String) } });
  });
});
