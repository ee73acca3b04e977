// The dead man's switch: kill -9 the controller while an external fault is in; the watchdog it
// started before injecting rolls the fault back, and the ledger counts the reservation as spent.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/budget/sqlite-ledger.ts';
import { runCli, spawnCli, tempDir } from '../helpers/cli.ts';
import { commandFaultExperiment } from '../helpers/experiments.ts';
import { useCountingTarget } from '../helpers/target.ts';
import { waitUntil } from '../helpers/wait.ts';

const counting = useCountingTarget();

describe('watchdog', () => {
  it('rolls back an external fault when its controller is killed with SIGKILL', async () => {
    const target = counting();
    const dir = tempDir();
    const state = join(dir, 'state');
    const { file, marker } = commandFaultExperiment({
      dir,
      name: 'killed-controller',
      targetUrl: target.url,
      schedule: '{ baseline: 2s, duration: 60s }',
    });
    const run = spawnCli(['run', '--experiment', file, '--headless', '--output', 'json', '--state-dir', state, '--metrics-port', '0']);
    await run.waitForEvent((e) => e.type === 'phase' && e.phase === 'observe');
    expect(existsSync(marker)).toBe(true);
    run.child.kill('SIGKILL');
    await run.done;
    const tookMs = await waitUntil(() => !existsSync(marker), 10_000);
    expect(tookMs).toBeLessThan(10_000);

    const ledger = Ledger.open(state);
    try {
      // the watchdog records the recovery just after its restore command returns
      await waitUntil(() => ledger.recentExperiments(1)[0].recoveredMs !== null, 5_000);
      const [row] = ledger.recentExperiments(1);
      expect(row.status).toBe('dead');
      expect(row.recoveredMs).not.toBeNull();
      // its whole reservation counts as spent, once
      const day = ledger.dayTotals();
      expect(day.spentUsd).toBeCloseTo(row.spentUsd, 9);
      expect(day.reservedUsd).toBe(0);
      expect(row.spentUsd).toBeGreaterThan(0);
    } finally {
      ledger.close();
    }
    // budget-status shows it; the next run does not count it again
    const status = await runCli(['budget-status', '--json', '--state-dir', state]);
    expect(status.code, status.stderr).toBe(0);
    const json = JSON.parse(status.stdout);
    expect(json.experiments[0].status).toBe('dead');
  });
});
