// gameday budget-status: the stable JSON, the table, and the failure modes.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatUsd, type BudgetConfig } from '../../src/budget/budget-status.ts';
import { LEDGER_FILE, Ledger } from '../../src/budget/sqlite-ledger.ts';
import { budgetStatusCommand } from '../../src/commands/budget-status.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gameday-status-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function run(opts: { json: boolean; dailyCapUsd?: number; config?: BudgetConfig }) {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d) => (stdout += d));
  err.on('data', (d) => (stderr += d));
  const code = await budgetStatusCommand({ stateDir: dir, ...opts, out, err });
  return { code, stdout, stderr };
}

describe('budget-status', () => {
  it('a state dir without a ledger: an empty status, and no ledger created', async () => {
    const { code, stdout } = await run({ json: true, dailyCapUsd: 500 });
    expect(code).toBe(0);
    const status = JSON.parse(stdout);
    expect(status.day).toMatchObject({ spentUsd: 0, reservedUsd: 0, capUsd: 500 });
    expect(status.day.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(status.experiments).toEqual([]);
    expect(existsSync(join(dir, LEDGER_FILE))).toBe(false);
    expect((await run({ json: false })).stdout).toContain('No experiments yet');
  });

  it('the budget settings and where each came from: `config` in the JSON, a table for people; null without them', async () => {
    const config: BudgetConfig = {
      costPerRequestUsd: 0.002,
      maxExperimentUsd: 7,
      dailyCapUsd: 9,
      sources: {
        costPerRequestUsd: { kind: 'env', name: 'COST_PER_REQUEST' },
        maxExperimentUsd: { kind: 'file', path: '/etc/gameday/team.yaml' },
        dailyCapUsd: { kind: 'default' },
      },
    };
    const json = JSON.parse((await run({ json: true, dailyCapUsd: 9, config })).stdout);
    expect(json.config).toEqual(config);
    const text = (await run({ json: false, dailyCapUsd: 9, config })).stdout;
    expect(text).toMatch(/daily cap\s+\$9\.00\s+default\n/);
    expect(text).toMatch(/experiment cap \(max\)\s+\$7\.00\s+config file \/etc\/gameday\/team\.yaml\n/);
    expect(text).toMatch(/cost per request\s+\$0\.002\s+COST_PER_REQUEST\n/);
    expect(JSON.parse((await run({ json: true })).stdout).config).toBeNull();
    expect((await run({ json: false })).stdout).not.toContain('cost per request');
  });

  it("JSON: today's spend and caps, what running experiments hold, the last experiments", async () => {
    const ledger = Ledger.open(dir);
    const done = ledger.registerExperiment({ name: 'checkout-latency', experimentCapUsd: 5, dailyCapUsd: 20, costPerRequestUsd: 0.001 });
    await done.reserve(3000);
    await done.finish('breach', 2500);
    const live = ledger.registerExperiment({ name: 'search-errors', experimentCapUsd: 5, dailyCapUsd: 20, costPerRequestUsd: 0.001 });
    await live.reserve(200);
    await live.report(50);
    ledger.close();

    const { code, stdout } = await run({ json: true });
    expect(code).toBe(0);
    const status = JSON.parse(stdout);
    expect(status.day).toMatchObject({ spentUsd: 2.55, reservedUsd: 0.15, capUsd: 20, remainingUsd: 17.3 });
    expect(status.experiments).toEqual([
      expect.objectContaining({ id: live.id, name: 'search-errors', status: 'running', spentUsd: 0.05 }),
      expect.objectContaining({ id: done.id, name: 'checkout-latency', status: 'breach', spentUsd: 2.5 }),
    ]);
    expect(status.running).toEqual([expect.objectContaining({ id: live.id, reservedUsd: 0.15, spentUsd: 0.05, stale: false })]);
    expect(status.stopLatch).toEqual({ latched: false, at: null, by: null });

    const table = (await run({ json: false })).stdout;
    expect(table).toMatch(/spent +\$2\.55 of \$20\.00 daily cap/);
    expect(table).toMatch(/reserved +\$0\.15 held by 1 running experiment/);
    expect(table).toMatch(new RegExp(`${done.id} +checkout-latency .* breach +\\$2\\.50`));
  });

  it('an unreadable ledger is an error (exit 1), never an empty status', async () => {
    writeFileSync(join(dir, LEDGER_FILE), 'garbage '.repeat(1000));
    const { code, stdout, stderr } = await run({ json: true });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(join(dir, LEDGER_FILE));
  });

  it('formats money to the cent, or finer when it is finer', () => {
    expect(formatUsd(2)).toBe('$2.00');
    expect(formatUsd(12.345)).toBe('$12.345');
    expect(formatUsd(0.0005)).toBe('$0.0005');
  });
});
