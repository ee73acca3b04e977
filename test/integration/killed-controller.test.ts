// kill -9 of a controller whose fault lives in its own process (the demo's proxy): no watchdog is
// needed for the fault, but the money must still be right. Its reservation counts as spent,
// budget-status shows it, the next run marks it dead, and nothing is counted twice.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/budget/sqlite-ledger.ts';
import { runCli, spawnCli, tempDir, writeFile } from '../helpers/cli.ts';

describe('a controller killed with SIGKILL mid-run', () => {
  it('keeps its reservation counted as spent, once; the next run marks it dead', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const file = writeFile(
      dir,
      'long.yaml',
      'name: doomed\ntraffic: { rps: 100 }\nfault: { type: latency, latency: 10ms, probability: 0.1 }\nschedule: { baseline: 2s, duration: 120s }\n',
    );
    const run = spawnCli(['run', '--experiment', file, '--headless', '--output', 'json', '--state-dir', state, '--metrics-port', '0']);
    await run.waitForEvent((e) => e.type === 'phase' && e.phase === 'observe');
    run.child.kill('SIGKILL');
    await run.done;

    // before anybody recovers it: still "running", its reservation held and counted in the day
    const statusBefore = JSON.parse((await runCli(['budget-status', '--json', '--state-dir', state])).stdout);
    const doomed = statusBefore.experiments.find((e: { name: string }) => e.name === 'doomed');
    expect(doomed.status).toBe('running');
    const heldUsd = statusBefore.day.spentUsd + statusBefore.day.reservedUsd;
    expect(heldUsd).toBeGreaterThan(0);

    // the next run (refused here by a bad target, after recovery) marks it dead
    const next = await runCli([
      'run',
      '--experiment-type',
      'latency',
      '--target',
      'http://127.0.0.1:9',
      '--headless',
      '--output',
      'json',
      '--state-dir',
      state,
      '--metrics-port',
      '0',
    ]);
    expect(next.code).toBe(2);
    expect(next.stderr).toMatch(/controller died: doomed/);

    const ledger = Ledger.open(state);
    try {
      const row = ledger.recentExperiments(10).find((e) => e.name === 'doomed')!;
      expect(row.status).toBe('dead');
      expect(row.reservedUsd).toBe(0);
      // everything it had reserved is now spent; the day's total did not move
      const day = ledger.dayTotals();
      expect(day.spentUsd).toBeCloseTo(heldUsd, 9);
      expect(row.spentUsd).toBeCloseTo(heldUsd, 9);
    } finally {
      ledger.close();
    }
    // recovering again counts nothing twice
    const again = await runCli(['recover', '--state-dir', state]);
    expect(again.code).toBe(0);
    const statusAfter = JSON.parse((await runCli(['budget-status', '--json', '--state-dir', state])).stdout);
    expect(statusAfter.day.spentUsd).toBeCloseTo(heldUsd, 9);
    expect(statusAfter.experiments.find((e: { name: string }) => e.name === 'doomed').status).toBe('dead');
  });
});
