// The spec's budget variables (MAX_EXPERIMENT_COST, DAILY_BUDGET_CAP, COST_PER_REQUEST) as aliases of
// the GAMEDAY_* ones, and where each budget setting came from (issue 14).
import { describe, expect, it } from 'vitest';
import { loadConfigWithSources, parseNumberFlag } from '../../src/config/load.ts';
import { experimentCap, resolveRunPlan } from '../../src/config/plan.ts';
import { budgetSources, describeRunBudget, describeSource, fileLayer, type BudgetSources } from '../../src/config/sources.ts';
import { rps, usd } from '../../src/config/bounds.ts';
import { tempDir, writeFile } from '../helpers/cli.ts';
import { problemsOf } from '../helpers/config-problems.ts';

const DEFAULTS: BudgetSources = {
  costPerRequestUsd: { kind: 'default' },
  maxExperimentUsd: { kind: 'default' },
  dailyCapUsd: { kind: 'default' },
};

const PAIRS = [
  { field: 'maxExperimentUsd', alias: 'MAX_EXPERIMENT_COST', name: 'GAMEDAY_MAX_EXPERIMENT_USD' },
  { field: 'dailyCapUsd', alias: 'DAILY_BUDGET_CAP', name: 'GAMEDAY_DAILY_CAP_USD' },
  { field: 'costPerRequestUsd', alias: 'COST_PER_REQUEST', name: 'GAMEDAY_COST_PER_REQUEST_USD' },
] as const;

describe('budgetSources: the last layer that sets a field wins', () => {
  it('no layer: every field is the default', () => {
    expect(budgetSources([])).toEqual(DEFAULTS);
  });

  it('file, then environment: each field from the last layer that names it', () => {
    const file = { kind: 'file', path: '/etc/team.yaml' } as const;
    const sources = budgetSources([
      { dailyCapUsd: file, maxExperimentUsd: file },
      { dailyCapUsd: { kind: 'env', name: 'DAILY_BUDGET_CAP' } },
    ]);
    expect(sources).toEqual({
      costPerRequestUsd: { kind: 'default' },
      maxExperimentUsd: file,
      dailyCapUsd: { kind: 'env', name: 'DAILY_BUDGET_CAP' },
    });
  });

  it("fileLayer names the budget fields a config file sets, and nothing it doesn't", () => {
    expect(fileLayer({ budget: { dailyCapUsd: 50 }, slo: { p95LatencyMs: 1 } }, 'c.yaml')).toEqual({
      dailyCapUsd: { kind: 'file', path: 'c.yaml' },
    });
    expect(fileLayer({ slo: {} }, 'c.yaml')).toEqual({});
    expect(fileLayer(null, 'c.yaml')).toEqual({});
    expect(fileLayer({ budget: null }, 'c.yaml')).toEqual({});
  });

  it('describes each source for people', () => {
    expect(describeSource({ kind: 'default' })).toBe('default');
    expect(describeSource({ kind: 'file', path: 'team.yaml' })).toBe('config file team.yaml');
    expect(describeSource({ kind: 'env', name: 'MAX_EXPERIMENT_COST' })).toBe('MAX_EXPERIMENT_COST');
    expect(describeSource({ kind: 'flag', name: '--budget' })).toBe('--budget');
    expect(describeSource({ kind: 'experiment', path: 'x.yaml' })).toBe('experiment file x.yaml');
    expect(
      describeRunBudget({
        costPerRequestUsd: 0.002,
        experimentCapUsd: 7,
        dailyCapUsd: 9,
        sources: {
          costPerRequestUsd: { kind: 'env', name: 'COST_PER_REQUEST' },
          experimentCapUsd: { kind: 'flag', name: '--budget' },
          dailyCapUsd: { kind: 'default' },
        },
      }),
    ).toBe('$0.002 per request (COST_PER_REQUEST), experiment cap $7 (--budget), daily cap $9 (default)');
  });
});

describe("the spec's variables: aliases in the environment layer", () => {
  it('with nothing set, the defaults, from the defaults', () => {
    const { config, budgetSources: sources } = loadConfigWithSources({ env: {} });
    expect(config.budget).toEqual({ costPerRequestUsd: 0.001, maxExperimentUsd: 100, dailyCapUsd: 500 });
    expect(sources).toEqual(DEFAULTS);
  });

  for (const { field, alias, name } of PAIRS) {
    const value = field === 'costPerRequestUsd' ? '0.002' : '7';
    it(`${alias} alone sets budget.${field}, named as ${alias}; ${name} alone, as ${name}`, () => {
      const viaAlias = loadConfigWithSources({ env: { [alias]: value } });
      expect(viaAlias.config.budget[field]).toBe(Number(value));
      expect(viaAlias.budgetSources[field]).toEqual({ kind: 'env', name: alias });
      const viaName = loadConfigWithSources({ env: { [name]: value } });
      expect(viaName.config.budget[field]).toBe(Number(value));
      expect(viaName.budgetSources[field]).toEqual({ kind: 'env', name });
    });

    it(`${alias} and ${name}: the same amount however written is fine; different amounts name both`, () => {
      for (const [a, b] of [
        ['7', '7.00'],
        ['0.1', '1e-1'],
        ['0.002', '0.0020'],
      ]) {
        const r = loadConfigWithSources({ env: { [alias]: a, [name]: b } });
        expect(r.config.budget[field]).toBe(Number(a));
        expect(r.budgetSources[field]).toEqual({ kind: 'env', name });
      }
      expect(problemsOf(() => loadConfigWithSources({ env: { [alias]: '7', [name]: '8' } }))).toEqual([
        `${alias}=7 and ${name}=8 disagree: set one of them, or both to the same amount`,
      ]);
      // one micro-dollar apart is a different amount
      expect(problemsOf(() => loadConfigWithSources({ env: { [alias]: '0.000002', [name]: '0.000001' } }))).toHaveLength(1);
    });

    it(`${alias}: a bad value is named by ${alias}`, () => {
      const cases: Array<[string, RegExp]> = [
        ['abc', /expected a number, got "abc"/],
        ['-1', /at least \$0\.000001/],
        ['0', /at least \$0\.000001/],
        ['0.0000001', /at least \$0\.000001/],
        ['0.0000015', /must be a whole number of micro-dollars/],
        ['1e10', /at most \$1000000000/],
        ['', /empty; give an amount in USD, or unset it/],
        ['Infinity', /expected a number, got "Infinity"/],
        ['0x10', /expected a number, got "0x10"/],
        ['0b1', /expected a number/],
        ['7 USD', /expected a number/],
      ];
      for (const [raw, message] of cases) {
        const problems = problemsOf(() => loadConfigWithSources({ env: { [alias]: raw } }));
        expect(problems, raw).toHaveLength(1);
        expect(problems[0], raw).toMatch(new RegExp(`^${alias}: ${message.source}`));
      }
      // the GAMEDAY_ name's own bad value is named by it, even when the alias is fine
      expect(problemsOf(() => loadConfigWithSources({ env: { [alias]: '7', [name]: 'abc' } }))).toEqual([
        `${name}: expected a number, got "abc"`,
      ]);
    });
  }

  it('every problem at once, each by its own name', () => {
    const problems = problemsOf(() =>
      loadConfigWithSources({
        env: { MAX_EXPERIMENT_COST: '7', GAMEDAY_MAX_EXPERIMENT_USD: '8', DAILY_BUDGET_CAP: 'x', COST_PER_REQUEST: '-1' },
      }),
    );
    expect(problems).toEqual([
      'COST_PER_REQUEST: at least $0.000001 (one micro-dollar, the ledger’s unit)',
      'MAX_EXPERIMENT_COST=7 and GAMEDAY_MAX_EXPERIMENT_USD=8 disagree: set one of them, or both to the same amount',
      'DAILY_BUDGET_CAP: expected a number, got "x"',
    ]);
  });

  it('the environment is over the config file: a file value the alias overrides shows the alias', () => {
    const file = writeFile(tempDir(), 'team.yaml', 'budget: { maxExperimentUsd: 20, dailyCapUsd: 60 }\n');
    const { config, budgetSources: sources } = loadConfigWithSources({ configFile: file, env: { MAX_EXPERIMENT_COST: '7' } });
    expect(config.budget).toEqual({ costPerRequestUsd: 0.001, maxExperimentUsd: 7, dailyCapUsd: 60 });
    expect(sources).toEqual({
      costPerRequestUsd: { kind: 'default' },
      maxExperimentUsd: { kind: 'env', name: 'MAX_EXPERIMENT_COST' },
      dailyCapUsd: { kind: 'file', path: file },
    });
  });

  it('budgetProblems (emergency-stop, recover): budget problems handed over, the field left to the other layers', () => {
    const file = writeFile(tempDir(), 'team.yaml', 'budget: { dailyCapUsd: 60 }\n');
    const seen: string[] = [];
    const env = { DAILY_BUDGET_CAP: '7', GAMEDAY_DAILY_CAP_USD: '8', COST_PER_REQUEST: 'abc', MAX_EXPERIMENT_COST: '9' };
    const r = loadConfigWithSources({ configFile: file, env, budgetProblems: (p) => seen.push(...p) });
    expect(seen).toEqual([
      'COST_PER_REQUEST: expected a number, got "abc"',
      'DAILY_BUDGET_CAP=7 and GAMEDAY_DAILY_CAP_USD=8 disagree: set one of them, or both to the same amount',
    ]);
    expect(r.config.budget).toEqual({ costPerRequestUsd: 0.001, maxExperimentUsd: 9, dailyCapUsd: 60 });
    expect(r.budgetSources.dailyCapUsd).toEqual({ kind: 'file', path: file });
    // anything else is still fatal
    expect(problemsOf(() => loadConfigWithSources({ env: { GAMEDAY_METRICS_PORT: 'x' }, budgetProblems: () => {} }))).toEqual([
      'GAMEDAY_METRICS_PORT: expected a number, got "x"',
    ]);
  });

  it('flags take decimal numbers only, like the variables', () => {
    expect(parseNumberFlag('--budget', '7.00', usd)).toBe(7);
    expect(problemsOf(() => parseNumberFlag('--rps', '0x10', rps))).toEqual(['--rps: expected a number, got "0x10"']);
  });
});

describe("the run's experiment cap and where it came from", () => {
  const sources: BudgetSources = {
    ...DEFAULTS,
    maxExperimentUsd: { kind: 'env', name: 'MAX_EXPERIMENT_COST' },
    dailyCapUsd: { kind: 'env', name: 'DAILY_BUDGET_CAP' },
  };
  const config = { maxExperimentUsd: 7, dailyCapUsd: 9 };

  it('--budget as asked (crossCheck refuses too much)', () => {
    expect(experimentCap({ flagUsd: 20, experiment: { usd: 5, path: 'x.yaml' }, ownFile: true, config, sources })).toEqual({
      usd: 20,
      source: { kind: 'flag', name: '--budget' },
      askedBy: '--budget',
    });
  });

  it("the user's own file's budget.budgetUsd as asked", () => {
    expect(experimentCap({ flagUsd: undefined, experiment: { usd: 50, path: 'x.yaml' }, ownFile: true, config, sources })).toEqual({
      usd: 50,
      source: { kind: 'experiment', path: 'x.yaml' },
      askedBy: 'budget.budgetUsd',
    });
  });

  it("a template's suggestion gives way to a lower cap, which is named", () => {
    const t = { usd: 50, path: 'latency.yaml' };
    expect(experimentCap({ flagUsd: undefined, experiment: t, ownFile: false, config, sources })).toEqual({
      usd: 7,
      source: { kind: 'env', name: 'MAX_EXPERIMENT_COST' },
    });
    expect(
      experimentCap({ flagUsd: undefined, experiment: t, ownFile: false, config: { maxExperimentUsd: 100, dailyCapUsd: 9 }, sources }),
    ).toEqual({ usd: 9, source: { kind: 'env', name: 'DAILY_BUDGET_CAP' } });
    // under every cap: the template's own, named; a tie names the template
    expect(
      experimentCap({ flagUsd: undefined, experiment: t, ownFile: false, config: { maxExperimentUsd: 50, dailyCapUsd: 500 }, sources }),
    ).toEqual({ usd: 50, source: { kind: 'experiment', path: 'latency.yaml' } });
  });

  it('no budget anywhere: the lower of the two caps', () => {
    expect(experimentCap({ flagUsd: undefined, experiment: undefined, ownFile: true, config, sources })).toEqual({
      usd: 7,
      source: { kind: 'env', name: 'MAX_EXPERIMENT_COST' },
    });
  });

  it("resolveRunPlan: the issue's command runs with the spec's three values, each named", () => {
    const plan = resolveRunPlan(
      { experimentType: 'latency' },
      { MAX_EXPERIMENT_COST: '7', DAILY_BUDGET_CAP: '9', COST_PER_REQUEST: '0.002' },
    );
    expect(plan.budget).toEqual({
      costPerRequestUsd: 0.002,
      experimentCapUsd: 7,
      dailyCapUsd: 9,
      sources: {
        costPerRequestUsd: { kind: 'env', name: 'COST_PER_REQUEST' },
        experimentCapUsd: { kind: 'env', name: 'MAX_EXPERIMENT_COST' },
        dailyCapUsd: { kind: 'env', name: 'DAILY_BUDGET_CAP' },
      },
    });
    expect(
      resolveRunPlan({ experimentType: 'latency', budget: '5' }, { MAX_EXPERIMENT_COST: '7' }).budget.sources.experimentCapUsd,
    ).toEqual({
      kind: 'flag',
      name: '--budget',
    });
  });

  it('resolveRunPlan: more than the caps is still refused when the user asked for it', () => {
    expect(problemsOf(() => resolveRunPlan({ experimentType: 'latency', budget: '8' }, { MAX_EXPERIMENT_COST: '7' }))).toEqual([
      '--budget: $8 exceeds budget.maxExperimentUsd ($7)',
    ]);
    const own = writeFile(tempDir(), 'own.yaml', 'name: own\nbudget: { budgetUsd: 50 }\nfault: { type: latency, latency: 1ms }\n');
    expect(problemsOf(() => resolveRunPlan({ experiment: own }, { DAILY_BUDGET_CAP: '9' }))).toEqual([
      'budget.budgetUsd: $50 exceeds budget.dailyCapUsd ($9)',
    ]);
  });
});
