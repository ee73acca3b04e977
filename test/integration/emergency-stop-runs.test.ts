// The safety lever with real controllers: three `gameday run` processes share a state dir; one
// `gameday emergency-stop` stops them all, their faults come out, and the latch holds.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, spawnCli, summaryOf, tempDir, writeFile } from '../helpers/cli.ts';
import { useCountingTarget } from '../helpers/target.ts';
import { commandFaultExperiment } from '../helpers/experiments.ts';

const counting = useCountingTarget();

describe('emergency-stop with three experiments running', () => {
  it('stops all within 1 s (exit 5), removes every fault, and refuses new runs until --clear', async () => {
    const target = counting();
    const dir = tempDir();
    const state = join(dir, 'state');
    const experiments = [0, 1, 2].map((i) =>
      commandFaultExperiment({ dir, name: `stop-me-${i}`, targetUrl: target.url, rps: 30, schedule: '{ baseline: 2s, duration: 120s }' }),
    );
    const runs = experiments.map(({ file }) =>
      spawnCli(['run', '--experiment', file, '--headless', '--output', 'json', '--state-dir', state, '--metrics-port', '0']),
    );
    await Promise.all(runs.map((r) => r.waitForEvent((e) => e.type === 'phase' && e.phase === 'observe')));
    for (const { marker } of experiments) expect(existsSync(marker)).toBe(true);

    const exitedAt: number[] = [];
    const results = runs.map((r) => r.done.then((res) => (exitedAt.push(Date.now()), res)));
    const stop = spawnCli(['emergency-stop', '--state-dir', state]);
    // time from the latch (the command's first line) to the last controller's exit
    const latchedAt = await new Promise<number>((resolve) => stop.child.stdout!.once('data', () => resolve(Date.now())));
    const all = await Promise.all(results);
    const stopResult = await stop.done;

    expect(stopResult.code, stopResult.stdout + stopResult.stderr).toBe(0);
    for (const r of all) {
      expect(r.code, r.stderr).toBe(5);
      expect(summaryOf(r).faultRemoved).toBe(true);
      expect(r.events.some((e) => e.type === 'emergency-stop')).toBe(true);
    }
    for (const { marker } of experiments) expect(existsSync(marker)).toBe(false);
    expect(Math.max(...exitedAt) - latchedAt).toBeLessThan(1000);

    // latched: a new run is refused before anything starts
    const refused = await runCli([
      'run',
      '--experiment',
      experiments[0].file,
      '--headless',
      '--output',
      'json',
      '--state-dir',
      state,
      '--metrics-port',
      '0',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/emergency stop is latched/);

    const clear = await runCli(['emergency-stop', '--clear', '--state-dir', state]);
    expect(clear.code).toBe(0);
    const quick = writeFile(
      dir,
      'quick.yaml',
      `name: after-clear\ntarget: { url: "${target.url}" }\ntraffic: { rps: 30 }\nfault: { type: latency, latency: 1ms }\nschedule: { baseline: 1s, duration: 1s, recoveryWindow: 1s }\n`,
    );
    const after = await runCli([
      'run',
      '--experiment',
      quick,
      '--headless',
      '--output',
      'json',
      '--state-dir',
      state,
      '--metrics-port',
      '0',
    ]);
    expect(after.code, after.stderr).toBe(0);
  });
});
