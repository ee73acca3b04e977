// The ledger's schema, versioned by PRAGMA user_version: migration N takes version N to N+1.
// Append migrations; never edit one that has shipped.
import type Database from 'better-sqlite3';
import { LedgerError } from './ledger-error.ts';

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
    throw new LedgerError(file, `schema version ${version} is newer than this gameday understands (${SCHEMA_VERSION})`, 'Upgrade gameday, or point --state-dir elsewhere');
  }
  if (version === 0 && (db.prepare('SELECT count(*) FROM sqlite_master').pluck().get() as number) > 0) {
    throw new LedgerError(file, 'this SQLite file is not a gameday ledger (it has tables but no schema version)', 'Point --state-dir elsewhere; the file is left as it is');
  }
  return version;
}
