// Config layering (defaults < --config < GAMEDAY_* env < flags) and problems named by field path.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.ts';
import { loadConfig } from '../../src/config/load.ts';
import { resolveRunPlan } from '../../src/config/plan.ts';
import { parseDurationMs } from '../../src/config/duration.ts';
import { tempDir, writeFile } from '../helpers/cli.ts';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('durations', () => {
  it('parses ms, s, m, h and refuses anything else', () => {
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('1.5s')).toBe(1500);
    expect(parseDurationMs('2m')).toBe(120_000);
    expect(parseDurationMs('1h')).toBe(3_600_000);
    expect(parseDurationMs('soon')).toBeUndefined();
    expect(parseDurationMs('10')).toBeUndefined();
  });
});

describe('loadConfig', () => {
  it('has the spec defaults', () => {
    const c = loadConfig({ env: {} });
    expect(c.budget).toEqual({ costPerRequestUsd: 0.001, maxExperimentUsd: 100, dailyCapUsd: 500 });
    expect(c.slo).toMatchObject({ p95LatencyMs: 500, errorRate: 0.01, availability: 0.99, healthFailures: 3, window: 5000, evaluateEvery: 250 });
    expect(c.metrics).toEqual({ port: 9464, host: '127.0.0.1' });
  });

  it('layers defaults < file < env < flags', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'c.yaml', 'budget: { dailyCapUsd: 50, maxExperimentUsd: 20 }\nslo: { p95LatencyMs: 300 }\n');
    const c = loadConfig({ configFile: file, env: { GAMEDAY_DAILY_CAP_USD: '40' }, flags: { metrics: { port: 0 } } });
    expect(c.budget.maxExperimentUsd).toBe(20); // file
    expect(c.budget.dailyCapUsd).toBe(40); // env over file
    expect(c.budget.costPerRequestUsd).toBe(0.001); // default
    expect(c.slo.p95LatencyMs).toBe(300);
    expect(c.slo.errorRate).toBe(0.01);
    expect(c.metrics.port).toBe(0); // flag
  });

  it('names every bad field of a config file by path, and unknown keys', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'bad.yaml', 'budget: { dailyCapUsd: -1 }\nslo: { window: forever, errorRate: 2 }\nmetrix: {}\n');
    const problems = problemsOf(() => loadConfig({ configFile: file, env: {} }));
    expect(problems.join('\n')).toMatch(/budget\.dailyCapUsd/);
    expect(problems.join('\n')).toMatch(/slo\.window/);
    expect(problems.join('\n')).toMatch(/slo\.errorRate/);
    expect(problems.join('\n')).toMatch(/metrix: unknown field/);
  });

  it('names a bad environment variable', () => {
    expect(problemsOf(() => loadConfig({ env: { GAMEDAY_DAILY_CAP_USD: 'lots' } }))).toEqual(['GAMEDAY_DAILY_CAP_USD: expected a number, got "lots"']);
  });

  it('reports YAML syntax errors and missing files plainly', () => {
    const dir = tempDir();
    expect(problemsOf(() => loadConfig({ configFile: writeFile(dir, 'x.yaml', 'budget: [\n'), env: {} }))[0]).toMatch(/^YAML:/);
    expect(problemsOf(() => loadConfig({ configFile: `${dir}/nope.yaml`, env: {} }))).toEqual(['file not found']);
  });
});

describe('resolveRunPlan', () => {
  it('applies flags over the experiment, in their units', () => {
    const plan = resolveRunPlan({ experimentType: 'latency', budget: '5', duration: '2m', rps: '50', metricsPort: '0' }, {});
    expect(plan.budget.experimentCapUsd).toBe(5);
    expect(plan.schedule.durationMs).toBe(120_000);
    expect(plan.traffic.rps).toBe(50);
    expect(plan.metrics.port).toBe(0);
    expect(plan.targetUrl).toBeUndefined(); // the demo
    expect(plan.rollback).toEqual([{ type: 'traffic-shift' }]);
  });

  it('refuses a budget above the per-experiment cap, and collects every flag problem at once', () => {
    const problems = problemsOf(() => resolveRunPlan({ experimentType: 'latency', budget: '101', duration: 'later', rps: '-3', target: 'ftp://x' }, {}));
    expect(problems.join('\n')).toMatch(/--duration/);
    expect(problems.join('\n')).toMatch(/--rps/);
    expect(problems.join('\n')).toMatch(/--target/);
  });

  it('refuses --budget over budget.maxExperimentUsd', () => {
    expect(problemsOf(() => resolveRunPlan({ experimentType: 'latency', budget: '101' }, {}))).toEqual(['--budget: $101 exceeds budget.maxExperimentUsd ($100)']);
  });

  it('leaves the template traffic-shift out with --target (only the demo has a standby)', () => {
    const plan = resolveRunPlan({ experimentType: 'latency', target: 'http://127.0.0.1:8080' }, {});
    expect(plan.rollback).toEqual([]);
    expect(plan.targetUrl).toBe('http://127.0.0.1:8080');
  });

  it('needs a target for command faults', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'cmd.yaml', 'name: c\nfault: { type: command, inject: [true], restore: [true] }\n');
    expect(problemsOf(() => resolveRunPlan({ experiment: file }, {})).join('\n')).toMatch(/fault\.type: command needs a target/);
  });
});

describe('process-kill', () => {
  it('the template runs against the demo, which supplies the process and its restart', () => {
    const plan = resolveRunPlan({ experimentType: 'process-kill' }, {});
    expect(plan.fault).toMatchObject({ type: 'process-kill', signal: 'SIGKILL' });
    expect(plan.targetUrl).toBeUndefined();
  });

  it('against the demo, refuses a pid, a pid file or a restart of the user', () => {
    const dir = tempDir();
    const file = writeFile(dir, 'pk.yaml', 'name: p\nfault: { type: process-kill, pid: 4242, restart: [true] }\n');
    const problems = problemsOf(() => resolveRunPlan({ experiment: file }, {}));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^fault\.pid: against the embedded demo/);
    expect(problems[1]).toMatch(/^fault\.restart: against the embedded demo/);
  });

  it('the template with --target names the missing fields and points to a file of your own', () => {
    const problems = problemsOf(() => resolveRunPlan({ experimentType: 'process-kill', target: 'http://127.0.0.1:8080' }, {}));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^fault\.pid: process-kill against a target needs pid or pidFile \(the process-kill template is for the demo/);
    expect(problems[1]).toMatch(/^fault\.restart: process-kill with SIGKILL needs the command that brings the process back/);
  });

  it('against a target: pid or pidFile (not both), restart unless SIGSTOP, no restart with SIGSTOP', () => {
    const dir = tempDir();
    const target = 'target: { url: "http://127.0.0.1:8080" }\n';
    const both = writeFile(dir, 'both.yaml', `name: p\n${target}fault: { type: process-kill, pid: 42, pidFile: /run/x.pid, restart: [true] }\n`);
    expect(problemsOf(() => resolveRunPlan({ experiment: both }, {}))).toEqual(['fault.pidFile: give pid or pidFile, not both']);
    const stopWithRestart = writeFile(dir, 'stop.yaml', `name: p\n${target}fault: { type: process-kill, pid: 42, signal: SIGSTOP, restart: [true] }\n`);
    expect(problemsOf(() => resolveRunPlan({ experiment: stopWithRestart }, {}))[0]).toMatch(/^fault\.restart: not used with SIGSTOP/);
    const stop = writeFile(dir, 'stop-ok.yaml', `name: p\n${target}fault: { type: process-kill, pidFile: /run/x.pid, signal: SIGSTOP }\n`);
    expect(resolveRunPlan({ experiment: stop }, {}).fault).toMatchObject({ signal: 'SIGSTOP', pidFile: '/run/x.pid' });
    const kill = writeFile(dir, 'kill.yaml', `name: p\n${target}fault: { type: process-kill, pid: 42, restart: [systemctl, restart, x], timeout: 5s }\n`);
    expect(resolveRunPlan({ experiment: kill }, {}).fault).toMatchObject({ pid: 42, restart: ['systemctl', 'restart', 'x'], timeout: 5000 });
  });
});
