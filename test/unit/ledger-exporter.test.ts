// The exporter's metrics, in process: the numbers `budget-status --json` shows, read at scrape
// time from one read; nothing created or written; a ledger that becomes unreadable, or is replaced,
// mid-life. (The real CLI, real runs and a real Prometheus: test/integration/exporter-cli.test.ts.)
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BudgetStatus } from '../../src/budget/budget-status.ts';
import { LEDGER_FILE, Ledger } from '../../src/budget/sqlite-ledger.ts';
import type { ExperimentSpec } from '../../src/budget/ledger-store.ts';
import { budgetStatusCommand } from '../../src/commands/budget-status.ts';
import { LedgerExporter, LedgerReader } from '../../src/telemetry/ledger-exporter.ts';
import { parseExposition } from '../helpers/exposition.ts';

const spec = (over: Partial<ExperimentSpec> = {}): ExperimentSpec => ({
  name: 'exp',
  experimentCapUsd: 10,
  dailyCapUsd: 20,
  costPerRequestUsd: 0.001,
  ...over,
});
const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

let dir: string;
let stateDir: string;
let file: string;
let reader: LedgerReader;
let logged: string[];
let exporter: LedgerExporter;

function exporterFor(dailyCapUsd = 500): void {
  reader = new LedgerReader(stateDir, dailyCapUsd);
  logged = [];
  exporter = new LedgerExporter(reader, (line) => logged.push(line));
}
const scrape = async (): Promise<Map<string, number>> => parseExposition(await exporter.metrics());

async function budgetStatusJson(dailyCapUsd: number): Promise<BudgetStatus> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  expect(await budgetStatusCommand({ stateDir, json: true, dailyCapUsd, out, err: new PassThrough() })).toBe(0);
  return JSON.parse(text) as BudgetStatus;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gameday-exporter-'));
  stateDir = join(dir, 'state');
  file = join(stateDir, LEDGER_FILE);
  exporterFor();
});
afterEach(() => {
  reader.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What the exporter must show, computed from budget-status's JSON. */
function expectedFrom(status: BudgetStatus): Map<string, number> {
  const byStatus = new Map<string, number>();
  // today's (an experiment started before midnight UTC is yesterday's), as the exporter counts them
  for (const e of status.experiments.filter((x) => x.startedAt.startsWith(status.day.date)))
    byStatus.set(e.status, (byStatus.get(e.status) ?? 0) + 1);
  const statuses = ['running', 'dead', 'passed', 'invalid', 'refused', 'breach', 'budget', 'stopped', 'rollback-failed'];
  return new Map<string, number>([
    ['gameday_ledger_up', 1],
    ['gameday_ledger_spent_dollars{scope="day"}', status.day.spentUsd],
    ['gameday_ledger_limit_dollars{scope="day"}', status.day.capUsd ?? NaN],
    ['gameday_ledger_reserved_dollars', status.day.reservedUsd],
    ['gameday_ledger_running_experiments', status.running.length],
    ['gameday_emergency_stop_latched', status.stopLatch.latched ? 1 : 0],
    ...statuses.map((s): [string, number] => [`gameday_ledger_experiments_total{status="${s}"}`, byStatus.get(s) ?? 0]),
  ]);
}

describe('gameday exporter: metrics', () => {
  it('no ledger: zero spend, the cap from the config, and nothing created (not even the state dir)', async () => {
    exporterFor(42);
    const m = await scrape();
    expect(m).toEqual(expectedFrom(await budgetStatusJson(42)));
    expect(m.get('gameday_ledger_limit_dollars{scope="day"}')).toBe(42);
    expect(m.get('gameday_ledger_spent_dollars{scope="day"}')).toBe(0);
    await scrape();
    expect(existsSync(stateDir)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("equals budget-status --json: finished, running, dead experiments and the latch, from one read; the ledger's file unchanged", async () => {
    const w = Ledger.open(stateDir);
    const done = w.registerExperiment(spec());
    await done.reserve(3000);
    await done.finish('breach', 2500);
    await w.registerExperiment(spec()).finish('refused', 0);
    const dead = w.registerExperiment(spec());
    await dead.reserve(700);
    // its heartbeat as seen a minute from now: stale
    expect(w.markDead(30_000, Date.now() + 60_000).map((e) => e.id)).toEqual([dead.id]);
    const live = w.registerExperiment(spec());
    await live.reserve(200);
    await live.report(50);
    w.setStopLatch('test');
    w.close(); // everything in the main file now, so that "unchanged" below covers all of it
    const before = sha(file);

    const status = await budgetStatusJson(500);
    expect(status.day).toMatchObject({ spentUsd: 3.25, reservedUsd: 0.15 });
    const m = await scrape();
    expect(m).toEqual(expectedFrom(status));
    expect(m.get('gameday_ledger_experiments_total{status="dead"}')).toBe(1);
    expect(await scrape()).toEqual(m);
    expect(sha(file)).toBe(before);
  });

  it('reads at scrape time, and a writer never waits on it (busy timeout 0 while it holds its connection)', async () => {
    const w = Ledger.open(stateDir);
    const a = w.registerExperiment(spec());
    await a.reserve(1000);
    expect((await scrape()).get('gameday_ledger_reserved_dollars')).toBe(1);
    const writer = new Database(file, { timeout: 0 });
    writer.exec('BEGIN IMMEDIATE; UPDATE spend SET spent_micros = 400000; COMMIT');
    writer.close();
    await a.finish('passed', 400);
    w.close();
    const m = await scrape();
    expect(m.get('gameday_ledger_spent_dollars{scope="day"}')).toBe(0.4);
    expect(m.get('gameday_ledger_reserved_dollars')).toBe(0);
    expect(m).toEqual(expectedFrom(await budgetStatusJson(500)));
  });

  it('a ledger that becomes unreadable: up 0 and no ledger numbers (said once), then read again once it is repaired', async () => {
    const w = Ledger.open(stateDir);
    await w.registerExperiment(spec()).finish('passed', 0);
    w.close();
    expect((await scrape()).get('gameday_ledger_up')).toBe(1);
    const good = readFileSync(file);

    // replaced by garbage (what a new file descriptor would read; the old connection still sees the old file)
    writeFileSync(join(dir, 'garbage'), 'garbage '.repeat(1000));
    renameSync(join(dir, 'garbage'), file);
    const broken = await scrape();
    expect(broken).toEqual(new Map([['gameday_ledger_up', 0]]));
    expect(await exporter.metrics()).toContain('# TYPE gameday_ledger_spent_dollars gauge');
    await scrape();
    expect(logged).toEqual([expect.stringMatching(/cannot read the ledger .*not a database/)]);

    writeFileSync(file, good);
    expect((await scrape()).get('gameday_ledger_up')).toBe(1);
    expect(logged.at(-1)).toBe('the ledger is readable again');

    // damaged in place: same inode, truncated
    truncateSync(file, 0);
    expect((await scrape()).get('gameday_ledger_up')).toBe(0);
    expect(logged.at(-1)).toMatch(/empty \(0 bytes\)/);
    // and budget-status refuses it too
    expect(await budgetStatusCommand({ stateDir, json: true, out: new PassThrough(), err: new PassThrough() })).toBe(1);
  });

  it('re-opens the file when it changed on disk: fully checked when it is a new file, cheaply after a checkpoint', async () => {
    const opens = vi.spyOn(Ledger, 'openReadOnly');
    try {
      const w = Ledger.open(stateDir);
      const a = w.registerExperiment(spec());
      await a.reserve(100);
      await scrape();
      await scrape(); // unchanged: the same connection
      expect(opens.mock.calls.map((c) => c[1]?.integrityCheck)).toEqual([true]);

      await a.finish('passed', 100);
      const checkpointer = new Database(file);
      checkpointer.pragma('wal_checkpoint(PASSIVE)'); // what a writer's auto-checkpoint does: the file itself changes
      checkpointer.close();
      expect((await scrape()).get('gameday_ledger_spent_dollars{scope="day"}')).toBe(0.1);
      expect(opens.mock.calls.map((c) => c[1]?.integrityCheck)).toEqual([true, false]);
      w.close();

      const copy = join(dir, 'copy');
      writeFileSync(copy, readFileSync(file));
      renameSync(copy, file); // another file under the same name
      expect((await scrape()).get('gameday_ledger_up')).toBe(1);
      expect(opens.mock.calls.map((c) => c[1]?.integrityCheck)).toEqual([true, false, true]);
    } finally {
      opens.mockRestore();
    }
  });

  it('never writes: a ledger that would need a write before reading (not WAL) is left as it is, up 0', async () => {
    Ledger.open(stateDir).close();
    const db = new Database(file);
    db.pragma('journal_mode = DELETE');
    db.close();
    const before = sha(file);
    expect(await scrape()).toEqual(new Map([['gameday_ledger_up', 0]]));
    expect(logged).toEqual([expect.stringMatching(/journal_mode is delete, not WAL/)]);
    expect(sha(file)).toBe(before);
    expect(readdirSync(stateDir)).toEqual([LEDGER_FILE]);
  });

  it('a ledger moved aside reads as none (zero spend), as budget-status shows it', async () => {
    const w = Ledger.open(stateDir);
    const a = w.registerExperiment(spec());
    await a.reserve(100);
    await a.finish('passed', 100);
    w.close();
    expect((await scrape()).get('gameday_ledger_spent_dollars{scope="day"}')).toBe(0.1);
    renameSync(file, `${file}.corrupt`);
    const m = await scrape();
    expect(m).toEqual(expectedFrom(await budgetStatusJson(500)));
    expect(m.get('gameday_ledger_spent_dollars{scope="day"}')).toBe(0);
    expect(existsSync(file)).toBe(false);
  });
});
