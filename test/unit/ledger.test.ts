// The SQLite ledger on real files: caps, settling, dead controllers, the latch, schema and failure modes.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LEDGER_FILE, Ledger, LedgerError, StopLatchedError } from '../../src/budget/sqlite-ledger.ts';
import type { ExperimentSpec } from '../../src/budget/ledger-store.ts';
import { SCHEMA_VERSION } from '../../src/budget/ledger-schema.ts';
import { ensureStateDir, resolveStateDir } from '../../src/budget/state-dir.ts';

const spec = (over: Partial<ExperimentSpec> = {}): ExperimentSpec => ({
  name: 'exp',
  experimentCapUsd: 1,
  dailyCapUsd: 2,
  costPerRequestUsd: 0.001,
  ...over,
});

/** The pid of a process that has exited (and been reaped). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid;

let dir: string;
let stateDir: string;
let ledger: Ledger;
let nowMs: number;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gameday-ledger-'));
  stateDir = join(dir, 'state');
  nowMs = Date.parse('2025-03-01T12:00:00Z');
  ledger = Ledger.open(stateDir, { nowMs: () => nowMs });
});
afterEach(() => {
  ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('reservations', () => {
  it('grants up to the experiment cap, then says which limit', async () => {
    const a = ledger.registerExperiment(spec({ experimentCapUsd: 1 }));
    expect(await a.reserve(700)).toEqual({ grantedRequests: 700 });
    expect(await a.reserve(700)).toEqual({ grantedRequests: 300, limitedBy: 'experiment' });
    expect(await a.reserve(1)).toEqual({ grantedRequests: 0, limitedBy: 'experiment' });
    expect(a.totals()).toMatchObject({ experimentReservedUsd: 1, experimentSpentUsd: 0, experimentCapUsd: 1, dayCapUsd: 2 });
  });

  it("counts other experiments' reservations against the daily cap", async () => {
    const a = ledger.registerExperiment(spec({ dailyCapUsd: 1 }));
    const b = ledger.registerExperiment(spec({ dailyCapUsd: 1 }));
    expect((await a.reserve(600)).grantedRequests).toBe(600);
    expect(await b.reserve(600)).toEqual({ grantedRequests: 400, limitedBy: 'day' });
    expect(b.totals()).toMatchObject({ dayReservedUsd: 0.6, experimentReservedUsd: 0.4, daySpentUsd: 0 });
    expect(ledger.dayTotals()).toEqual({ date: '2025-03-01', spentUsd: 0, reservedUsd: 1, capUsd: 1 });
  });

  it('settle hands back what was not sent; the next experiment can have it', async () => {
    const a = ledger.registerExperiment(spec({ dailyCapUsd: 1 }));
    await a.reserve(600);
    await a.report(100);
    expect(a.totals()).toMatchObject({ experimentSpentUsd: 0.1, experimentReservedUsd: 0.5, daySpentUsd: 0.1 });
    await a.settle(250);
    await a.settle(999); // idempotent: the first settle stands
    expect(ledger.dayTotals()).toMatchObject({ spentUsd: 0.25, reservedUsd: 0 });
    expect(await a.reserve(1)).toEqual({ grantedRequests: 0, limitedBy: 'not-running' });
    const b = ledger.registerExperiment(spec({ dailyCapUsd: 1 }));
    expect(await b.reserve(1000)).toEqual({ grantedRequests: 750, limitedBy: 'day' });
  });

  it("a finished experiment's spend counts, with its final status", async () => {
    const a = ledger.registerExperiment(spec({ name: 'first', dailyCapUsd: 1 }));
    await a.reserve(500);
    await a.finish('breach', 321);
    const row = ledger.experiment(a.id)!;
    expect(row).toMatchObject({ name: 'first', status: 'breach', phase: 'done', spentUsd: 0.321, reservedUsd: 0 });
    const b = ledger.registerExperiment(spec({ dailyCapUsd: 1 }));
    expect((await b.reserve(1000)).grantedRequests).toBe(679);
    expect(ledger.recentExperiments().map((e) => e.id)).toEqual([b.id, a.id]);
  });

  it('refuses to record more sent than reserved', async () => {
    const a = ledger.registerExperiment(spec());
    await a.reserve(10);
    await expect(a.report(11)).rejects.toThrow(/invariant/);
    await expect(a.settle(11)).rejects.toThrow(/invariant/);
  });

  it('spend is exact in micro-dollars (no float drift over many small reservations)', async () => {
    const a = ledger.registerExperiment(spec({ costPerRequestUsd: 0.0001, experimentCapUsd: 0.3, dailyCapUsd: 0.3 }));
    let granted = 0;
    for (let i = 0; i < 100; i++) granted += (await a.reserve(31)).grantedRequests;
    expect(granted).toBe(3000);
    await a.settle(3000);
    expect(ledger.dayTotals().spentUsd).toBe(0.3);
  });

  it('a reservation belongs to the UTC day it was made; each day has its own cap', async () => {
    const a = ledger.registerExperiment(spec({ experimentCapUsd: 10, dailyCapUsd: 1 }));
    nowMs = Date.parse('2025-03-01T23:59:59Z');
    expect((await a.reserve(800)).grantedRequests).toBe(800);
    nowMs = Date.parse('2025-03-02T00:00:01Z');
    expect((await a.reserve(800)).grantedRequests).toBe(800); // a new day, a new cap
    await a.report(1000); // oldest reservation consumed first
    expect(ledger.dayTotals('2025-03-01')).toMatchObject({ spentUsd: 0.8, reservedUsd: 0 });
    expect(ledger.dayTotals('2025-03-02')).toMatchObject({ spentUsd: 0.2, reservedUsd: 0.6 });
    await a.settle(1000);
    expect(ledger.dayTotals('2025-03-02')).toMatchObject({ spentUsd: 0.2, reservedUsd: 0 });
  });
});

describe('dead controllers', () => {
  it('a dead controller (pid gone) has its reservation counted as spent, once', async () => {
    const a = ledger.registerExperiment(spec({ name: 'doomed', pid: deadPid(), dailyCapUsd: 1 }));
    const b = ledger.registerExperiment(spec({ dailyCapUsd: 1 }));
    await a.setRollbackPlan({ steps: ['remove-fault'], proxy: '127.0.0.1:7001' });
    await a.reserve(500);
    await a.report(100);
    expect(ledger.dayTotals()).toMatchObject({ spentUsd: 0.1, reservedUsd: 0.4 });

    const dead = ledger.markDead(60_000);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      id: a.id,
      name: 'doomed',
      status: 'dead',
      spentUsd: 0.5,
      reservedUsd: 0,
      rollbackPlan: { steps: ['remove-fault'], proxy: '127.0.0.1:7001' },
    });
    expect(ledger.dayTotals()).toMatchObject({ spentUsd: 0.5, reservedUsd: 0 });
    expect(ledger.markDead(60_000)).toEqual([]);
    expect(ledger.awaitingRollback().map((e) => e.id)).toEqual([a.id]);
    ledger.markRecovered(a.id);
    expect(ledger.awaitingRollback()).toEqual([]);

    // The "dead" controller turns out to be alive: it can neither reserve nor change the money.
    expect(await a.heartbeat('observe')).toBe('not-running');
    expect(await a.reserve(10)).toEqual({ grantedRequests: 0, limitedBy: 'not-running' });
    await a.report(120);
    await a.finish('passed', 120);
    expect(ledger.experiment(a.id)).toMatchObject({ status: 'dead', spentUsd: 0.5, reservedUsd: 0 });
    expect(ledger.dayTotals()).toMatchObject({ spentUsd: 0.5, reservedUsd: 0 });
    expect(await b.reserve(1000)).toEqual({ grantedRequests: 500, limitedBy: 'day' });
  });

  it('a stale heartbeat is dead too; a fresh one is live', async () => {
    const a = ledger.registerExperiment(spec());
    const b = ledger.registerExperiment(spec());
    await a.reserve(10);
    nowMs += 10_000;
    await b.heartbeat('observe');
    expect(ledger.liveExperiments(5_000).map((e) => e.id)).toEqual([b.id]);
    expect(ledger.markDead(5_000).map((e) => e.id)).toEqual([a.id]);
    expect(ledger.runningExperiments().map((e) => e.id)).toEqual([b.id]);
    expect(ledger.experiment(b.id)!.phase).toBe('observe');
  });
});

describe('a ledger locked by another process', () => {
  it("never blocks a controller's calls: they try again until the lock is gone", async () => {
    const a = ledger.registerExperiment(spec());
    const locker = new Database(join(stateDir, LEDGER_FILE));
    locker.exec('BEGIN EXCLUSIVE');
    const t0 = performance.now();
    const reserved = a.reserve(10);
    // the call came back at once: the event loop was not held for SQLite's busy timeout
    expect(performance.now() - t0).toBeLessThan(100);
    let granted: number | undefined;
    void reserved.then((r) => (granted = r.grantedRequests));
    await new Promise((r) => setTimeout(r, 300));
    expect(granted).toBeUndefined();
    locker.exec('COMMIT');
    locker.close();
    expect((await reserved).grantedRequests).toBe(10);
    expect(a.totals().experimentReservedUsd).toBe(0.01);
  });

  it('a heartbeat the lock kept from being written is no proof of death (a vanished pid still is)', async () => {
    const alive = ledger.registerExperiment(spec({ name: 'alive' }));
    const gone = ledger.registerExperiment(spec({ name: 'gone', pid: deadPid() }));
    nowMs += 10_000; // both heartbeats look 10 s old
    const locker = new Database(join(stateDir, LEDGER_FILE));
    locker.exec('BEGIN EXCLUSIVE');
    const pending = alive.report(0); // meets the lock, as every process did meanwhile
    setTimeout(() => {
      locker.exec('COMMIT');
      locker.close();
    }, 100);
    await pending;
    expect(ledger.markDead(5_000).map((e) => e.id)).toEqual([gone.id]);
    expect(ledger.runningExperiments().map((e) => e.id)).toEqual([alive.id]);
  });
});

describe('emergency-stop latch', () => {
  it('stops reservations, tells heartbeats, refuses registration until cleared', async () => {
    const a = ledger.registerExperiment(spec());
    expect(await a.heartbeat('inject')).toBeNull();
    expect(ledger.stopLatch()).toEqual({ latched: false });
    const latch = ledger.setStopLatch('alice@box');
    expect(latch).toEqual({ latched: true, atMs: nowMs, by: 'alice@box' });
    nowMs += 1000;
    expect(ledger.setStopLatch('bob@box')).toEqual(latch); // the first latch stands
    expect(await a.reserve(10)).toEqual({ grantedRequests: 0, limitedBy: 'emergency-stop' });
    expect(await a.heartbeat('observe')).toBe('emergency-stop');
    expect(() => ledger.registerExperiment(spec())).toThrow(StopLatchedError);
    expect(ledger.clearStopLatch()).toBe(true);
    expect(ledger.clearStopLatch()).toBe(false);
    expect((await a.reserve(10)).grantedRequests).toBe(10);
    expect(ledger.registerExperiment(spec()).id).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe('schema and files', () => {
  it('creates a missing ledger at the current schema, and reopening is a no-op', () => {
    ledger.close();
    const file = join(stateDir, LEDGER_FILE);
    rmSync(file); // (an empty file is damage now: test/unit/ledger-file.test.ts)
    ledger = Ledger.open(stateDir);
    ledger.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(['experiments', 'spend', 'stop_latch']);
    db.close();
    ledger = Ledger.open(stateDir);
    expect(ledger.recentExperiments()).toEqual([]);
  });

  it('refuses a ledger from a newer gameday, and a SQLite file that is not a ledger', () => {
    ledger.close();
    const file = join(stateDir, LEDGER_FILE);
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => Ledger.open(stateDir)).toThrow(/newer than this gameday/);

    const other = join(dir, 'other');
    ensureStateDir(other);
    const foreign = new Database(join(other, LEDGER_FILE));
    foreign.exec('CREATE TABLE t (x)');
    foreign.close();
    expect(() => Ledger.open(other)).toThrow(/not a gameday ledger/);
    ledger = Ledger.open(join(dir, 'fresh'));
  });

  it('a foreign SQLite file is refused before anything writes to it: mode, journal mode and siblings as they were', () => {
    const other = join(dir, 'foreign');
    ensureStateDir(other);
    const file = join(other, LEDGER_FILE);
    const foreign = new Database(file);
    foreign.exec('CREATE TABLE t (x)');
    foreign.close();
    chmodSync(file, 0o644);
    expect(() => Ledger.open(other)).toThrow(/not a gameday ledger/);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(existsSync(`${file}-wal`)).toBe(false);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    check.close();
  });

  it('a garbage file: LedgerError naming the file and what to do; the file is untouched', () => {
    ledger.close();
    const file = join(stateDir, LEDGER_FILE);
    const garbage = Buffer.from('this is not a database, it is a shopping list\n'.repeat(200));
    writeFileSync(file, garbage);
    let error: unknown;
    try {
      Ledger.open(stateDir);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(LedgerError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(/not a database/);
    expect((error as Error).message).toMatch(/mv .*\.corrupt/);
    expect(readFileSync(file).equals(garbage)).toBe(true);
    ledger = Ledger.open(join(dir, 'fresh'));
  });

  it('a damaged page fails the integrity check on open, and the file is left as it was', async () => {
    const a = ledger.registerExperiment(spec());
    for (let i = 0; i < 200; i++) await a.reserve(1);
    await a.setRollbackPlan({ pad: 'x'.repeat(20_000) }); // several pages of data to damage
    ledger.close(); // checkpoints the WAL into the main file
    const file = join(stateDir, LEDGER_FILE);
    const bytes = readFileSync(file);
    const pageSize = bytes.readUInt16BE(16);
    for (let page = 1; page < bytes.length / pageSize; page++) bytes.fill(0xa5, page * pageSize + 8, page * pageSize + 200);
    writeFileSync(file, bytes);
    expect(() => Ledger.open(stateDir)).toThrow(LedgerError);
    expect(readFileSync(file).equals(bytes)).toBe(true);
    ledger = Ledger.open(join(dir, 'fresh'));
  });

  it('creates the state dir 0700 and the ledger (and its WAL) 0600', async () => {
    const a = ledger.registerExperiment(spec());
    await a.reserve(1); // the WAL exists while a connection is open
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(stateDir, LEDGER_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(join(stateDir, `${LEDGER_FILE}-wal`)).mode & 0o777).toBe(0o600);
  });

  it('tightens a ledger file that was left group/world readable', () => {
    ledger.close();
    const file = join(stateDir, LEDGER_FILE);
    spawnSync('chmod', ['644', file]);
    ledger = Ledger.open(stateDir);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('a state dir that is a file: LedgerError', () => {
    const notDir = join(dir, 'plain-file');
    writeFileSync(notDir, 'x');
    expect(() => Ledger.open(notDir)).toThrow(/not a directory/);
  });
});

describe('state dir resolution', () => {
  it('flag, then GAMEDAY_STATE_DIR, then XDG_STATE_HOME, then ~/.local/state', () => {
    const env = { HOME: '/home/u', XDG_STATE_HOME: '/xdg', GAMEDAY_STATE_DIR: '/env/dir' };
    expect(resolveStateDir('/flag/dir', env)).toBe('/flag/dir');
    expect(resolveStateDir(undefined, env)).toBe('/env/dir');
    expect(resolveStateDir(undefined, { ...env, GAMEDAY_STATE_DIR: '' })).toBe('/xdg/gameday');
    expect(resolveStateDir(undefined, { HOME: '/home/u', XDG_STATE_HOME: 'relative' })).toBe('/home/u/.local/state/gameday');
    expect(resolveStateDir(undefined, { HOME: '/home/u' })).toBe('/home/u/.local/state/gameday');
    expect(resolveStateDir('rel', {})).toBe(join(process.cwd(), 'rel'));
  });
});
