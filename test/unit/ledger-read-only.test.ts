// The ledger opened read-only (what `gameday exporter` reads through): nothing created or written,
// one consistent state per read transaction, no writer ever waiting on it, and what it refuses.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LEDGER_FILE, Ledger, LedgerError } from '../../src/budget/sqlite-ledger.ts';
import type { ExperimentSpec } from '../../src/budget/ledger-store.ts';

const spec = (over: Partial<ExperimentSpec> = {}): ExperimentSpec => ({
  name: 'exp',
  experimentCapUsd: 10,
  dailyCapUsd: 20,
  costPerRequestUsd: 0.001,
  ...over,
});

let dir: string;
let stateDir: string;
let file: string;
const opened: Ledger[] = [];
const open = (l: Ledger): Ledger => (opened.push(l), l);
const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gameday-ro-'));
  stateDir = join(dir, 'state');
  file = join(stateDir, LEDGER_FILE);
});
afterEach(() => {
  for (const l of opened.splice(0)) l.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Ledger.openReadOnly', () => {
  it('never creates a ledger, nor the state dir', () => {
    expect(() => Ledger.openReadOnly(stateDir)).toThrow(LedgerError);
    expect(existsSync(stateDir)).toBe(false);
    expect(() => Ledger.openReadOnly(dir)).toThrow(/no ledger here/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("reads what the writers wrote, and cannot write: the ledger's file is unchanged", async () => {
    const w = Ledger.open(stateDir);
    const a = w.registerExperiment(spec());
    await a.reserve(1000);
    await a.finish('passed', 400);
    w.close(); // the last connection: the -wal is checkpointed into the file, which is now all of it
    const before = sha(file);

    const ro = open(Ledger.openReadOnly(stateDir));
    expect(ro.dayTotals()).toMatchObject({ spentUsd: 0.4, reservedUsd: 0, capUsd: 20 });
    expect(() => ro.registerExperiment(spec())).toThrow(/readonly/i);
    expect(() => ro.setStopLatch('test')).toThrow(/readonly/i);
    ro.close();
    expect(sha(file)).toBe(before);
    expect(Ledger.open(stateDir).stopLatch().latched).toBe(false);
  });

  it('one read transaction sees one state; a writer commits meanwhile without waiting (busy timeout 0)', async () => {
    const w = open(Ledger.open(stateDir));
    const a = w.registerExperiment(spec());
    await a.reserve(1000);
    const ro = open(Ledger.openReadOnly(stateDir));
    const writer = new Database(file, { timeout: 0 });
    try {
      const seen = ro.readConsistently(() => {
        const first = ro.dayTotals();
        const startedMs = performance.now();
        writer.exec(
          `BEGIN IMMEDIATE; UPDATE spend SET spent_micros = reserved_micros; INSERT INTO stop_latch VALUES (1, 1, 'test'); COMMIT`,
        );
        return { first, second: ro.dayTotals(), latch: ro.stopLatch(), writerMs: performance.now() - startedMs };
      });
      expect(seen.first).toEqual(seen.second);
      expect(seen.second).toMatchObject({ spentUsd: 0, reservedUsd: 1 });
      expect(seen.latch.latched).toBe(false);
      // and after it, the new state
      expect(ro.dayTotals()).toMatchObject({ spentUsd: 1, reservedUsd: 0 });
      expect(ro.stopLatch().latched).toBe(true);
    } finally {
      writer.close();
    }
  });

  it("counts a day's experiments by status, by the day they started (UTC)", async () => {
    let nowMs = Date.parse('2025-03-01T23:59:00Z');
    const w = open(Ledger.open(stateDir, { nowMs: () => nowMs }));
    await w.registerExperiment(spec()).finish('breach', 0);
    nowMs = Date.parse('2025-03-02T00:00:00Z');
    await w.registerExperiment(spec()).finish('breach', 0);
    await w.registerExperiment(spec()).finish('passed', 0);
    w.registerExperiment(spec());
    const ro = open(Ledger.openReadOnly(stateDir));
    expect(ro.experimentsByStatus('2025-03-01')).toEqual({ breach: 1 });
    expect(ro.experimentsByStatus('2025-03-02')).toEqual({ breach: 1, passed: 1, running: 1 });
    expect(ro.experimentsByStatus('2025-03-03')).toEqual({});
  });

  it('refuses what is not a readable ledger, as open() does, and changes nothing', () => {
    Ledger.open(stateDir).close();
    writeFileSync(file, '');
    expect(() => Ledger.openReadOnly(stateDir)).toThrow(/empty \(0 bytes\)/);
    writeFileSync(file, 'garbage '.repeat(1000));
    expect(() => Ledger.openReadOnly(stateDir)).toThrow(/not a database/);
    expect(readFileSync(file, 'utf8')).toBe('garbage '.repeat(1000));
  });

  it('refuses a ledger not in WAL mode (a reader of it would make writers wait)', () => {
    Ledger.open(stateDir).close();
    const db = new Database(file);
    db.pragma('journal_mode = DELETE');
    db.close();
    expect(() => Ledger.openReadOnly(stateDir)).toThrow(/journal_mode is delete, not WAL/);
    // a writer's open switches it back; then it reads
    Ledger.open(stateDir).close();
    open(Ledger.openReadOnly(stateDir));
  });
});
