// emergency-stop's head start (bin/gameday.js → src/commands/emergency-signal.ts): this machine's
// controllers get the stop signal before the command loads its config or opens the ledger. Shown
// with a stopper whose config is broken (a bad GAMEDAY_METRICS_PORT in its shell): the command
// itself refuses (exit 1), yet the controller has already rolled back. Real CLI processes.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, spawnCli, tempDir, type Spawned } from '../helpers/cli.ts';
import { commandFaultExperiment } from '../helpers/experiments.ts';
import { useCountingTarget } from '../helpers/target.ts';
import { waitUntil } from '../helpers/wait.ts';

const target = useCountingTarget();
const runs: Spawned[] = [];
afterEach(() => {
  for (const r of runs.splice(0)) r.child.kill('SIGKILL');
});

async function observing(name: string, stateDir: string, dir: string) {
  const { file, marker } = commandFaultExperiment({
    dir,
    name,
    targetUrl: target().url,
    rps: 20,
    schedule: '{ warmup: 200ms, baseline: 1s, duration: 60s, recoveryWindow: 1s }',
  });
  const run = spawnCli(['run', '--experiment', file, '--headless', '--output', 'json', '--state-dir', stateDir, '--metrics-port', '0']);
  runs.push(run);
  await run.waitForEvent((e) => e.type === 'phase' && e.phase === 'observe', 30_000);
  expect(existsSync(marker)).toBe(true);
  return { marker, run };
}

describe.runIf(existsSync('/proc/self/stat'))('emergency-stop, head start', () => {
  it('signals the controllers of this state dir before reading the config: a broken config still stops them', async () => {
    const dir = tempDir();
    const stateDir = join(dir, 'state');
    const { marker, run } = await observing('early-stop', stateDir, dir);
    expect(readdirSync(join(stateDir, 'controllers'))).toEqual([`${run.child.pid}.json`]);

    const stop = await runCli(['emergency-stop', '--state-dir', stateDir], { env: { GAMEDAY_METRICS_PORT: 'abc' } });
    expect(stop.code).toBe(1);
    expect(stop.stderr).toContain('GAMEDAY_METRICS_PORT');
    expect(stop.stderr).toContain(`stop signal sent to 1 controller(s) on this machine (pid ${run.child.pid})`);
    await waitUntil(() => !existsSync(marker), 5_000, 'fault removed');
    const r = await run.done;
    expect(r.code).toBe(5);
    // the controller took its record with it
    expect(readdirSync(join(stateDir, 'controllers'))).toEqual([]);
  });

  it('a stopper for another state dir, or with --config, leaves the controller running', async () => {
    const dir = tempDir();
    const stateDir = join(dir, 'state');
    const { marker, run } = await observing('not-mine', stateDir, dir);
    const other = await runCli(['emergency-stop', '--state-dir', join(dir, 'other')], { env: { GAMEDAY_METRICS_PORT: 'abc' } });
    expect(other.code).toBe(1);
    const withConfig = await runCli(['emergency-stop', '--state-dir', stateDir, '--config', join(dir, 'missing.yaml')]);
    expect(withConfig.code).toBe(1);
    expect(`${other.stderr}${withConfig.stderr}`).not.toContain('stop signal sent');
    await new Promise((r) => setTimeout(r, 500));
    expect(existsSync(marker)).toBe(true);
    expect(run.child.exitCode).toBeNull();
    run.child.kill('SIGTERM');
    expect((await run.done).code).toBe(5);
    expect(existsSync(marker)).toBe(false);
  });
});
