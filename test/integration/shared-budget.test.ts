// Eight controllers, one daily cap: the ledger's reservations hold across processes, and the
// target itself counts no more requests than the cap paid for.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/budget/sqlite-ledger.ts';
import { runCli, spawnCli, summaryOf, tempDir, writeFile } from '../helpers/cli.ts';
import { useCountingTarget } from '../helpers/target.ts';

const counting = useCountingTarget();

describe('8 concurrent runs sharing a state dir and a $2 daily cap', () => {
  it('never overspend: ledger day spend ≤ $2.00, target-counted requests × cost ≤ $2.00, every run exits 0 or 4', async () => {
    const target = counting();
    const dir = tempDir();
    const state = join(dir, 'state');
    // A long warm-up: eight processes starting at once on a small machine starve each other for
    // a few seconds, and the steady state must be measured after that storm, not during it.
    const file = writeFile(
      dir,
      'shared.yaml',
      `name: shared-cap
target: { url: "${target.url}" }
traffic: { rps: 20 }
fault: { type: latency, latency: 1ms }
schedule: { warmup: 3s, baseline: 3s, duration: 40s, recoveryWindow: 1s }
`,
    );
    const before = target.count();
    const env = { GAMEDAY_DAILY_CAP_USD: '2', GAMEDAY_COST_PER_REQUEST_USD: '0.001' };
    const runs = Array.from({ length: 8 }, () =>
      spawnCli(
        ['run', '--experiment', file, '--budget', '1', '--headless', '--output', 'json', '--state-dir', state, '--metrics-port', '0'],
        { env, timeoutMs: 150_000 },
      ),
    );
    const results = await Promise.all(runs.map((r) => r.done));
    const codes = results.map((r) => r.code);
    for (const r of results) expect([0, 4], `${r.stderr} ${JSON.stringify(r.events.find((e) => e.type === 'summary'))}`).toContain(r.code);
    expect(codes.filter((c) => c === 4).length).toBeGreaterThan(0);

    const reached = target.count() - before;
    const spent = results.reduce((sum, r) => sum + summaryOf(r).spentUsd, 0);
    const sent = results.reduce((sum, r) => sum + summaryOf(r).requests, 0);
    expect(reached * 0.001).toBeLessThanOrEqual(2.0 + 1e-9);
    expect(reached).toBeLessThanOrEqual(sent);
    expect(spent).toBeCloseTo(sent * 0.001, 6);

    const ledger = Ledger.open(state);
    try {
      const day = ledger.dayTotals();
      expect(day.spentUsd).toBeLessThanOrEqual(2.0);
      expect(day.spentUsd).toBeCloseTo(spent, 6);
      expect(day.reservedUsd).toBe(0);
      expect(ledger.runningExperiments()).toHaveLength(0);
    } finally {
      ledger.close();
    }
    const status = await runCli(['budget-status', '--json', '--state-dir', state], { env });
    const json = JSON.parse(status.stdout);
    expect(json.day.spentUsd).toBeLessThanOrEqual(2.0);
    expect(json.day.capUsd).toBe(2);
  });
});
