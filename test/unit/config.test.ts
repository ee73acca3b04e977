// Config layering (defaults < --config < GAMEDAY_* env < flags) and problems named by field path.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isWholeMicros } from '../../src/config/bounds.ts';
import { loadConfig } from '../../src/config/load.ts';
import { resolveRunPlan } from '../../src/config/plan.ts';
import { parseDurationMs } from '../../src/config/duration.ts';
import { tempDir, writeFile } from '../helpers/cli.ts';
import { problemsOf } from '../helpers/config-problems.ts';

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
    expect(c.slo).toMatchObject({
      p95LatencyMs: 500,
      errorRate: 0.01,
      availability: 0.99,
      healthFailures: 3,
      window: 5000,
      evaluateEvery: 250,
    });
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
    expect(problemsOf(() => loadConfig({ env: { GAMEDAY_DAILY_CAP_USD: 'lots' } }))).toEqual([
      'GAMEDAY_DAILY_CAP_USD: expected a number, got "lots"',
    ]);
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
    const problems = problemsOf(() =>
      resolveRunPlan({ experimentType: 'latency', budget: '101', duration: 'later', rps: '-3', target: 'ftp://x' }, {}),
    );
    expect(problems.join('\n')).toMatch(/--duration/);
    expect(problems.join('\n')).toMatch(/--rps/);
    expect(problems.join('\n')).toMatch(/--target/);
  });

  it('refuses --budget over budget.maxExperimentUsd', () => {
    expect(problemsOf(() => resolveRunPlan({ experimentType: 'latency', budget: '101' }, {}))).toEqual([
      '--budget: $101 exceeds budget.maxExperimentUsd ($100)',
    ]);
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
    expect(problems[0]).toMatch(
      /^fault\.pid: process-kill against a target needs pid or pidFile \(the process-kill template is for the demo/,
    );
    expect(problems[1]).toMatch(/^fault\.restart: process-kill with SIGKILL needs the command that brings the process back/);
  });

  it('against a target: pid or pidFile (not both), restart unless SIGSTOP, no restart with SIGSTOP', () => {
    const dir = tempDir();
    const target = 'target: { url: "http://127.0.0.1:8080" }\n';
    const both = writeFile(
      dir,
      'both.yaml',
      `name: p\n${target}fault: { type: process-kill, pid: 42, pidFile: /run/x.pid, restart: [true] }\n`,
    );
    expect(problemsOf(() => resolveRunPlan({ experiment: both }, {}))).toEqual(['fault.pidFile: give pid or pidFile, not both']);
    const stopWithRestart = writeFile(
      dir,
      'stop.yaml',
      `name: p\n${target}fault: { type: process-kill, pid: 42, signal: SIGSTOP, restart: [true] }\n`,
    );
    expect(problemsOf(() => resolveRunPlan({ experiment: stopWithRestart }, {}))[0]).toMatch(/^fault\.restart: not used with SIGSTOP/);
    const stop = writeFile(dir, 'stop-ok.yaml', `name: p\n${target}fault: { type: process-kill, pidFile: /run/x.pid, signal: SIGSTOP }\n`);
    expect(resolveRunPlan({ experiment: stop }, {}).fault).toMatchObject({ signal: 'SIGSTOP', pidFile: '/run/x.pid' });
    const kill = writeFile(
      dir,
      'kill.yaml',
      `name: p\n${target}fault: { type: process-kill, pid: 42, restart: [systemctl, restart, x], timeout: 5s }\n`,
    );
    expect(resolveRunPlan({ experiment: kill }, {}).fault).toMatchObject({
      pid: 42,
      restart: ['systemctl', 'restart', 'x'],
      timeout: 5000,
    });
  });
});

// Issue 7: every number bounded in one place (src/config/bounds.ts), whatever layer it comes from;
// a value outside is exit 1 at load, named by field path, flag or variable.
describe('bounds, whatever layer a value comes from', () => {
  const exp = (name: string, body: string) => writeFile(tempDir(), `${name}.yaml`, `name: ${name}\n${body}`);
  const conf = (body: string) => writeFile(tempDir(), 'config.yaml', body);

  it('flags go through the field schemas: --rps, --budget and --duration are bounded', () => {
    expect(problemsOf(() => resolveRunPlan({ experimentType: 'latency', rps: '1e9' }, {}))).toEqual(['--rps: at most 100000']);
    expect(problemsOf(() => resolveRunPlan({ experimentType: 'latency', budget: '0.0000001' }, {}))).toEqual([
      '--budget: at least $0.000001 (one micro-dollar, the ledger’s unit)',
    ]);
    expect(problemsOf(() => resolveRunPlan({ experimentType: 'latency', budget: '0.0000014' }, {}))[0]).toMatch(
      /^--budget: must be a whole number of micro-dollars/,
    );
    expect(problemsOf(() => resolveRunPlan({ experimentType: 'latency', duration: '600h' }, {}))).toEqual([
      '--duration: at most 2147483647ms (about 24.8 days: what a timer can hold)',
    ]);
    expect(problemsOf(() => resolveRunPlan({ experimentType: 'latency', rps: 'lots' }, {}))).toEqual([
      '--rps: expected a number, got "lots"',
    ]);
    const plan = resolveRunPlan({ experimentType: 'latency', rps: '100000', budget: '0.000001', duration: ' 2147483647ms ' }, {});
    expect(plan.traffic.rps).toBe(100_000);
    expect(plan.budget.experimentCapUsd).toBe(0.000001);
    expect(plan.schedule.durationMs).toBe(2_147_483_647);
  });

  it('traffic.rps in a config file is bounded as in an experiment file', () => {
    const problems = problemsOf(() => resolveRunPlan({ experimentType: 'latency', config: conf('traffic: { rps: 1e9 }\n') }, {}));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/config\.yaml: traffic\.rps: at most 100000$/);
    expect(problemsOf(() => resolveRunPlan({ experiment: exp('r', 'traffic: { rps: 100001 }\nfault: { type: reset }\n') }, {}))[0]).toMatch(
      /traffic\.rps: at most 100000$/,
    );
  });

  it('an environment variable is checked by its field schema and named', () => {
    expect(problemsOf(() => loadConfig({ env: { GAMEDAY_COST_PER_REQUEST_USD: '0.0000014' } }))).toEqual([
      'GAMEDAY_COST_PER_REQUEST_USD: must be a whole number of micro-dollars (at most 6 decimals): the ledger would round it',
    ]);
    expect(problemsOf(() => loadConfig({ env: { GAMEDAY_DAILY_CAP_USD: '1e10', GAMEDAY_METRICS_PORT: '70000' } }))).toEqual([
      'GAMEDAY_DAILY_CAP_USD: at most $1000000000',
      'GAMEDAY_METRICS_PORT: expected a port 0–65535 (0 = off)',
    ]);
    expect(problemsOf(() => resolveRunPlan({ experimentType: 'latency' }, { GAMEDAY_MAX_EXPERIMENT_USD: '0' }))).toEqual([
      'environment: GAMEDAY_MAX_EXPERIMENT_USD: at least $0.000001 (one micro-dollar, the ledger’s unit)',
    ]);
    expect(loadConfig({ env: { GAMEDAY_COST_PER_REQUEST_USD: '0.000002' } }).budget.costPerRequestUsd).toBe(0.000002);
  });

  it('money is whole micro-dollars: never rounded silently', () => {
    for (const cost of ['0.0000014', '0.0000015', '0.0010001']) {
      expect(problemsOf(() => loadConfig({ configFile: conf(`budget: { costPerRequestUsd: ${cost} }\n`), env: {} }))[0]).toMatch(
        /^budget\.costPerRequestUsd: must be a whole number of micro-dollars/,
      );
    }
    expect(problemsOf(() => loadConfig({ configFile: conf('budget: { dailyCapUsd: 10.0000005 }\n'), env: {} }))[0]).toMatch(
      /^budget\.dailyCapUsd: must be a whole/,
    );
    expect(
      problemsOf(() => resolveRunPlan({ experiment: exp('b', 'fault: { type: reset }\nbudget: { budgetUsd: 0.1234567 }\n') }, {}))[0],
    ).toMatch(/budget\.budgetUsd: must be a whole number of micro-dollars/);
    // float noise of a written decimal is not a fraction of a micro-dollar
    const c = loadConfig({
      configFile: conf('budget: { costPerRequestUsd: 0.30000000000000004, maxExperimentUsd: 123456.123456, dailyCapUsd: 1e9 }\n'),
      env: {},
    });
    expect(c.budget.maxExperimentUsd).toBe(123456.123456);
  });

  it('every duration fits a timer (2^31−1 ms), in the config and the experiment file', () => {
    const timer = 'at most 2147483647ms (about 24.8 days: what a timer can hold)';
    expect(
      problemsOf(() => loadConfig({ configFile: conf('health: { timeout: 600h }\nrollback: { recoveryTimeout: 2147483648 }\n'), env: {} })),
    ).toEqual([`health.timeout: ${timer}`, `rollback.recoveryTimeout: ${timer}`]);
    const e = exp('d', 'fault: { type: latency, latency: 597h }\nschedule: { duration: 1000h }\n');
    expect(problemsOf(() => resolveRunPlan({ experiment: e }, {})).map((p) => p.replace(/^.*?\.yaml: /, ''))).toEqual([
      `fault.latency: ${timer}`,
      `schedule.duration: ${timer}`,
    ]);
    // the proxy holds a request for latency + jitter in one timer
    const sum = exp('j', 'fault: { type: latency, latency: 500h, jitter: 100h }\n');
    expect(problemsOf(() => resolveRunPlan({ experiment: sum }, {}))[0]).toMatch(/fault\.jitter: latency \+ jitter: at most 2147483647ms/);
    // a command timeout of 0 would mean no timeout at all
    const cmd = exp(
      'c',
      'target: { url: "http://127.0.0.1:8080" }\nfault: { type: command, inject: [true], restore: [true], timeout: 0 }\n',
    );
    expect(problemsOf(() => resolveRunPlan({ experiment: cmd }, {}))[0]).toMatch(/fault\.timeout: must be longer than 0$/);
  });

  it('a host:port has a port 1–65535; so has a URL', () => {
    const proxy = (listen: string, upstream = 'http://127.0.0.1:9090') =>
      exp('p', `fault: { type: reset, proxy: { listen: "${listen}", upstream: "${upstream}" } }\n`);
    expect(problemsOf(() => resolveRunPlan({ experiment: proxy('127.0.0.1:70000') }, {}))[0]).toMatch(
      /fault\.proxy\.listen: the port must be 1–65535$/,
    );
    expect(problemsOf(() => resolveRunPlan({ experiment: proxy('127.0.0.1:0') }, {}))[0]).toMatch(
      /fault\.proxy\.listen: the port must be 1–65535$/,
    );
    expect(problemsOf(() => resolveRunPlan({ experiment: proxy('127.0.0.1:7001', 'http://127.0.0.1:0') }, {}))[0]).toMatch(
      /fault\.proxy\.upstream: the port must be 1–65535$/,
    );
    expect(resolveRunPlan({ experiment: proxy('[::1]:65535') }, {}).fault).toMatchObject({ proxy: { listen: '[::1]:65535' } });
    expect(problemsOf(() => resolveRunPlan({ experimentType: 'latency', target: 'http://127.0.0.1:0' }, {}))).toEqual([
      '--target: the port must be 1–65535',
    ]);
  });

  it('schedule.recoveryWindow must be shorter than rollback.recoveryTimeout (else every injecting run ends in exit 6)', () => {
    const window30s = exp('w', 'fault: { type: reset }\nschedule: { recoveryWindow: 30s }\n');
    expect(problemsOf(() => resolveRunPlan({ experiment: window30s }, {}))).toEqual([
      'schedule.recoveryWindow: 30.0s must be shorter than rollback.recoveryTimeout (30.0s), or recovery can never be verified in time',
    ]);
    expect(
      problemsOf(() => resolveRunPlan({ experimentType: 'latency', config: conf('rollback: { recoveryTimeout: 5s }\n') }, {}))[0],
    ).toMatch(/^schedule\.recoveryWindow: .* rollback\.recoveryTimeout/);
    expect(
      resolveRunPlan({ experimentType: 'latency', config: conf('rollback: { recoveryTimeout: 5001ms }\n') }, {}).schedule,
    ).toMatchObject({
      recoveryWindowMs: 5000,
      recoveryTimeoutMs: 5001,
    });
  });

  it('rollback.attempts and rollback.retryDelay are bounded', () => {
    expect(problemsOf(() => loadConfig({ configFile: conf('rollback: { attempts: 11, retryDelay: 6s }\n'), env: {} }))).toEqual([
      'rollback.attempts: at most 10',
      'rollback.retryDelay: at most 5s',
    ]);
    expect(loadConfig({ configFile: conf('rollback: { attempts: 10, retryDelay: 5s }\n'), env: {} }).rollback).toMatchObject({
      attempts: 10,
      retryDelay: 5000,
    });
  });

  it('process-kill refuses pid 1, gameday itself and its parent at load', () => {
    const target = 'target: { url: "http://127.0.0.1:8080" }\n';
    for (const [pid, why] of [
      [1, /^fault\.pid: refusing pid 1 \(init\)/],
      [process.pid, /^fault\.pid: refusing to signal gameday itself/],
      [process.ppid, /^fault\.pid: refusing to signal gameday itself/],
      [2 ** 31, /^fault\.pid: at most 2147483647$/],
    ] as const) {
      const file = exp('k', `${target}fault: { type: process-kill, pid: ${pid}, restart: [true] }\n`);
      const problems = problemsOf(() => resolveRunPlan({ experiment: file }, {})).map((p) => p.replace(/^.*?\.yaml: /, ''));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(why);
    }
  });

  it('other numbers have an upper bound: in flight, samples, health failures, p95, bandwidth', () => {
    const problems = problemsOf(() =>
      loadConfig({
        configFile: conf('traffic: { maxInFlight: 1e9 }\nslo: { minSamples: 1e9, healthFailures: 1e6, p95LatencyMs: 1e10 }\n'),
        env: {},
      }),
    );
    expect(problems).toEqual([
      'slo.p95LatencyMs: at most 3600000 (an hour)',
      'slo.healthFailures: at most 1000',
      'slo.minSamples: at most 6000000 (a full 1m window at 100000 rps)',
      'traffic.maxInFlight: at most 100000',
    ]);
    expect(
      problemsOf(() => resolveRunPlan({ experiment: exp('s', 'fault: { type: reset }\nslo: { minSamples: 6000001 }\n') }, {}))[0],
    ).toMatch(/slo\.minSamples: at most 6000000/);
    expect(problemsOf(() => resolveRunPlan({ experiment: exp('b', 'fault: { type: bandwidth, rateKbps: 1e12 }\n') }, {}))[0]).toMatch(
      /fault\.rateKbps: at most 10000000$/,
    );
    expect(problemsOf(() => resolveRunPlan({ experiment: exp('b', 'fault: { type: bandwidth, rateKbps: 0.001 }\n') }, {}))[0]).toMatch(
      /fault\.rateKbps: at least 1$/,
    );
  });
});

describe('config files are read at most 1 MiB, regular files only', () => {
  const LIMIT = 1024 * 1024;
  // valid YAML of exactly `bytes` bytes: a key, then comment lines
  const yamlOfSize = (bytes: number): string => {
    const head = 'budget: { dailyCapUsd: 40 }\n';
    const line = `#${'x'.repeat(99)}\n`;
    let text = head + line.repeat(Math.floor((bytes - head.length) / line.length));
    text += `#${'x'.repeat(bytes - text.length - 2)}\n`;
    return text;
  };

  it('a file of exactly 1 MiB is read; one byte more is refused', () => {
    const dir = tempDir();
    const atLimit = writeFile(dir, 'at.yaml', yamlOfSize(LIMIT));
    expect(statSync(atLimit).size).toBe(LIMIT);
    expect(loadConfig({ configFile: atLimit, env: {} }).budget.dailyCapUsd).toBe(40);
    const over = writeFile(dir, 'over.yaml', yamlOfSize(LIMIT + 1));
    expect(problemsOf(() => loadConfig({ configFile: over, env: {} }))).toEqual(['larger than 1048576 bytes (1 MiB): refused']);
    expect(problemsOf(() => resolveRunPlan({ experiment: over }, {}))).toEqual([`${over}: larger than 1048576 bytes (1 MiB): refused`]);
  });

  it('/dev/zero, a FIFO and a directory are refused without reading them', () => {
    expect(problemsOf(() => loadConfig({ configFile: '/dev/zero', env: {} }))).toEqual([
      'not a regular file (a device, FIFO or socket is not read)',
    ]);
    expect(problemsOf(() => resolveRunPlan({ experiment: '/dev/zero' }, {}))).toEqual([
      '/dev/zero: not a regular file (a device, FIFO or socket is not read)',
    ]);
    const dir = tempDir();
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]); // no writer: a blocking open would hang here
    expect(problemsOf(() => loadConfig({ configFile: fifo, env: {} }))).toEqual([
      'not a regular file (a device, FIFO or socket is not read)',
    ]);
    expect(problemsOf(() => loadConfig({ configFile: dir, env: {} }))).toEqual(['a directory, not a file']);
  });
});

describe('isWholeMicros', () => {
  it('accepts decimals of at most 6 places up to $1e9, float noise included; refuses any fraction of a micro-dollar', () => {
    for (const usd of [0.000001, 0.001, 0.1 + 0.2, 4.35, 123456789.123456, 999999999.999999, 1e9])
      expect(isWholeMicros(usd), String(usd)).toBe(true);
    for (const usd of [0.0000014, 0.0000015, 0.0000001, 1.0000005, 999999999.0000005]) expect(isWholeMicros(usd), String(usd)).toBe(false);
  });
});
