// Refusals, signals and the budget: the paths where gameday must inject nothing, or take the fault out.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJournal } from '../../src/headless/journal.ts';
import { runCli, spawnCli, summaryOf, tempDir, writeFile } from '../helpers/cli.ts';
import { useCountingTarget } from '../helpers/target.ts';
import { commandFaultExperiment } from '../helpers/experiments.ts';
import { waitUntil } from '../helpers/wait.ts';

const json = (dir: string) => ['--headless', '--output', 'json', '--state-dir', dir, '--metrics-port', '0'];
const counting = useCountingTarget();

describe('bad input changes nothing (exit 1)', () => {
  it('a malformed experiment file names each bad field and touches no state', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const file = writeFile(dir, 'bad.yaml', 'name: bad\ntraffic: { rps: -5 }\nfault: { type: latency, latency: fast }\nschedul: {}\n');
    const r = await runCli(['run', '--experiment', file, '--headless', '--state-dir', state]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('fault.latency');
    expect(r.stderr).toContain('traffic.rps');
    expect(r.stderr).toContain('schedul');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(state)).toBe(false);
  });

  it('an unknown --experiment-type lists the types', async () => {
    const r = await runCli(['run', '--experiment-type', 'meteor', '--headless', '--state-dir', tempDir()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown type "meteor"/);
    for (const t of ['latency', 'errors', 'blackhole', 'reset', 'bandwidth', 'process-kill']) expect(r.stderr).toContain(t);
  });

  it('validate lists every problem by field path and exits 1; a good file exits 0', async () => {
    const dir = tempDir();
    const bad = writeFile(dir, 'bad.yaml', 'name: x\nfault: { type: errors, status: 200, probability: 2 }\nbudget: { budgetUsd: 1000 }\n');
    const r = await runCli(['validate', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('fault.status');
    expect(r.stderr).toContain('fault.probability');
    const good = await runCli(['validate', join(import.meta.dirname, '..', '..', 'config', 'experiments', 'latency.yaml')]);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).toContain('ok');
  });
});

describe('preflight refuses (exit 2) and injects nothing', () => {
  it('a target that is down', async () => {
    const dir = tempDir();
    const r = await runCli(['run', '--experiment-type', 'latency', '--target', 'http://127.0.0.1:9', ...json(dir)]);
    expect(r.code, r.stderr).toBe(2);
    const s = summaryOf(r);
    expect(s.status).toBe('refused');
    expect(s.reason).toMatch(/target reachable/);
    expect(r.events.some((e) => e.type === 'phase' && e.phase === 'inject')).toBe(false);
    expect(s.requests).toBe(0);
  });

  it('a baseline whose steady state does not hold', async () => {
    const target = counting();
    const dir = tempDir();
    target.healthy = false;
    try {
      const file = writeFile(
        dir,
        'e.yaml',
        `name: unhealthy\ntarget: { url: "${target.url}" }\nfault: { type: latency, latency: 10ms }\nschedule: { baseline: 2s, duration: 5s }\n`,
      );
      const r = await runCli(['run', '--experiment', file, ...json(dir)]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.events.some((e) => e.type === 'phase' && e.phase === 'inject')).toBe(false);
    } finally {
      target.healthy = true;
    }
  });
});

describe('signals', () => {
  it('SIGTERM during observation exits 5 with the fault removed', async () => {
    const target = counting();
    const dir = tempDir();
    const { file, marker } = commandFaultExperiment({ dir, name: 'command-fault', targetUrl: target.url });
    const run = spawnCli(['run', '--experiment', file, ...json(dir)]);
    await run.waitForEvent((e) => e.type === 'phase' && e.phase === 'observe');
    expect(existsSync(marker)).toBe(true);
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code, r.stderr).toBe(5);
    expect(existsSync(marker)).toBe(false);
    const s = summaryOf(r);
    expect(s.status).toBe('stopped');
    expect(s.faultRemoved).toBe(true);
  });
});

describe('the reader of the output goes away', () => {
  it('a closed stdout (EPIPE) mid-run rolls back and exits 5; the journal has it all', async () => {
    const target = counting();
    const dir = tempDir();
    const { file, marker } = commandFaultExperiment({ dir, name: 'reader-gone', targetUrl: target.url });
    const journal = join(dir, 'journal.json');
    // text output: a status line every second, so the next write after the hang-up fails
    const run = spawnCli(['run', '--experiment', file, '--headless', '--state-dir', dir, '--metrics-port', '0', '--journal', journal]);
    await waitUntil(() => existsSync(marker), 30_000, 'the fault is in');
    run.child.stdout!.destroy(); // `| head` exits: our end of the pipe closes
    const r = await run.done;
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).not.toMatch(/EPIPE|internal error/);
    expect(existsSync(marker)).toBe(false);
    const j = await readJournal(journal);
    expect(j.summary?.exitCode).toBe(5);
    expect(j.summary?.faultRemoved).toBe(true);
    expect(j.summary?.reason).toMatch(/standard output closed \(EPIPE\)/);
  });
});

describe('a rollback that fails', () => {
  it('is retried, escalated loudly, and exits 6', async () => {
    const target = counting();
    const dir = tempDir();
    const file = writeFile(
      dir,
      'stuck.yaml',
      `name: stuck-fault\ntarget: { url: "${target.url}" }\ntraffic: { rps: 30 }\nfault: { type: command, inject: ["true"], restore: ["false"] }\nschedule: { baseline: 1s, duration: 1s, recoveryWindow: 1s }\n`,
    );
    const r = await runCli(['run', '--experiment', file, ...json(dir)]);
    expect(r.code, r.stderr).toBe(6);
    const s = summaryOf(r);
    expect(s.status).toBe('rollback-failed');
    expect(s.faultRemoved).toBe(false);
    expect(s.reason).toMatch(/FAULT MAY REMAIN/);
    const failedAttempts = r.events.filter((e) => e.type === 'rollback' && e.step === 'remove-fault' && e.result === 'failed');
    expect(failedAttempts).toHaveLength(3); // rollback.attempts
    expect(r.events.some((e) => e.type === 'error' && e.fatal && /ROLLBACK FAILED/.test(e.message))).toBe(true);
  });
});

describe('budget', () => {
  it('spend equals requests × cost, never exceeds --budget, and reaching it stops and rolls back (exit 4)', async () => {
    const target = counting();
    const dir = tempDir();
    const before = target.count();
    const file = writeFile(
      dir,
      'b.yaml',
      `name: small-budget\ntarget: { url: "${target.url}" }\ntraffic: { rps: 100 }\nfault: { type: latency, latency: 1ms }\nschedule: { baseline: 2s, duration: 60s, recoveryWindow: 1s }\n`,
    );
    const r = await runCli(['run', '--experiment', file, '--budget', '0.5', ...json(dir)]);
    expect(r.code, r.stderr).toBe(4);
    const s = summaryOf(r);
    expect(s.status).toBe('budget');
    expect(s.faultRemoved).toBe(true);
    expect(s.requests).toBe(500);
    expect(s.spentUsd).toBeCloseTo(0.5, 9);
    expect(s.spentUsd).toBeLessThanOrEqual(0.5);
    // counted by the target itself: nothing was sent that was not paid for
    expect(target.count() - before).toBeLessThanOrEqual(500);
    expect(target.count() - before).toBeGreaterThanOrEqual(495);
    const crossings = r.events.filter((e) => e.type === 'budget').map((e) => (e.type === 'budget' ? `${e.scope}:${e.thresholdPct}` : ''));
    expect(crossings).toEqual(expect.arrayContaining(['experiment:50', 'experiment:80', 'experiment:100']));
  });
});
