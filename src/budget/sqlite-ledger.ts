// The shared, persistent budget: one SQLite file per state dir, opened by every gameday process
// that uses that dir. Reservations are granted in BEGIN IMMEDIATE transactions (one writer at a
// time, across processes), so two experiments can never both be granted the last dollar of a day.
//
// Durability: WAL, synchronous=NORMAL, and FULL for the writes whose loss would under-count money
// or lift a safety stop: reservations and the stop latch. Any commit survives a killed process;
// NORMAL may lose the last commits to a power cut or kernel panic, which for heartbeats, reports
// and settlements only errs towards over-counting (a lost report or settlement leaves the whole
// reservation held, and a controller that lost power is dead, so its reservation becomes spend).
// An fsync per heartbeat and per report (twice a tick) would block the controller's event loop,
// and so skew the latency it measures, for nothing; one per reservation (~1/s) is the price.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, linkSync, lstatSync, openSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RunStatus } from '../engine/events.ts';
import { thisHost } from './identity.ts';
import {
  HEARTBEAT_STALE_MS,
  utcDate,
  type ClaimResult,
  type Claimant,
  type DayTotals,
  type ExperimentHandle,
  type ExperimentRow,
  type ExperimentSpec,
  type ExperimentStatus,
  type LedgerSnapshot,
  type SnapshotOptions,
  type RollbackClaim,
  type StopLatch,
  type StopReason,
} from './ledger-store.ts';
import { fromMicros, grantRequests, toMicros, type BudgetTotals, type ReserveResult } from './budget.ts';
import { LedgerError, StopLatchedError, corruptAdvice, ledgerErrorFrom } from './ledger-error.ts';
import { assertGamedayLedger, headerIsGameday, migrate, readLedgerHeader, SCHEMA_VERSION } from './ledger-schema.ts';
import { ensureStateDir, StateDirError } from './state-dir.ts';
import { pidAlive } from '../faults/pid.ts';

export { LedgerError, StopLatchedError } from './ledger-error.ts';

export const LEDGER_FILE = 'ledger.sqlite';
/** How long a process waits for another's write lock before the ledger call fails. */
const BUSY_TIMEOUT_MS = 5_000;
/**
 * A running controller never blocks on the lock (its event loop takes faults out): its calls try
 * at once and, while another process holds the ledger, try again a little later. For this long
 * during a run; a ledger locked longer than that is one gameday cannot spend through, so the run
 * fails closed (rolls back).
 */
const RUN_LOCK_WAIT_MS = BUSY_TIMEOUT_MS;
/** Settling and recording the result come after the fault is out: worth waiting longer for. */
const END_LOCK_WAIT_MS = 30_000;

export interface LedgerOptions {
  /** injectable clock for tests (epoch ms) */
  nowMs?: () => number;
}

interface RawExperiment {
  id: string;
  name: string;
  pid: number;
  host: string;
  operator: string | null;
  started_ms: number;
  ended_ms: number | null;
  phase: string;
  status: string;
  heartbeat_ms: number;
  cost_micros: number;
  experiment_cap_micros: number;
  daily_cap_micros: number;
  rollback_plan: string | null;
  stop_acked_ms: number | null;
  recovered_ms: number | null;
  reserved_micros: number;
  spent_micros: number;
}

const ROW_SQL = `SELECT e.*,
    (SELECT coalesce(sum(reserved_micros), 0) FROM spend WHERE experiment_id = e.id) AS reserved_micros,
    (SELECT coalesce(sum(spent_micros), 0) FROM spend WHERE experiment_id = e.id) AS spent_micros
  FROM experiments e`;

function toRow(r: RawExperiment): ExperimentRow {
  return {
    id: r.id,
    name: r.name,
    pid: r.pid,
    host: r.host,
    operator: r.operator,
    startedMs: r.started_ms,
    endedMs: r.ended_ms,
    phase: r.phase,
    status: r.status as ExperimentStatus,
    heartbeatMs: r.heartbeat_ms,
    costPerRequestUsd: fromMicros(r.cost_micros),
    experimentCapUsd: fromMicros(r.experiment_cap_micros),
    dailyCapUsd: fromMicros(r.daily_cap_micros),
    reservedUsd: fromMicros(r.reserved_micros - r.spent_micros),
    spentUsd: fromMicros(r.spent_micros),
    rollbackPlan: r.rollback_plan === null ? null : JSON.parse(r.rollback_plan),
    stopAckedMs: r.stop_acked_ms,
    recoveredMs: r.recovered_ms,
  };
}

/**
 * Creates the ledger atomically, so that a ledger file is either absent or complete (and a 0-byte
 * one is damage, never "new"): built and migrated in a private temp file beside it, closed cleanly
 * (its header then holds WAL mode and the schema version, and no -wal is left), then hard-linked
 * into place. link() fails with EEXIST when another process got there first: theirs is used.
 */
function createLedgerFile(file: string): void {
  const temp = `${file}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    try {
      closeSync(openSync(temp, 'wx', 0o600)); // 0600 before SQLite opens it: its -wal/-shm copy the mode
    } catch (err) {
      throw ledgerErrorFrom(file, err, 'creating the ledger');
    }
    const db = new Database(temp, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    try {
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal')
        throw new LedgerError(file, `cannot switch to WAL (journal_mode is ${String(mode)})`, 'Put the state dir on a local file system');
      migrate(db, temp);
    } finally {
      db.close(); // the last connection: checkpoints the -wal into the file and deletes it
    }
    const h = readLedgerHeader(temp);
    if (h.kind !== 'sqlite' || !h.wal || h.userVersion !== SCHEMA_VERSION || existsSync(`${temp}-wal`)) {
      throw new LedgerError(
        file,
        'the new ledger was not complete after closing it',
        'Put the state dir on a local file system, then retry',
      );
    }
    const fd = openSync(temp, 'r');
    try {
      fsyncSync(fd); // complete on disk before it has its name
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temp, file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new LedgerError(
          file,
          `creating the ledger failed: cannot hard-link it into place (${code ?? String(err)})`,
          'Put the state dir on a local file system',
          { cause: err },
        );
      }
    }
  } catch (err) {
    if (err instanceof LedgerError) throw err;
    throw ledgerErrorFrom(file, err, 'creating the ledger');
  } finally {
    for (const f of [temp, `${temp}-wal`, `${temp}-shm`]) rmSync(f, { force: true });
  }
}

/**
 * A ledger readable by others (made by hand, or by an older gameday) becomes 0600, and so do its
 * -wal and -shm: SQLite gives a -wal/-shm it creates the main file's mode, so this runs before
 * SQLite opens a file whose header is ours, and again once SQLite has confirmed it is.
 * By path, never through a file descriptor: closing any descriptor of a file drops every POSIX lock
 * this process holds on it, and SQLite's locks on the ledger and its -shm are what tell other
 * processes that this connection is there (without them, the last one to close deletes the -wal
 * and -shm under it, or truncates a -shm it has mapped: SIGBUS).
 */
function tightenModes(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      const st = lstatSync(f);
      if (st.isFile() && (st.mode & 0o077) !== 0) chmodSync(f, 0o600);
    } catch {
      // absent, or not ours to chmod: SQLite's own checks decide whether it is usable
    }
  }
}

/**
 * Ledger files this process has open through SQLite, by path. Reading the header opens and closes
 * the file, which would drop those connections' locks (see tightenModes), so a second open of the
 * same ledger in one process skips it: the first open already vetted the file.
 */
const openHere = new Map<string, number>();

/**
 * Before SQLite opens the ledger (opening creates -wal/-shm with the file's mode, and takes any
 * SQLite file as a database): create it if absent, refuse what is not a ledger by its header, and
 * tighten the modes of one that is.
 */
function vetBeforeOpening(file: string): void {
  let header = readLedgerHeader(file);
  if (header.kind === 'absent') {
    createLedgerFile(file);
    header = readLedgerHeader(file);
  }
  if (header.kind === 'empty') {
    // Ledgers are created complete, so 0 bytes is damage. SQLite would take it as a new database
    // and delete a -wal beside it (seen with SQLite 3.53), so that is refused too.
    const walBytes = sizeOf(`${file}-wal`);
    const beside = walBytes > 0 ? ` (its -wal holds ${walBytes} bytes, which SQLite would discard)` : '';
    throw new LedgerError(file, `the file is empty (0 bytes): not a ledger${beside}`, corruptAdvice(file));
  }
  if (header.kind === 'not-sqlite') throw new LedgerError(file, 'file is not a database (no SQLite header)', corruptAdvice(file));
  if (headerIsGameday(header)) tightenModes(file);
}

/** What a read-only open refuses by the file's header alone; an absent ledger is not created. */
function vetReadOnly(file: string): void {
  const header = readLedgerHeader(file);
  if (header.kind === 'absent') throw new LedgerError(file, 'there is no ledger here', 'Nothing has run with this state dir yet');
  if (header.kind === 'empty') throw new LedgerError(file, 'the file is empty (0 bytes): not a ledger', corruptAdvice(file));
  if (header.kind === 'not-sqlite') throw new LedgerError(file, 'file is not a database (no SQLite header)', corruptAdvice(file));
}

const READ_ONLY_BUSY_TIMEOUT_MS = 100;
const DAY_MS = 86_400_000;

/** Checks of a read-only connection: open()'s, and a ledger that needs no write before it can be read. */
function assertReadable(db: Db, file: string, integrityCheck: boolean): void {
  const check = integrityCheck ? (db.pragma('quick_check') as Array<{ quick_check: string }>) : [{ quick_check: 'ok' }];
  if (check.length !== 1 || check[0].quick_check !== 'ok') {
    const found = check.map((c) => c.quick_check).slice(0, 3);
    throw new LedgerError(file, `integrity check failed: ${found.join('; ')}`, corruptAdvice(file));
  }
  const version = assertGamedayLedger(db, file);
  const writerFirst = 'Any gameday command that opens it for writing (budget-status, run) does that; a reader does not';
  if (version !== SCHEMA_VERSION)
    throw new LedgerError(file, `schema version ${version} must be migrated to ${SCHEMA_VERSION} before it can be read`, writerFirst);
  // a reader of a rollback-journal database holds a lock that makes writers wait
  const mode = db.pragma('journal_mode', { simple: true });
  if (mode !== 'wal') throw new LedgerError(file, `journal_mode is ${String(mode)}, not WAL`, writerFirst);
}

/** Size of `file`, 0 when it is absent. */
function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

type Db = Database.Database;

/** An SQLITE_BUSY on its way to a retry; never leaves the ledger. */
class BusyNow extends Error {
  constructor(override readonly cause: unknown) {
    super('busy');
  }
}

function claimOf(r: RollbackClaim | undefined): RollbackClaim | null {
  return r && r.pid !== null ? { host: r.host, pid: r.pid, sinceMs: r.sinceMs, untilMs: r.untilMs } : null;
}

/**
 * Rollback claims (schema v2). A claimant is provably gone when it ran on this host and its pid is
 * dead (another host's pids cannot be checked from here: its lease decides); the function is
 * registered on each connection that prepares the claim, as SQLite resolves it at prepare time.
 */
function claimStatements(db: Db) {
  const here = thisHost();
  db.function('gameday_claimant_gone', { deterministic: false }, (host: unknown, pid: unknown) =>
    host === here && typeof pid === 'number' && !pidAlive(pid) ? 1 : 0,
  );
  return {
    claimRollback: db.prepare(
      `UPDATE experiments SET rollback_claim_host = @host, rollback_claim_pid = @pid, rollback_claim_ms = @now, rollback_lease_until_ms = @until
       WHERE id = @id AND status = 'dead' AND rollback_plan IS NOT NULL AND recovered_ms IS NULL
         AND (rollback_claim_pid IS NULL OR rollback_lease_until_ms <= @now OR gameday_claimant_gone(rollback_claim_host, rollback_claim_pid))`,
    ),
    claimState: db.prepare(
      `SELECT rollback_claim_host AS host, rollback_claim_pid AS pid, rollback_claim_ms AS sinceMs, rollback_lease_until_ms AS untilMs,
         (status = 'dead' AND rollback_plan IS NOT NULL AND recovered_ms IS NULL) AS awaiting
       FROM experiments WHERE id = ?`,
    ),
    releaseRollback: db.prepare(
      `UPDATE experiments SET rollback_claim_host = NULL, rollback_claim_pid = NULL, rollback_claim_ms = NULL, rollback_lease_until_ms = NULL
       WHERE id = ? AND rollback_claim_host = ? AND rollback_claim_pid = ?`,
    ),
    setRecoveredUnclaimed: db.prepare(
      `UPDATE experiments SET recovered_ms = ?, rollback_claim_host = NULL, rollback_claim_pid = NULL, rollback_claim_ms = NULL, rollback_lease_until_ms = NULL
       WHERE id = ?`,
    ),
  };
}

function prepareStatements(db: Db) {
  return {
    insertExperiment: db.prepare(
      `INSERT INTO experiments (id, name, pid, host, operator, started_ms, phase, status, heartbeat_ms, cost_micros, experiment_cap_micros, daily_cap_micros)
       VALUES (?, ?, ?, ?, ?, ?, 'preflight', 'running', ?, ?, ?, ?)`,
    ),
    experiment: db.prepare(`${ROW_SQL} WHERE e.id = ?`),
    running: db.prepare(`${ROW_SQL} WHERE e.status = 'running' ORDER BY e.started_ms`),
    awaitingRollback: db.prepare(
      `${ROW_SQL} WHERE e.status = 'dead' AND e.rollback_plan IS NOT NULL AND e.recovered_ms IS NULL ORDER BY e.started_ms`,
    ),
    recent: db.prepare(`${ROW_SQL} ORDER BY e.started_ms DESC, e.rowid DESC LIMIT ?`),
    latestDailyCap: db.prepare('SELECT daily_cap_micros FROM experiments ORDER BY started_ms DESC, rowid DESC LIMIT 1').pluck(),
    reserveState: db.prepare(`SELECT (SELECT count(*) FROM stop_latch) AS latched, status, settled FROM experiments WHERE id = ?`),
    experimentHeld: db.prepare('SELECT coalesce(sum(reserved_micros), 0) FROM spend WHERE experiment_id = ?').pluck(),
    dayHeld: db.prepare('SELECT coalesce(sum(reserved_micros), 0) FROM spend WHERE day = ?').pluck(),
    addReservation: db.prepare(
      `INSERT INTO spend (experiment_id, day, reserved_micros, spent_micros) VALUES (?, ?, ?, 0)
       ON CONFLICT (experiment_id, day) DO UPDATE SET reserved_micros = reserved_micros + excluded.reserved_micros`,
    ),
    spendRows: db.prepare('SELECT day, reserved_micros, spent_micros FROM spend WHERE experiment_id = ? ORDER BY day'),
    setSpent: db.prepare('UPDATE spend SET spent_micros = ? WHERE experiment_id = ? AND day = ?'),
    handBack: db.prepare('UPDATE spend SET reserved_micros = spent_micros WHERE experiment_id = ?'),
    countAsSpent: db.prepare('UPDATE spend SET spent_micros = reserved_micros WHERE experiment_id = ?'),
    setSettled: db.prepare('UPDATE experiments SET settled = 1 WHERE id = ?'),
    setFinished: db.prepare(`UPDATE experiments SET status = ?, phase = 'done', ended_ms = ? WHERE id = ? AND status = 'running'`),
    setDead: db.prepare(`UPDATE experiments SET status = 'dead', ended_ms = ? WHERE id = ? AND status = 'running'`),
    heartbeat: db.prepare(`UPDATE experiments SET heartbeat_ms = ?, phase = ? WHERE id = ? AND status = 'running'`),
    setRollbackPlan: db.prepare('UPDATE experiments SET rollback_plan = ? WHERE id = ?'),
    ackStopped: db.prepare('UPDATE experiments SET stop_acked_ms = ? WHERE id = ?'),
    totals: db.prepare(`SELECT
        (SELECT coalesce(sum(reserved_micros), 0) FROM spend WHERE experiment_id = @id) AS exp_reserved,
        (SELECT coalesce(sum(spent_micros), 0) FROM spend WHERE experiment_id = @id) AS exp_spent,
        (SELECT coalesce(sum(spent_micros), 0) FROM spend WHERE day = @day) AS day_spent,
        (SELECT coalesce(sum(reserved_micros - spent_micros), 0) FROM spend WHERE day = @day AND experiment_id <> @id) AS others_held`),
    dayTotals: db.prepare(
      'SELECT coalesce(sum(spent_micros), 0) AS spent, coalesce(sum(reserved_micros - spent_micros), 0) AS held FROM spend WHERE day = ?',
    ),
    latch: db.prepare('SELECT at_ms, by FROM stop_latch WHERE only = 1'),
    startedByStatus: db.prepare('SELECT status, count(*) AS n FROM experiments WHERE started_ms >= ? AND started_ms < ? GROUP BY status'),
    setLatch: db.prepare('INSERT OR IGNORE INTO stop_latch (only, at_ms, by) VALUES (1, ?, ?)'),
    clearLatch: db.prepare('DELETE FROM stop_latch'),
    ...claimStatements(db),
  };
}
type Statements = ReturnType<typeof prepareStatements>;

/** What the Ledger shares with its experiment handles. */
interface Core {
  db: Db;
  st: Statements;
  nowMs: () => number;
  guard: <T>(doing: string, fn: () => T) => T;
  /** Run `fn` (a whole transaction) with its commit fsync-ed: synchronous cannot change inside one. */
  durably: <T>(fn: () => T) => T;
  /**
   * Run `fn` (a whole transaction) without waiting on another process's lock: while the ledger is
   * busy, try again a little later — the event loop stays free — for up to `waitMs`, then fail
   * with a LedgerError.
   */
  whenFree: <T>(doing: string, fn: () => T, waitMs: number) => Promise<T>;
  /** A read that never waits: undefined when the ledger is busy this instant. */
  peek: <T>(doing: string, fn: () => T) => T | undefined;
  /** when this connection last found the ledger locked by another process (epoch ms) */
  lastBusyMs: number | null;
}

/**
 * Waiting this long for the write lock means somebody held the ledger locked: nobody could write a
 * heartbeat meanwhile, so staleness says nothing about the controllers.
 */
const LOCKED_NOTICE_MS = 1_000;

const isBusy = (err: unknown): boolean =>
  err instanceof Database.SqliteError && (err.code.startsWith('SQLITE_BUSY') || err.code.startsWith('SQLITE_LOCKED'));

/** The longest pause between tries on a busy ledger; short, so a released lock is seen at once. */
const MAX_BUSY_PAUSE_MS = 40;

export class Ledger {
  private readonly core: Core;

  private constructor(
    readonly file: string,
    db: Db,
    nowMs: () => number,
  ) {
    const guard = <T>(doing: string, fn: () => T): T => {
      try {
        return fn();
      } catch (err) {
        // (this.core is unset only while the statements are prepared, in the constructor)
        if ((isBusy(err) || err instanceof BusyNow) && this.core) this.core.lastBusyMs = Date.now();
        // our own errors (invariants, the latch) pass through; SQLite's become advice
        if (err instanceof Database.SqliteError) throw ledgerErrorFrom(file, err, doing);
        throw err;
      }
    };
    const durably = <T>(fn: () => T): T => {
      db.pragma('synchronous = FULL');
      try {
        return fn();
      } finally {
        db.pragma('synchronous = NORMAL');
      }
    };
    /** fn with a busy timeout of 0: a lock held elsewhere is an SQLITE_BUSY now, not a stall. */
    const atOnce = <T>(fn: () => T): T => {
      db.pragma('busy_timeout = 0');
      try {
        return fn();
      } finally {
        db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      }
    };
    const whenFree = async <T>(doing: string, fn: () => T, waitMs: number): Promise<T> => {
      const deadlineMs = Date.now() + waitMs;
      for (let pauseMs = 1; ; pauseMs = Math.min(pauseMs * 2, MAX_BUSY_PAUSE_MS)) {
        try {
          return guard(doing, () => {
            try {
              return atOnce(fn);
            } catch (err) {
              // a BUSY is retried below: keep it raw for now
              if (isBusy(err)) throw new BusyNow(err);
              throw err;
            }
          });
        } catch (err) {
          if (!(err instanceof BusyNow)) throw err;
          if (Date.now() >= deadlineMs) throw ledgerErrorFrom(file, err.cause, `${doing} (locked by another process for ${waitMs} ms)`);
        }
        // jitter, so that two waiting processes do not retry in step
        await new Promise((resolve) => setTimeout(resolve, pauseMs / 2 + Math.random() * pauseMs));
      }
    };
    const peek = <T>(doing: string, fn: () => T): T | undefined => {
      try {
        return guard(doing, () => atOnce(fn));
      } catch (err) {
        if (err instanceof LedgerError && isBusy(err.cause)) return undefined;
        throw err;
      }
    };
    this.core = {
      db,
      st: guard('preparing statements', () => prepareStatements(db)),
      nowMs,
      guard,
      durably,
      whenFree,
      peek,
      lastBusyMs: null,
    };
  }

  /** Whether a ledger exists in `stateDir` (lets read-only commands avoid creating one). */
  static exists(stateDir: string): boolean {
    const file = join(stateDir, LEDGER_FILE);
    try {
      statSync(file);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw ledgerErrorFrom(file, err, 'looking for the ledger'); // e.g. EACCES: not "no ledger"
    }
  }

  /** Open (creating and migrating if needed) the ledger of `stateDir`. Throws LedgerError, never resets. */
  static open(stateDir: string, opts: LedgerOptions = {}): Ledger {
    const file = join(stateDir, LEDGER_FILE);
    try {
      ensureStateDir(stateDir);
    } catch (err) {
      if (err instanceof StateDirError) throw new LedgerError(file, err.message, 'The ledger cannot be opened there', { cause: err });
      throw err;
    }
    const key = resolve(file);
    if (!openHere.get(key)) vetBeforeOpening(file);
    let db: Db | undefined;
    try {
      db = new Database(file, { fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
      // quick_check first: it reads the header and every page, so garbage fails here, before anything writes
      const check = db.pragma('quick_check') as Array<{ quick_check: string }>;
      if (check.length !== 1 || check[0].quick_check !== 'ok') {
        throw new LedgerError(
          file,
          `integrity check failed: ${check
            .map((c) => c.quick_check)
            .slice(0, 3)
            .join('; ')}`,
          corruptAdvice(file),
        );
      }
      assertGamedayLedger(db, file); // before anything below writes to a file that may not be ours
      if (db.pragma('journal_mode', { simple: true }) !== 'wal') {
        const mode = db.pragma('journal_mode = WAL', { simple: true });
        if (mode !== 'wal')
          throw new LedgerError(file, `cannot switch to WAL (journal_mode is ${String(mode)})`, 'Put the state dir on a local file system');
      }
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db, file);
      tightenModes(file); // a ledger whose header did not say so yet (a v1 one never checkpointed)
      const ledger = new Ledger(file, db, opts.nowMs ?? Date.now);
      openHere.set(key, (openHere.get(key) ?? 0) + 1);
      return ledger;
    } catch (err) {
      db?.close();
      if (err instanceof LedgerError) throw err;
      throw ledgerErrorFrom(file, err, 'opening');
    }
  }

  /**
   * Open an existing ledger only to read it, for a process that watches it (`gameday exporter`):
   * SQLite's read-only mode, so it never creates, migrates, re-modes or writes the ledger, and in
   * WAL mode no writer ever waits on it. What open() refuses is refused too, and so is a ledger
   * that open() would first migrate or switch to WAL (that is a write). Like any reader of a WAL
   * database it may create the -wal and -shm beside the ledger (0600, the ledger's mode).
   * `integrityCheck: false` leaves out open()'s quick_check (it reads every page: ~6 ms a 2.3 MB
   * ledger), for a watcher re-opening a file it has checked before.
   */
  static openReadOnly(stateDir: string, opts: LedgerOptions & { integrityCheck?: boolean } = {}): Ledger {
    const file = join(stateDir, LEDGER_FILE);
    const key = resolve(file);
    // reading the header opens and closes the file: not while this process has it open through SQLite (tightenModes)
    if (!openHere.get(key)) vetReadOnly(file);
    let db: Db | undefined;
    try {
      // A reader of a WAL database waits only for another connection's WAL recovery: briefly, and
      // never long, since a synchronous wait also stalls the watcher's event loop.
      db = new Database(file, { readonly: true, fileMustExist: true, timeout: READ_ONLY_BUSY_TIMEOUT_MS });
      assertReadable(db, file, opts.integrityCheck ?? true);
      const ledger = new Ledger(file, db, opts.nowMs ?? Date.now);
      openHere.set(key, (openHere.get(key) ?? 0) + 1);
      return ledger;
    } catch (err) {
      db?.close();
      if (err instanceof LedgerError) throw err;
      throw ledgerErrorFrom(file, err, 'opening read-only');
    }
  }

  /**
   * `fn`'s reads in one read transaction, so that they all see one committed state. In WAL mode it
   * holds no lock a writer waits for: what writers commit meanwhile, fn does not see.
   */
  readConsistently<T>(fn: () => T): T {
    const { db, guard } = this.core;
    return guard('reading the ledger', () => db.transaction(fn).deferred());
  }

  /** Today's totals, latch and experiments from one read transaction (LedgerStore.snapshot). */
  snapshot(opts: SnapshotOptions = {}): LedgerSnapshot {
    return this.readConsistently(() => {
      const clockMs = this.core.nowMs();
      const date = utcDate(clockMs);
      return {
        clockMs,
        day: this.dayTotals(date, opts.capUsd),
        latch: this.stopLatch(),
        running: this.runningExperiments(),
        recent: this.recentExperiments(opts.recentLimit ?? 10),
        byStatus: this.experimentsByStatus(date),
        awaitingRollback: this.awaitingRollback(),
      };
    });
  }

  /** Experiments started on `dateUtc` (a UTC day), counted by status; statuses with none are absent. */
  experimentsByStatus(dateUtc = utcDate(this.core.nowMs())): Record<string, number> {
    const { st, guard } = this.core;
    const startMs = Date.parse(`${dateUtc}T00:00:00.000Z`);
    const rows = guard(
      'counting experiments',
      () => st.startedByStatus.all(startMs, startMs + DAY_MS) as Array<{ status: string; n: number }>,
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  /** Record a new running experiment. Throws StopLatchedError while the emergency stop is latched. */
  registerExperiment(spec: ExperimentSpec): ExperimentHandle {
    const costMicros = toMicros(spec.costPerRequestUsd);
    const experimentCapMicros = toMicros(spec.experimentCapUsd);
    const dailyCapMicros = toMicros(spec.dailyCapUsd);
    if (!(costMicros >= 1)) throw new RangeError(`cost per request must be at least $0.000001, got ${spec.costPerRequestUsd}`);
    if (!(experimentCapMicros >= 0) || !(dailyCapMicros >= 0)) throw new RangeError('budget caps must be non-negative numbers');
    const { db, st, nowMs, guard } = this.core;
    const id = guard('registering the experiment', () =>
      db
        .transaction(() => {
          const latch = st.latch.get() as { at_ms: number; by: string } | undefined;
          if (latch) throw new StopLatchedError(latch.at_ms, latch.by);
          const now = nowMs();
          for (;;) {
            const candidate = randomBytes(4).toString('hex');
            if (st.experiment.get(candidate)) continue; // 1 in 4 billion; just draw again
            st.insertExperiment.run(
              candidate,
              spec.name,
              spec.pid ?? process.pid,
              spec.host ?? thisHost(),
              spec.operator ?? null,
              now,
              now,
              costMicros,
              experimentCapMicros,
              dailyCapMicros,
            );
            return candidate;
          }
        })
        .immediate(),
    );
    return new LedgerExperiment(this.core, id, costMicros, experimentCapMicros, dailyCapMicros);
  }

  experiment(id: string): ExperimentRow | undefined {
    const raw = this.core.guard('reading an experiment', () => this.core.st.experiment.get(id) as RawExperiment | undefined);
    return raw && toRow(raw);
  }

  /** Every experiment with status running, whatever its heartbeat. */
  runningExperiments(): ExperimentRow[] {
    return this.core.guard('listing running experiments', () => (this.core.st.running.all() as RawExperiment[]).map(toRow));
  }

  /** Running experiments whose heartbeat is fresh. */
  liveExperiments(staleMs = HEARTBEAT_STALE_MS, nowMs = this.core.nowMs()): ExperimentRow[] {
    return this.runningExperiments().filter((e) => e.heartbeatMs >= nowMs - staleMs);
  }

  /**
   * Declare dead every running experiment whose heartbeat is older than `staleMs`, or whose pid is
   * gone on this host: status 'dead', and everything it reserved counts as spent (it may have sent
   * it). Returns the newly dead, rollback plans included; each is returned once, and its money is
   * frozen, so nothing is counted twice if the controller turns out to be alive after all.
   */
  markDead(staleMs = HEARTBEAT_STALE_MS, nowMs = this.core.nowMs()): ExperimentRow[] {
    const core = this.core;
    const { db, st, guard } = core;
    const here = thisHost();
    const calledAtMs = Date.now();
    return guard('marking dead controllers', () =>
      db
        .transaction(() => {
          // While another process held the ledger locked no controller could heart-beat: a stale
          // heartbeat then proves nothing, and a live controller must not be declared dead for it
          // (a vanished pid still does). Judged again once the ledger has been free for staleMs.
          const lockedLately =
            Date.now() - calledAtMs >= LOCKED_NOTICE_MS || (core.lastBusyMs !== null && Date.now() - core.lastBusyMs < staleMs);
          const dead = (st.running.all() as RawExperiment[]).filter(
            (r) => (!lockedLately && r.heartbeat_ms < nowMs - staleMs) || (r.host === here && !pidAlive(r.pid)),
          );
          for (const r of dead) {
            st.countAsSpent.run(r.id);
            st.setDead.run(nowMs, r.id);
          }
          return dead.map((r) => toRow(st.experiment.get(r.id) as RawExperiment));
        })
        .immediate(),
    );
  }

  /** Dead experiments with a rollback plan nobody has executed yet (survives a crash of `recover`). */
  awaitingRollback(): ExperimentRow[] {
    return this.core.guard('listing dead experiments', () => (this.core.st.awaitingRollback.all() as RawExperiment[]).map(toRow));
  }

  /** `recover` executed this dead experiment's rollback plan; its claim, if any, ends with it. */
  markRecovered(id: string, nowMs = this.core.nowMs()): void {
    this.core.guard('marking an experiment recovered', () => this.core.st.setRecoveredUnclaimed.run(nowMs, id));
  }

  /**
   * Claim a dead experiment's rollback plan for this process, so that exactly one executor runs it:
   * one atomic UPDATE that succeeds only while the plan is unclaimed, or its claimant is provably
   * gone (same host, pid dead), or the claimant's lease (`leaseMs`, sized from the plan) has expired.
   * On success run the plan, then markRecovered (clears the claim) or releaseRollback.
   */
  claimRollback(id: string, leaseMs: number, claimant: Claimant = {}): ClaimResult {
    const { st, guard } = this.core;
    const now = claimant.nowMs ?? this.core.nowMs();
    const args = {
      id,
      host: claimant.host ?? thisHost(),
      pid: claimant.pid ?? process.pid,
      now,
      until: now + Math.max(0, Math.ceil(leaseMs)),
    };
    return guard('claiming a rollback plan', () => {
      if (st.claimRollback.run(args).changes === 1) return { claimed: true };
      // informational: who holds it (read after the refusal; the claim itself was atomic)
      const state = st.claimState.get(id) as (RollbackClaim & { awaiting: number }) | undefined;
      return { claimed: false, holder: state?.awaiting ? claimOf(state) : null };
    });
  }

  /** Give up this process's claim (the plan failed): the next recover or watchdog may retry it. */
  releaseRollback(id: string, claimant: Claimant = {}): boolean {
    return this.core.guard(
      'releasing a rollback claim',
      () => this.core.st.releaseRollback.run(id, claimant.host ?? thisHost(), claimant.pid ?? process.pid).changes > 0,
    );
  }

  /** Who holds the claim on this experiment's rollback plan, or null. */
  rollbackClaim(id: string): RollbackClaim | null {
    return this.core.guard('reading a rollback claim', () => claimOf(this.core.st.claimState.get(id) as RollbackClaim | undefined));
  }

  stopLatch(): StopLatch {
    const latch = this.core.guard('reading the stop latch', () => this.core.st.latch.get() as { at_ms: number; by: string } | undefined);
    return latch ? { latched: true, atMs: latch.at_ms, by: latch.by } : { latched: false };
  }

  /** Latch the emergency stop; if it is already latched, the first latch (time, by) stands. */
  setStopLatch(by: string): StopLatch {
    this.core.guard('setting the stop latch', () => this.core.durably(() => this.core.st.setLatch.run(this.core.nowMs(), by)));
    return this.stopLatch();
  }

  /** Returns whether it was latched. */
  clearStopLatch(): boolean {
    return this.core.guard('clearing the stop latch', () => this.core.st.clearLatch.run().changes > 0);
  }

  dayTotals(dateUtc = utcDate(this.core.nowMs()), capUsd?: number): DayTotals {
    const { st, guard } = this.core;
    return guard("reading the day's totals", () => {
      const t = st.dayTotals.get(dateUtc) as { spent: number; held: number };
      const capMicros = st.latestDailyCap.get() as number | undefined;
      return {
        date: dateUtc,
        spentUsd: fromMicros(t.spent),
        reservedUsd: fromMicros(t.held),
        capUsd: capUsd ?? (capMicros === undefined ? null : fromMicros(capMicros)),
      };
    });
  }

  /** Newest first. */
  recentExperiments(limit = 10): ExperimentRow[] {
    return this.core.guard('listing experiments', () => (this.core.st.recent.all(limit) as RawExperiment[]).map(toRow));
  }

  close(): void {
    if (!this.core.db.open) return;
    this.core.db.close();
    const key = resolve(this.file);
    const n = (openHere.get(key) ?? 1) - 1;
    if (n > 0) openHere.set(key, n);
    else openHere.delete(key);
  }
}

class LedgerExperiment implements ExperimentHandle {
  readonly costPerRequestUsd: number;
  private settled = false;
  private lastReported = -1;
  /** what totals() answers while the ledger is busy */
  private lastTotals: BudgetTotals | null = null;

  constructor(
    private readonly core: Core,
    readonly id: string,
    private readonly costMicros: number,
    private readonly experimentCapMicros: number,
    private readonly dailyCapMicros: number,
  ) {
    this.costPerRequestUsd = fromMicros(costMicros);
  }

  reserve(requests: number): Promise<ReserveResult> {
    const asked = Math.floor(requests);
    if (!(asked > 0)) return Promise.resolve({ grantedRequests: 0 });
    const { db, st, nowMs, durably, whenFree } = this.core;
    const cost = this.costMicros;
    const tx = db.transaction((): ReserveResult => {
      const state = st.reserveState.get(this.id) as { latched: number; status: string; settled: number } | undefined;
      if (state?.latched) return { grantedRequests: 0, limitedBy: 'emergency-stop' };
      if (!state || state.status !== 'running' || state.settled) return { grantedRequests: 0, limitedBy: 'not-running' };
      const day = utcDate(nowMs());
      // Every reservation of the day counts: running experiments' holdings, dead ones' (as spent), finished ones' spend.
      const result = grantRequests({
        askedRequests: asked,
        costMicros: cost,
        experimentCapMicros: this.experimentCapMicros,
        experimentHeldMicros: st.experimentHeld.get(this.id) as number,
        dayCapMicros: this.dailyCapMicros,
        dayHeldMicros: st.dayHeld.get(day) as number,
      });
      if (result.grantedRequests > 0) st.addReservation.run(this.id, day, result.grantedRequests * cost);
      return result;
    });
    return whenFree('reserving budget', () => durably(() => tx.immediate()), RUN_LOCK_WAIT_MS);
  }

  async report(sentRequests: number): Promise<void> {
    if (this.settled || sentRequests === this.lastReported) return;
    const { db, whenFree } = this.core;
    await whenFree('reporting spend', () => db.transaction(() => this.applySent(sentRequests)).immediate(), RUN_LOCK_WAIT_MS);
    this.lastReported = sentRequests;
  }

  async settle(sentRequests: number): Promise<void> {
    if (this.settled) return;
    const { db, whenFree } = this.core;
    await whenFree('settling', () => db.transaction(() => this.settleInTx(sentRequests)).immediate(), END_LOCK_WAIT_MS);
    this.settled = true;
  }

  async finish(status: RunStatus, sentRequests: number): Promise<void> {
    const { db, st, nowMs, whenFree } = this.core;
    await whenFree(
      'finishing the experiment',
      () =>
        db
          .transaction(() => {
            if (!this.settled) this.settleInTx(sentRequests);
            st.setFinished.run(status, nowMs(), this.id);
          })
          .immediate(),
      END_LOCK_WAIT_MS,
    );
    this.settled = true;
  }

  totals(): BudgetTotals {
    const { st, nowMs, guard, peek } = this.core;
    const read = () =>
      st.totals.get({ id: this.id, day: utcDate(nowMs()) }) as {
        exp_reserved: number;
        exp_spent: number;
        day_spent: number;
        others_held: number;
      };
    // The first read may wait (it is preflight's, before anything is injected); later ones never do.
    const t = this.lastTotals ? peek('reading totals', read) : guard('reading totals', read);
    if (!t) return this.lastTotals!;
    this.lastTotals = {
      costPerRequestUsd: this.costPerRequestUsd,
      experimentCapUsd: fromMicros(this.experimentCapMicros),
      experimentSpentUsd: fromMicros(t.exp_spent),
      experimentReservedUsd: fromMicros(t.exp_reserved - t.exp_spent),
      dayCapUsd: fromMicros(this.dailyCapMicros),
      daySpentUsd: fromMicros(t.day_spent),
      dayReservedUsd: fromMicros(t.others_held),
    };
    return this.lastTotals;
  }

  heartbeat(phase: string): Promise<StopReason | null> {
    const { st, nowMs, whenFree } = this.core;
    return whenFree(
      'heart-beating',
      (): StopReason | null => {
        if (st.heartbeat.run(nowMs(), phase, this.id).changes === 0) return 'not-running';
        return st.latch.get() ? 'emergency-stop' : null;
      },
      RUN_LOCK_WAIT_MS,
    );
  }

  async setRollbackPlan(plan: unknown): Promise<void> {
    const json = plan === undefined || plan === null ? null : JSON.stringify(plan);
    await this.core.whenFree('recording the rollback plan', () => this.core.st.setRollbackPlan.run(json, this.id), RUN_LOCK_WAIT_MS);
  }

  async ackStopped(): Promise<void> {
    await this.core.whenFree(
      'acknowledging the emergency stop',
      () => this.core.st.ackStopped.run(this.core.nowMs(), this.id),
      END_LOCK_WAIT_MS,
    );
  }

  /** Spread the cumulative sent count over the days' reservations, oldest first. Inside a transaction. */
  private applySent(sentRequests: number): boolean {
    const { st } = this.core;
    const state = st.reserveState.get(this.id) as { status: string; settled: number } | undefined;
    if (!state || state.status !== 'running' || state.settled) return false; // dead: its money is frozen
    const rows = st.spendRows.all(this.id) as Array<{ day: string; reserved_micros: number; spent_micros: number }>;
    const reservedMicros = rows.reduce((sum, r) => sum + r.reserved_micros, 0);
    let left = sentRequests * this.costMicros;
    if (!Number.isInteger(sentRequests) || sentRequests < 0 || left > reservedMicros) {
      throw new Error(`budget invariant broken: ${sentRequests} requests sent but ${reservedMicros / this.costMicros} reserved`);
    }
    for (const r of rows) {
      const spent = Math.min(r.reserved_micros, left);
      left -= spent;
      if (spent !== r.spent_micros) st.setSpent.run(spent, this.id, r.day);
    }
    return true;
  }

  private settleInTx(sentRequests: number): void {
    if (!this.applySent(sentRequests)) return;
    this.core.st.handBack.run(this.id);
    this.core.st.setSettled.run(this.id);
  }
}
