// The ledger's schema, versioned by PRAGMA user_version: migration N takes version N to N+1.
// Append migrations; never edit one that has shipped.
import type Database from 'better-sqlite3';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { LedgerError, ledgerErrorFrom } from './ledger-error.ts';

/** PRAGMA application_id of a gameday ledger ("GDAY"), set from v2 on: marks the file as ours in its header. */
export const GAMEDAY_APPLICATION_ID = 0x47444159;

export const MIGRATIONS: readonly string[] = [
  // v1
  `
  -- One row per experiment. status: running | dead (controller stopped heart-beating; its
  -- reservation was counted as spent) | the RunStatus it finished with.
  CREATE TABLE experiments (
    id                    TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    pid                   INTEGER NOT NULL,
    host                  TEXT NOT NULL,
    started_ms            INTEGER NOT NULL,
    ended_ms              INTEGER,
    phase                 TEXT NOT NULL,
    status                TEXT NOT NULL,
    heartbeat_ms          INTEGER NOT NULL,
    cost_micros           INTEGER NOT NULL CHECK (cost_micros > 0),
    experiment_cap_micros INTEGER NOT NULL CHECK (experiment_cap_micros >= 0),
    daily_cap_micros      INTEGER NOT NULL CHECK (daily_cap_micros >= 0),
    settled               INTEGER NOT NULL DEFAULT 0,
    rollback_plan         TEXT,            -- JSON a watchdog or recover can execute
    stop_acked_ms         INTEGER,         -- controller reported rolled back after an emergency stop
    recovered_ms          INTEGER          -- a dead controller's rollback plan was executed
  ) STRICT;
  CREATE INDEX experiments_by_status ON experiments(status);
  CREATE INDEX experiments_by_start ON experiments(started_ms);

  -- Money per experiment per UTC day (the day of the reservation), in integer micro-dollars.
  -- reserved includes the spent part; settling sets reserved := spent (hands the rest back) and a
  -- dead controller gets spent := reserved, so SUM(reserved) over a day is everything the day has
  -- committed, and the CHECK guards "sent × cost <= reserved" in the database itself.
  CREATE TABLE spend (
    experiment_id   TEXT NOT NULL REFERENCES experiments(id),
    day             TEXT NOT NULL,
    reserved_micros INTEGER NOT NULL CHECK (reserved_micros >= 0),
    spent_micros    INTEGER NOT NULL CHECK (spent_micros >= 0 AND spent_micros <= reserved_micros),
    PRIMARY KEY (experiment_id, day)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX spend_by_day ON spend(day);

  -- The emergency stop: a row here means latched.
  CREATE TABLE stop_latch (
    only  INTEGER PRIMARY KEY CHECK (only = 1),
    at_ms INTEGER NOT NULL,
    by    TEXT NOT NULL
  ) STRICT;
  `,
  // v2
  `
  -- Who is executing a dead controller's rollback plan (recover, a watchdog, a run's recovery), so
  -- that exactly one does at a time. Taken by one atomic UPDATE while unclaimed, or while the
  -- claimant is provably gone (same host, pid dead) or its lease has expired; cleared when the plan
  -- succeeded (recovered_ms set) or released when it failed, so a later recover retries.
  ALTER TABLE experiments ADD COLUMN rollback_claim_host TEXT;
  ALTER TABLE experiments ADD COLUMN rollback_claim_pid INTEGER;
  ALTER TABLE experiments ADD COLUMN rollback_claim_ms INTEGER;
  ALTER TABLE experiments ADD COLUMN rollback_lease_until_ms INTEGER;
  PRAGMA application_id = 1195655513; -- 0x47444159, 'GDAY': GAMEDAY_APPLICATION_ID
  `,
  // v3
  `
  -- Who runs each experiment (--operator, else $USER), shown by budget-status to the whole team.
  ALTER TABLE experiments ADD COLUMN operator TEXT;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

const userVersion = (db: Database.Database): number => db.pragma('user_version', { simple: true }) as number;

/** Bring the schema to SCHEMA_VERSION; safe when several processes open a fresh ledger at once. */
export function migrate(db: Database.Database, file: string): void {
  const seen = assertGamedayLedger(db, file);
  if (seen === SCHEMA_VERSION) return;
  db.transaction(() => {
    const version = userVersion(db); // re-read under the write lock: another process may have migrated
    if (version === 0) assertGamedayLedger(db, file);
    for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

/**
 * Read-only: is this file a gameday ledger (or empty, to become one) of a version we understand?
 * Checked before anything writes to it (WAL, chmod, migrations): a foreign file is left as it is.
 * Returns its schema version.
 */
export function assertGamedayLedger(db: Database.Database, file: string): number {
  const version = userVersion(db);
  if (version > SCHEMA_VERSION) {
    throw new LedgerError(
      file,
      `schema version ${version} is newer than this gameday understands (${SCHEMA_VERSION})`,
      'Upgrade gameday, or point --state-dir elsewhere',
    );
  }
  const notOurs = (why: string) =>
    new LedgerError(file, `this SQLite file is not a gameday ledger (${why})`, 'Point --state-dir elsewhere; the file is left as it is');
  if (version === 0 && (db.prepare('SELECT count(*) FROM sqlite_master').pluck().get() as number) > 0)
    throw notOurs('it has tables but no schema version');
  const appId = db.pragma('application_id', { simple: true }) as number;
  // v1 ledgers predate the application id; from v2 on it must be ours
  if (appId !== GAMEDAY_APPLICATION_ID && (appId !== 0 || version >= 2)) throw notOurs(`its application id is ${appId}`);
  if (version >= 1) {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('experiments', 'spend', 'stop_latch')")
      .pluck()
      .all();
    if (tables.length !== 3) throw notOurs(`schema version ${version} without the ledger's tables`);
  }
  return version;
}

/** What the first 100 bytes of a ledger file say, read with plain fs before SQLite touches it. */
export type LedgerHeader =
  | { kind: 'absent' }
  | { kind: 'empty' }
  | { kind: 'not-sqlite' }
  | { kind: 'sqlite'; userVersion: number; applicationId: number; wal: boolean };

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/** Reads the header read-only (no SQLite, no -wal/-shm created). Unreadable files are LedgerErrors. */
export function readLedgerHeader(file: string): LedgerHeader {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'absent' };
    throw ledgerErrorFrom(file, err, 'opening');
  }
  try {
    if (fstatSync(fd).size === 0) return { kind: 'empty' };
    const h = Buffer.alloc(100);
    const n = readSync(fd, h, 0, 100, 0);
    if (n < 100 || !h.subarray(0, 16).equals(SQLITE_MAGIC)) return { kind: 'not-sqlite' };
    // file format: offset 18/19 write/read version (2 = WAL), 60 user_version, 68 application_id, big-endian
    return { kind: 'sqlite', userVersion: h.readUInt32BE(60), applicationId: h.readUInt32BE(68), wal: h[18] === 2 && h[19] === 2 };
  } catch (err) {
    throw ledgerErrorFrom(file, err, 'reading the header');
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether a header is a gameday ledger's, so that its file may be re-moded before SQLite opens it.
 * The main file's header lags the -wal, so a v1 ledger (no application id yet) counts by version.
 */
export function headerIsGameday(h: LedgerHeader): boolean {
  if (h.kind !== 'sqlite' || h.userVersion < 1 || h.userVersion > SCHEMA_VERSION) return false;
  return h.applicationId === GAMEDAY_APPLICATION_ID || (h.applicationId === 0 && h.userVersion === 1);
}
