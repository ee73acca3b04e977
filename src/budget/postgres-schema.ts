// The PostgreSQL ledger's schema, in a schema of its own (`gameday`) so that it can share a
// database. Versioned by gameday.meta.version: migration N takes version N to N+1. Append
// migrations; never edit one that has shipped. Its versions are its own: v1 holds what the SQLite
// ledger's v1..v3 hold (ledger-schema.ts), the same columns, plus what a shared server needs.
//
// Times are epoch ms from the database's clock (NOW_MS), money integer micro-dollars, both bigint.
import type pg from 'pg';
import { LedgerError } from './ledger-error.ts';

const PG_MIGRATIONS: readonly string[] = [
  // v1
  `
  CREATE SCHEMA IF NOT EXISTS gameday;

  -- The schema version: one row.
  CREATE TABLE gameday.meta (
    one            boolean PRIMARY KEY DEFAULT true CHECK (one),
    version integer NOT NULL
  );
  INSERT INTO gameday.meta (version) VALUES (0);

  -- One row per experiment. status: running | dead (controller stopped heart-beating; its
  -- reservation was counted as spent) | the RunStatus it finished with. seq orders experiments
  -- started in the same millisecond (SQLite's rowid).
  CREATE TABLE gameday.experiments (
    id                      text PRIMARY KEY,
    seq                     bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    name                    text NOT NULL,
    pid                     integer NOT NULL,
    host                    text NOT NULL,
    operator                text,
    started_ms              bigint NOT NULL,
    ended_ms                bigint,
    phase                   text NOT NULL,
    status                  text NOT NULL,
    heartbeat_ms            bigint NOT NULL,
    cost_micros             bigint NOT NULL CHECK (cost_micros > 0),
    experiment_cap_micros   bigint NOT NULL CHECK (experiment_cap_micros >= 0),
    daily_cap_micros        bigint NOT NULL CHECK (daily_cap_micros >= 0),
    settled                 boolean NOT NULL DEFAULT false,
    rollback_plan           text,            -- JSON a watchdog or recover can execute
    stop_acked_ms           bigint,          -- controller reported rolled back after an emergency stop
    recovered_ms            bigint,          -- a dead controller's rollback plan was executed
    rollback_claim_host     text,            -- who executes the rollback plan (one executor at a time)
    rollback_claim_pid      integer,
    rollback_claim_ms       bigint,
    rollback_lease_until_ms bigint
  );
  CREATE INDEX experiments_by_status ON gameday.experiments (status);
  CREATE INDEX experiments_by_start ON gameday.experiments (started_ms);

  -- One row per UTC day (of the database's clock) that has had a reservation: the lock every
  -- reservation of that day takes (SELECT ... FOR UPDATE), so they take their turns.
  CREATE TABLE gameday.days (
    day text PRIMARY KEY CHECK (day ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$')
  );

  -- Money per experiment per UTC day, as in the SQLite ledger: reserved includes the spent part;
  -- settling sets reserved := spent, a dead controller gets spent := reserved, so the sum of
  -- reserved over a day is everything it has committed.
  CREATE TABLE gameday.spend (
    experiment_id   text NOT NULL REFERENCES gameday.experiments (id),
    day             text NOT NULL REFERENCES gameday.days (day),
    reserved_micros bigint NOT NULL CHECK (reserved_micros >= 0),
    spent_micros    bigint NOT NULL CHECK (spent_micros >= 0 AND spent_micros <= reserved_micros),
    PRIMARY KEY (experiment_id, day)
  );
  CREATE INDEX spend_by_day ON gameday.spend (day);

  -- The emergency stop: a row here means latched.
  CREATE TABLE gameday.stop_latch (
    one   boolean PRIMARY KEY DEFAULT true CHECK (one),
    at_ms bigint NOT NULL,
    by    text NOT NULL
  );
  `,
];

/** The schema version this gameday writes; a database at a newer one is refused, untouched. */
export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/** The database's clock, epoch ms: liveness is judged by one clock, whichever machine asks. */
export const NOW_MS = '(floor(extract(epoch from clock_timestamp()) * 1000))::bigint';
/** Today by the database's clock, as a UTC date: the day a reservation is counted in. */
export const DAY_SQL = "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD')";

/** Taken (per transaction) by whoever creates or migrates the schema: "GDAY" in ASCII. */
const SCHEMA_LOCK = 0x47444159;

const upgradeAdvice = 'Upgrade gameday (every controller sharing this database must understand its schema), or use another database';

/** The schema's version as found: 0 when there is none yet. Reads only. */
async function foundVersion(client: pg.ClientBase, location: string): Promise<number> {
  const { rows } = await client.query<{ meta: string | null; tables: number }>(
    `SELECT to_regclass('gameday.meta')::text AS meta,
       (SELECT count(*)::int FROM pg_catalog.pg_tables WHERE schemaname = 'gameday') AS tables`,
  );
  if (rows[0].meta === null) {
    if (rows[0].tables > 0)
      throw new LedgerError(location, 'schema gameday has tables but no gameday.meta: not a gameday ledger', 'Use another database');
    return 0;
  }
  const meta = await client.query<{ version: number }>('SELECT version FROM gameday.meta');
  if (meta.rows.length !== 1) throw new LedgerError(location, `gameday.meta has ${meta.rows.length} rows, not 1`, 'Use another database');
  const version = meta.rows[0].version;
  if (version > PG_SCHEMA_VERSION)
    throw new LedgerError(
      location,
      `schema version ${version} is newer than this gameday understands (${PG_SCHEMA_VERSION})`,
      upgradeAdvice,
    );
  return version;
}

/**
 * Bring the schema to PG_SCHEMA_VERSION. A database at the current version is only read. Otherwise
 * one transaction under an advisory lock re-reads the version and migrates, so N processes opening
 * a fresh database at once create it once (the others wait, then find it done). A newer version is
 * refused before anything is written. Errors from the server propagate to the caller (it maps them).
 */
export async function ensureSchema(client: pg.ClientBase, location: string): Promise<void> {
  if ((await foundVersion(client, location)) === PG_SCHEMA_VERSION) return;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    const version = await foundVersion(client, location); // another process may have done it meanwhile
    for (let v = version; v < PG_SCHEMA_VERSION; v++) await client.query(PG_MIGRATIONS[v]);
    if (version < PG_SCHEMA_VERSION) await client.query('UPDATE gameday.meta SET version = $1', [PG_SCHEMA_VERSION]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {}); // the connection may be gone: then the server rolls back
    throw err;
  }
}
