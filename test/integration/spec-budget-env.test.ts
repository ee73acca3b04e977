// Issue 14: the spec configures budgets with MAX_EXPERIMENT_COST, DAILY_BUDGET_CAP and
// COST_PER_REQUEST. Through the spec's own script (bash, a real child process, the embedded demo):
// each one is the amount the run charges and caps at, budget-status shows it and names it; a
// conflict with its GAMEDAY_* twin or a bad value is exit 1, named, with nothing spent.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GamedayEvent } from '../../src/engine/events.ts';
import { runCli, summaryOf, tempDir, writeFile, type CliResult } from '../helpers/cli.ts';

const viaScript = (args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> =>
  runCli(args, { env, timeoutMs, viaSpecScript: true });

/** A short, gentle experiment against the demo, with no budget of its own: the caps decide. */
function shortExperiment(dir: string): string {
  return writeFile(
    dir,
    'short.yaml',
    `name: spec-budget
traffic: { rps: 20 }
fault: { type: latency, latency: 1ms }
schedule: { warmup: 0s, baseline: 1s, duration: 1s, recoveryWindow: 1s }
`,
  );
}

const runArgs = (file: string) => ['run', '--experiment', file, '--headless', '--output', 'json', '--metrics-port', '0'];

async function statusJson(env: NodeJS.ProcessEnv) {
  const r = await viaScript(['budget-status', '--json'], env, 30_000);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

const preflightBudget = (events: GamedayEvent[]) => {
  const e = events.find((x) => x.type === 'preflight' && x.check === 'budget settings');
  return e && e.type === 'preflight' ? e.budget : undefined;
};

const DEFAULT = { kind: 'default' };

const CASES = [
  {
    variable: 'MAX_EXPERIMENT_COST',
    value: '7',
    budget: { costPerRequestUsd: 0.001, experimentCapUsd: 7, dailyCapUsd: 500 },
    sources: { costPerRequestUsd: DEFAULT, experimentCapUsd: { kind: 'env', name: 'MAX_EXPERIMENT_COST' }, dailyCapUsd: DEFAULT },
    config: { costPerRequestUsd: 0.001, maxExperimentUsd: 7, dailyCapUsd: 500 },
    configField: 'maxExperimentUsd',
  },
  {
    variable: 'DAILY_BUDGET_CAP',
    value: '9',
    // the experiment's cap is the lower of the two caps, here the day's
    budget: { costPerRequestUsd: 0.001, experimentCapUsd: 9, dailyCapUsd: 9 },
    sources: {
      costPerRequestUsd: DEFAULT,
      experimentCapUsd: { kind: 'env', name: 'DAILY_BUDGET_CAP' },
      dailyCapUsd: { kind: 'env', name: 'DAILY_BUDGET_CAP' },
    },
    config: { costPerRequestUsd: 0.001, maxExperimentUsd: 100, dailyCapUsd: 9 },
    configField: 'dailyCapUsd',
  },
  {
    variable: 'COST_PER_REQUEST',
    value: '0.002',
    budget: { costPerRequestUsd: 0.002, experimentCapUsd: 100, dailyCapUsd: 500 },
    sources: { costPerRequestUsd: { kind: 'env', name: 'COST_PER_REQUEST' }, experimentCapUsd: DEFAULT, dailyCapUsd: DEFAULT },
    config: { costPerRequestUsd: 0.002, maxExperimentUsd: 100, dailyCapUsd: 500 },
    configField: 'costPerRequestUsd',
  },
] as const;

describe("the spec's budget variables through scripts/chaos-engineering.sh", () => {
  it.each(CASES)('$variable=$value: the run charges and caps by it, budget-status shows and names it', async (c) => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const env = { GAMEDAY_STATE_DIR: state, [c.variable]: c.value };
    const r = await viaScript(runArgs(shortExperiment(dir)), env);
    const s = summaryOf(r);
    expect([0, 3], r.stderr).toContain(r.code);
    expect(s.requests).toBeGreaterThan(0);
    // the run's summary and its preflight: the numbers set, each named
    const expected = { ...c.budget, sources: c.sources };
    expect(s.budget).toEqual(expected);
    expect(preflightBudget(r.events)).toEqual(expected);
    // what the run actually did with them: every tick's caps and price, and the spend
    const ticks = r.events.filter((e) => e.type === 'tick');
    expect(ticks.length).toBeGreaterThan(0);
    for (const t of ticks) {
      if (t.type !== 'tick') continue;
      expect(t.budget).toMatchObject({
        costPerRequestUsd: c.budget.costPerRequestUsd,
        experimentCapUsd: c.budget.experimentCapUsd,
        dayCapUsd: c.budget.dailyCapUsd,
      });
    }
    expect(s.spentUsd).toBeCloseTo(s.requests * c.budget.costPerRequestUsd, 9);

    const status = await statusJson(env);
    expect(status.config).toEqual({
      ...c.config,
      sources: {
        costPerRequestUsd: DEFAULT,
        maxExperimentUsd: DEFAULT,
        dailyCapUsd: DEFAULT,
        [c.configField]: { kind: 'env', name: c.variable },
      },
    });
    expect(status.day.capUsd).toBe(c.config.dailyCapUsd);
    expect(status.day.spentUsd).toBeCloseTo(s.spentUsd, 9);
    expect(status.experiments).toHaveLength(1);

    // the same variable in conflict with its GAMEDAY_* twin: exit 1, both named, nothing spent
    const twin = {
      MAX_EXPERIMENT_COST: 'GAMEDAY_MAX_EXPERIMENT_USD',
      DAILY_BUDGET_CAP: 'GAMEDAY_DAILY_CAP_USD',
      COST_PER_REQUEST: 'GAMEDAY_COST_PER_REQUEST_USD',
    }[c.variable];
    const conflict = await viaScript(runArgs(shortExperiment(dir)), { ...env, [twin]: '3' }, 30_000);
    expect(conflict.code, conflict.stderr).toBe(1);
    expect(conflict.stderr).toContain(`${c.variable}=${c.value} and ${twin}=3 disagree`);
    expect(conflict.events).toEqual([]);
    const after = await statusJson(env);
    expect(after.experiments).toEqual(status.experiments);
    expect(after.day).toEqual(status.day);
  });

  it("the issue's command: all three set, the default template, text output: each number as set, each named", async () => {
    const state = join(tempDir(), 'state');
    const env = { GAMEDAY_STATE_DIR: state, MAX_EXPERIMENT_COST: '7', DAILY_BUDGET_CAP: '9', COST_PER_REQUEST: '0.002' };
    const r = await viaScript(['run', '--headless', '--duration', '1s', '--metrics-port', '0'], env);
    expect([0, 3], r.stderr).toContain(r.code);
    const named = '$0.002 per request (COST_PER_REQUEST), experiment cap $7 (MAX_EXPERIMENT_COST), daily cap $9 (DAILY_BUDGET_CAP)';
    expect(r.stdout).toContain(`✓ budget settings: ${named}\n`);
    expect(r.stdout).toContain(`  budget:        ${named}\n`);
    expect(r.stdout).toMatch(/\$7\.00 available/);
    const spent = /spent: +\$(\d+\.\d+) for (\d+) requests/.exec(r.stdout);
    expect(spent, r.stdout).not.toBeNull();
    expect(Number(spent![1])).toBeCloseTo(Number(spent![2]) * 0.002, 3);
    const status = await statusJson(env);
    expect(status.config).toEqual({
      costPerRequestUsd: 0.002,
      maxExperimentUsd: 7,
      dailyCapUsd: 9,
      sources: {
        costPerRequestUsd: { kind: 'env', name: 'COST_PER_REQUEST' },
        maxExperimentUsd: { kind: 'env', name: 'MAX_EXPERIMENT_COST' },
        dailyCapUsd: { kind: 'env', name: 'DAILY_BUDGET_CAP' },
      },
    });
    const table = await viaScript(['budget-status'], env, 30_000);
    expect(table.stdout).toMatch(/experiment cap \(max\)\s+\$7\.00\s+MAX_EXPERIMENT_COST\n/);
  });
});

describe('bad values and conflicts: exit 1, the variable named, nothing touched', () => {
  const BAD: Array<[string, string, RegExp]> = [
    ['MAX_EXPERIMENT_COST', 'abc', /MAX_EXPERIMENT_COST: expected a number, got "abc"/],
    ['DAILY_BUDGET_CAP', '-1', /DAILY_BUDGET_CAP: at least \$0\.000001/],
    ['COST_PER_REQUEST', '0.0000001', /COST_PER_REQUEST: at least \$0\.000001/],
    ['MAX_EXPERIMENT_COST', '1e12', /MAX_EXPERIMENT_COST: at most \$1000000000/],
    ['DAILY_BUDGET_CAP', '', /DAILY_BUDGET_CAP: empty/],
    ['COST_PER_REQUEST', 'Infinity', /COST_PER_REQUEST: expected a number, got "Infinity"/],
    ['DAILY_BUDGET_CAP', '0x10', /DAILY_BUDGET_CAP: expected a number, got "0x10"/],
    ['COST_PER_REQUEST', '0.0010001', /COST_PER_REQUEST: must be a whole number of micro-dollars/],
  ];

  it.each(BAD)('%s=%j: run through the script is exit 1, no state dir created', async (variable, value, message) => {
    const state = join(tempDir(), 'state');
    const r = await viaScript(
      ['run', '--headless', '--duration', '1s', '--metrics-port', '0'],
      { GAMEDAY_STATE_DIR: state, [variable]: value },
      30_000,
    );
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(state)).toBe(false);
  });

  it('every command that loads the config refuses a conflict the same way; emergency-stop and recover warn and go on', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const env = { GAMEDAY_STATE_DIR: state, DAILY_BUDGET_CAP: '9', GAMEDAY_DAILY_CAP_USD: '9.5' };
    const named = 'DAILY_BUDGET_CAP=9 and GAMEDAY_DAILY_CAP_USD=9.5 disagree';
    const file = shortExperiment(dir);
    for (const args of [
      ['run', '--experiment', file, '--headless'],
      ['budget-status'],
      ['budget-status', '--json'],
      ['exporter', '--port', '0'],
      ['validate', file],
      ['drill', file],
    ]) {
      const r = await viaScript(args, env, 30_000);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr, args.join(' ')).toContain(named);
      expect(r.stdout, args.join(' ')).toBe('');
    }
    expect(existsSync(state)).toBe(false);
    // they spend nothing and read no cap: stopping and rolling back must not fail on a budget typo
    for (const args of [['emergency-stop'], ['emergency-stop', '--clear'], ['recover']]) {
      const r = await viaScript(args, env, 30_000);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(r.stderr, args.join(' ')).toContain(`gameday: warning: ${named}`);
    }
    // the same amount under both names is one setting
    const same = await statusJson({ GAMEDAY_STATE_DIR: state, DAILY_BUDGET_CAP: '9', GAMEDAY_DAILY_CAP_USD: '9.00' });
    expect(same.config.dailyCapUsd).toBe(9);
    expect(same.config.sources.dailyCapUsd).toEqual({ kind: 'env', name: 'GAMEDAY_DAILY_CAP_USD' });
    expect(same.day.spentUsd).toBe(0);
    expect(same.experiments).toEqual([]);
  });
});
