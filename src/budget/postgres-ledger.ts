// The team ledger: one PostgreSQL database shared by the controllers of every machine of a game
// day, with the SQLite ledger's semantics (sqlite-ledger.ts is the reference; the conformance
// suite runs the same cases over both). Its tables live in schema `gameday` (postgres-schema.ts).
//
// - Clock: every time it records or judges (started, heartbeat, dead, the reservation's UTC day) is
//   the database's clock, never this machine's: controllers on several machines are judged by one.
// - Reservations take the day's row lock, so every reservation of one day takes its turn (below).
// - Timeouts: nothing waits on the server unboundedly. A running controller's calls (reserve,
//   report, heartbeat) give up after RUN_WINDOW_MS and the engine fails closed; what comes after
//   the fault is out (settle, finish, ackStopped) retries for END_WINDOW_MS and is idempotent, so
//   a server restarted meanwhile still gets the result, counted once.
// - Errors: every pg or network failure is a LedgerError (postgres-error.ts), without the password.
// - The stop latch: setting it NOTIFYs gameday_stop in the same transaction; watchStop LISTENs on a
//   connection of its own and reconnects. Heartbeats read the latch too: the fallback.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { RunStatus } from '../engine/events.ts';
import { GamedayError } from '../errors/gameday-error.ts';
import { pidAlive } from '../faults/pid.ts';
import { fromMicros, grantRequests, toMicros, type BudgetTotals, type ReserveResult } from './budget.ts';
import { thisHost } from './identity.ts';
import { LedgerError, StopLatchedError } from './ledger-error.ts';
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
  type LedgerStore,
  type RollbackClaim,
  type SnapshotOptions,
  type StopLatch,
  type StopReason,
} from './ledger-store.ts';
import { isConnectionFailure, isTransient, pgLedgerError, pgTarget, type PgTarget } from './postgres-error.ts';
import { DAY_SQL, ensureSchema, NOW_MS } from './postgres-schema.ts';

export { PG_SCHEMA_VERSION } from './postgres-schema.ts';

export interface PostgresLedgerOptions {
  /** connections in the pool (default 4: a controller makes at most a few calls at once) */
  poolSize?: number;
  /** how long opening one connection may take (default 3000 ms) */
  connectTimeoutMs?: number;
}

/** A running controller's calls: tried (and retried on a lost connection) for this long, then the run fails closed. Like SQLite's RUN_LOCK_WAIT_MS. */
const RUN_WINDOW_MS = 5_000;
/** Settling and recording the result come after the fault is out: worth waiting longer for (a restart). Like SQLite's END_LOCK_WAIT_MS. */
const END_WINDOW_MS = 30_000;
/** The commands' calls (status, recover, emergency-stop): one try, bounded. */
const CALL_MS = 10_000;
/**
 * The server's own bounds, beyond every client deadline: a statement, or a transaction left idle by
 * a controller that lost its network mid-way, ends there, so it cannot hold a day's lock for long.
 */
const SERVER_TIMEOUT_MS = 15_000;
/** The latch's advisory lock ("GDAY" + 1): registering shares it, latching takes it alone. */
const LATCH_LOCK = 0x4744415901;
const STOP_CHANNEL = 'gameday_stop';
const DAY_MS = 86_400_000;

const noop = (): void => {};
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** "sent more than reserved": a bug in the caller, passed through as is (as the SQLite ledger throws it). */
class BudgetInvariantError extends Error {}

/** A call that used up its time. Its code makes it a network failure (postgres-error.ts). */
class DeadlineError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/** pg returns bigint (int8) as text: money and epoch ms fit a double exactly, checked. */
function num(v: string | number): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`the ledger holds ${String(v)}, not an integer this gameday can count exactly`);
  return n;
}
const numOrNull = (v: string | number | null): number | null => (v === null ? null : num(v));

type Q = <R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

/** The pool, with deadlines, retries and errors mapped: every query of the ledger goes through run(). */
class Db {
  /** when a call last found the server out of reach (this machine's clock: only ever a duration) */
  lastUnreachableMs: number | null = null;

  constructor(
    readonly pool: pg.Pool,
    readonly target: PgTarget,
  ) {}

  /** Whether the server was out of reach within the last `ms`: nobody's heartbeat could be written then. */
  unreachableWithin(ms: number): boolean {
    return this.lastUnreachableMs !== null && Date.now() - this.lastUnreachableMs < ms;
  }

  /** A connection within `ms`; one that arrives late goes back to the pool. */
  private async connect(ms: number): Promise<pg.PoolClient> {
    const connecting = this.pool.connect();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new DeadlineError(ms)), ms)));
    try {
      return await Promise.race([connecting, late]);
    } catch (err) {
      connecting.then((c) => c.release(), noop);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * `fn` on one connection, in a transaction if `begin` (its BEGIN), all within `ms`. A failure that says the
   * connection is gone drops it (the server rolls back what it had begun); another rolls back.
   * Our own errors (the latch, a LedgerError, an invariant) pass through; the rest become LedgerErrors.
   */
  async run<T>(doing: string, ms: number, fn: (q: Q, client: pg.PoolClient) => Promise<T>, begin: string | null = null): Promise<T> {
    const tx = begin !== null;
    const deadline = Date.now() + ms;
    let client: pg.PoolClient;
    try {
      client = await this.connect(ms);
    } catch (err) {
      this.lastUnreachableMs = Date.now();
      throw pgLedgerError(this.target, err, doing);
    }
    const q: Q = (text, values) => {
      const left = deadline - Date.now();
      if (left <= 0) return Promise.reject(new DeadlineError(ms));
      return client.query({ text, values, query_timeout: left } as pg.QueryConfig);
    };
    try {
      if (begin !== null) await q(begin);
      const result = await fn(q, client);
      if (tx) await q('COMMIT');
      client.release();
      return result;
    } catch (err) {
      if (isConnectionFailure(err)) this.lastUnreachableMs = Date.now();
      if (isConnectionFailure(err)) client.release(true);
      else if (!tx) client.release();
      else
        await client.query({ text: 'ROLLBACK', query_timeout: 2_000 } as pg.QueryConfig).then(
          () => client.release(),
          () => client.release(true),
        );
      if (err instanceof GamedayError || err instanceof BudgetInvariantError) throw err;
      throw pgLedgerError(this.target, err, doing);
    }
  }

  /** A transaction. */
  tx<T>(doing: string, ms: number, fn: (q: Q) => Promise<T>): Promise<T> {
    return this.run(doing, ms, fn, 'BEGIN');
  }

  /** One statement's rows. */
  async rows<R extends pg.QueryResultRow>(doing: string, text: string, values: unknown[] = [], ms = CALL_MS): Promise<R[]> {
    return this.run(doing, ms, async (q) => (await q<R>(text, values)).rows);
  }

  /**
   * `attempt` again while it fails for a transient reason (the server restarting, a lost
   * connection, a timeout), with a short backoff, for up to `windowMs`; each try gets what is left.
   * Only for what is safe to repeat: idempotent writes, or a reservation (a repeat after a commit
   * that was lost on the way errs towards holding more, never spending more).
   */
  async retrying<T>(windowMs: number, attempt: (ms: number) => Promise<T>): Promise<T> {
    const until = Date.now() + windowMs;
    for (let pauseMs = 100; ; pauseMs = Math.min(pauseMs * 2, 2_000)) {
      try {
        return await attempt(Math.max(1_000, until - Date.now()));
      } catch (err) {
        const transient = err instanceof LedgerError && isTransient(err.cause);
        if (!transient || Date.now() + pauseMs >= until) throw err;
      }
      await sleep(pauseMs / 2 + Math.random() * pauseMs); // jitter: controllers do not retry in step
    }
  }
}

interface RawExperiment {
  id: string;
  name: string;
  pid: number;
  host: string;
  operator: string | null;
  started_ms: string;
  ended_ms: string | null;
  phase: string;
  status: string;
  heartbeat_ms: string;
  cost_micros: string;
  experiment_cap_micros: string;
  daily_cap_micros: string;
  rollback_plan: string | null;
  stop_acked_ms: string | null;
  recovered_ms: string | null;
  reserved_micros: string;
  spent_micros: string;
}

const ROW_SQL = `SELECT e.id, e.name, e.pid, e.host, e.operator, e.started_ms, e.ended_ms, e.phase, e.status, e.heartbeat_ms,
    e.cost_micros, e.experiment_cap_micros, e.daily_cap_micros, e.rollback_plan, e.stop_acked_ms, e.recovered_ms,
    coalesce(s.reserved, 0)::bigint AS reserved_micros, coalesce(s.spent, 0)::bigint AS spent_micros
  FROM gameday.experiments e
  LEFT JOIN LATERAL (SELECT sum(reserved_micros) AS reserved, sum(spent_micros) AS spent FROM gameday.spend WHERE experiment_id = e.id) s ON true`;

function toRow(r: RawExperiment): ExperimentRow {
  const reserved = num(r.reserved_micros);
  const spent = num(r.spent_micros);
  return {
    id: r.id,
    name: r.name,
    pid: r.pid,
    host: r.host,
    operator: r.operator,
    startedMs: num(r.started_ms),
    endedMs: numOrNull(r.ended_ms),
    phase: r.phase,
    status: r.status as ExperimentStatus,
    heartbeatMs: num(r.heartbeat_ms),
    costPerRequestUsd: fromMicros(num(r.cost_micros)),
    experimentCapUsd: fromMicros(num(r.experiment_cap_micros)),
    dailyCapUsd: fromMicros(num(r.daily_cap_micros)),
    reservedUsd: fromMicros(reserved - spent),
    spentUsd: fromMicros(spent),
    rollbackPlan: r.rollback_plan === null ? null : JSON.parse(r.rollback_plan),
    stopAckedMs: numOrNull(r.stop_acked_ms),
    recoveredMs: numOrNull(r.recovered_ms),
  };
}

interface RawClaim {
  host: string | null;
  pid: number | null;
  since_ms: string | null;
  until_ms: string | null;
  awaiting: boolean;
  now: string;
}

const CLAIM_SQL = `SELECT rollback_claim_host AS host, rollback_claim_pid AS pid, rollback_claim_ms AS since_ms, rollback_lease_until_ms AS until_ms,
    (status = 'dead' AND rollback_plan IS NOT NULL AND recovered_ms IS NULL) AS awaiting, ${NOW_MS} AS now
  FROM gameday.experiments WHERE id = $1`;

const claimOf = (r: RawClaim | undefined): RollbackClaim | null =>
  r && r.pid !== null && r.host !== null
    ? { host: r.host, pid: r.pid, sinceMs: num(r.since_ms ?? 0), untilMs: num(r.until_ms ?? 0) }
    : null;

/** The totals an experiment's controller shows, for the database's current UTC day. */
const TOTALS_SQL = `WITH d AS (SELECT ${DAY_SQL} AS day)
  SELECT
    (SELECT coalesce(sum(reserved_micros), 0) FROM gameday.spend WHERE experiment_id = $1)::bigint AS exp_reserved,
    (SELECT coalesce(sum(spent_micros), 0) FROM gameday.spend WHERE experiment_id = $1)::bigint AS exp_spent,
    (SELECT coalesce(sum(s.spent_micros), 0) FROM gameday.spend s, d WHERE s.day = d.day)::bigint AS day_spent,
    (SELECT coalesce(sum(s.reserved_micros - s.spent_micros), 0) FROM gameday.spend s, d WHERE s.day = d.day AND s.experiment_id <> $1)::bigint AS others_held`;

interface RawTotals {
  exp_reserved: string;
  exp_spent: string;
  day_spent: string;
  others_held: string;
}

/** What an experiment's handle knows of itself: fixed at registration. */
interface Terms {
  id: string;
  costMicros: number;
  experimentCapMicros: number;
  dailyCapMicros: number;
}

function toTotals(t: RawTotals, terms: Terms): BudgetTotals {
  return {
    costPerRequestUsd: fromMicros(terms.costMicros),
    experimentCapUsd: fromMicros(terms.experimentCapMicros),
    experimentSpentUsd: fromMicros(num(t.exp_spent)),
    experimentReservedUsd: fromMicros(num(t.exp_reserved) - num(t.exp_spent)),
    dayCapUsd: fromMicros(terms.dailyCapMicros),
    daySpentUsd: fromMicros(num(t.day_spent)),
    dayReservedUsd: fromMicros(num(t.others_held)),
  };
}

const nowIn = async (q: Q): Promise<number> => num((await q<{ now: string }>(`SELECT ${NOW_MS} AS now`)).rows[0].now);

/** The reads, each on the caller's connection (so that snapshot() can make them one transaction). */
const reads = {
  rows: async (q: Q, where: string, values: unknown[] = []): Promise<ExperimentRow[]> =>
    (await q<RawExperiment>(`${ROW_SQL} ${where}`, values)).rows.map(toRow),
  running: (q: Q) => reads.rows(q, `WHERE e.status = 'running' ORDER BY e.started_ms, e.seq`),
  recent: (q: Q, limit: number) => reads.rows(q, 'ORDER BY e.started_ms DESC, e.seq DESC LIMIT $1', [limit]),
  awaitingRollback: (q: Q) =>
    reads.rows(q, `WHERE e.status = 'dead' AND e.rollback_plan IS NOT NULL AND e.recovered_ms IS NULL ORDER BY e.started_ms, e.seq`),

  latch: async (q: Q): Promise<StopLatch> => {
    const latch = (await q<{ at_ms: string; by: string }>('SELECT at_ms, by FROM gameday.stop_latch')).rows[0];
    return latch ? { latched: true, atMs: num(latch.at_ms), by: latch.by } : { latched: false };
  },

  /** `dateUtc` by default today, by the database's clock */
  byStatus: async (q: Q, dateUtc?: string): Promise<Record<string, number>> => {
    const startMs = dateUtc === undefined ? null : Date.parse(`${dateUtc}T00:00:00.000Z`);
    if (Number.isNaN(startMs)) return {}; // no such day: nothing started on it
    const { rows } = await q<{ status: string; n: number }>(
      `WITH d AS (SELECT coalesce($1::bigint, (${NOW_MS} / ${DAY_MS}) * ${DAY_MS}) AS start)
       SELECT status, count(*)::int AS n FROM gameday.experiments, d WHERE started_ms >= d.start AND started_ms < d.start + ${DAY_MS} GROUP BY status`,
      [startMs],
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  },

  dayTotals: async (q: Q, dateUtc?: string, capUsd?: number): Promise<DayTotals> => {
    const { rows } = await q<{ day: string; spent: string; held: string; cap: string | null }>(
      `WITH d AS (SELECT coalesce($1::text, ${DAY_SQL}) AS day)
       SELECT d.day,
         (SELECT coalesce(sum(spent_micros), 0) FROM gameday.spend s WHERE s.day = d.day)::bigint AS spent,
         (SELECT coalesce(sum(reserved_micros - spent_micros), 0) FROM gameday.spend s WHERE s.day = d.day)::bigint AS held,
         (SELECT daily_cap_micros FROM gameday.experiments ORDER BY started_ms DESC, seq DESC LIMIT 1) AS cap
       FROM d`,
      [dateUtc ?? null],
    );
    const t = rows[0];
    return {
      date: t.day,
      spentUsd: fromMicros(num(t.spent)),
      reservedUsd: fromMicros(num(t.held)),
      capUsd: capUsd ?? (t.cap === null ? null : fromMicros(num(t.cap))),
    };
  },
};

export class PostgresLedger implements LedgerStore {
  readonly backend = 'postgres' as const;
  private closing: Promise<void> | null = null;
  private readonly watchers = new Set<StopWatcher>();

  private constructor(
    private readonly db: Db,
    /** for watchStop's own connections */
    private readonly clientConfig: pg.ClientConfig,
  ) {}

  get location(): string {
    return this.db.target.location;
  }

  /**
   * Connect (the password from the URL, else PGPASSWORD or PGPASSFILE, as libpq), create the schema
   * on first use, refuse a newer one without touching it. Throws LedgerError.
   */
  static async open(url: string, opts: PostgresLedgerOptions = {}): Promise<PostgresLedger> {
    const target = pgTarget(url);
    const clientConfig: pg.ClientConfig = {
      connectionString: url,
      application_name: 'gameday',
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 3_000,
      query_timeout: CALL_MS, // each call passes its own; this bounds anything that does not
      statement_timeout: SERVER_TIMEOUT_MS,
      idle_in_transaction_session_timeout: SERVER_TIMEOUT_MS,
      keepAlive: true, // a peer gone without a word is noticed on an idle connection too
      keepAliveInitialDelayMillis: 10_000,
    };
    const pool = new pg.Pool({ ...clientConfig, max: opts.poolSize ?? 4, idleTimeoutMillis: 30_000, allowExitOnIdle: true });
    // An idle connection the server dropped is taken out of the pool by pg; the event needs a
    // listener or it would crash the process. A checked-out one between two queries reports it on
    // its next query, which then fails as a LedgerError.
    pool.on('error', noop);
    pool.on('connect', (client) => client.on('error', noop));
    const db = new Db(pool, target);
    try {
      await db.run('opening', CALL_MS, (_q, client) => ensureSchema(client, target.location));
    } catch (err) {
      await pool.end().catch(noop);
      throw err;
    }
    return new PostgresLedger(db, clientConfig);
  }

  async clockMs(): Promise<number> {
    return this.db.run("reading the database's clock", CALL_MS, nowIn);
  }

  async registerExperiment(spec: ExperimentSpec): Promise<ExperimentHandle> {
    const terms = {
      costMicros: toMicros(spec.costPerRequestUsd),
      experimentCapMicros: toMicros(spec.experimentCapUsd),
      dailyCapMicros: toMicros(spec.dailyCapUsd),
    };
    if (!(terms.costMicros >= 1)) throw new RangeError(`cost per request must be at least $0.000001, got ${spec.costPerRequestUsd}`);
    if (!(terms.experimentCapMicros >= 0) || !(terms.dailyCapMicros >= 0)) throw new RangeError('budget caps must be non-negative numbers');
    const { id, totals } = await this.db.tx('registering the experiment', CALL_MS, async (q) => {
      // shared with other registrations, exclusive with setStopLatch: one that commits after a latch sees it
      await q('SELECT pg_advisory_xact_lock_shared($1)', [LATCH_LOCK]);
      const latch = (await q<{ at_ms: string; by: string }>('SELECT at_ms, by FROM gameday.stop_latch')).rows[0];
      if (latch) throw new StopLatchedError(num(latch.at_ms), latch.by);
      for (;;) {
        const candidate = randomBytes(4).toString('hex');
        const inserted = await q(
          `INSERT INTO gameday.experiments (id, name, pid, host, operator, started_ms, phase, status, heartbeat_ms, cost_micros, experiment_cap_micros, daily_cap_micros)
           SELECT $1, $2, $3, $4, $5, now.ms, 'preflight', 'running', now.ms, $6, $7, $8 FROM (SELECT ${NOW_MS} AS ms) now
           ON CONFLICT (id) DO NOTHING`,
          [
            ...[candidate, spec.name, spec.pid ?? process.pid, spec.host ?? thisHost(), spec.operator ?? null],
            ...[terms.costMicros, terms.experimentCapMicros, terms.dailyCapMicros],
          ],
        );
        if (inserted.rowCount !== 1) continue; // 1 in 4 billion; just draw again
        const t = (await q<RawTotals>(TOTALS_SQL, [candidate])).rows[0];
        return { id: candidate, totals: t };
      }
    });
    const all: Terms = { id, ...terms };
    return new PgExperiment(this.db, all, toTotals(totals, all));
  }

  async experiment(id: string): Promise<ExperimentRow | undefined> {
    return (await this.db.run('reading an experiment', CALL_MS, (q) => reads.rows(q, 'WHERE e.id = $1', [id])))[0];
  }

  async runningExperiments(): Promise<ExperimentRow[]> {
    return this.db.run('listing running experiments', CALL_MS, reads.running);
  }

  async recentExperiments(limit = 10): Promise<ExperimentRow[]> {
    return this.db.run('listing experiments', CALL_MS, (q) => reads.recent(q, limit));
  }

  async experimentsByStatus(dateUtc?: string): Promise<Record<string, number>> {
    return this.db.run('counting experiments', CALL_MS, (q) => reads.byStatus(q, dateUtc));
  }

  async dayTotals(dateUtc?: string, capUsd?: number): Promise<DayTotals> {
    return this.db.run("reading the day's totals", CALL_MS, (q) => reads.dayTotals(q, dateUtc, capUsd));
  }

  /** One REPEATABLE READ, READ ONLY transaction: every read sees the same committed state, and no writer waits for it. */
  async snapshot(opts: SnapshotOptions = {}): Promise<LedgerSnapshot> {
    return this.db.run(
      'reading the ledger',
      CALL_MS,
      async (q) => {
        const clockMs = await nowIn(q);
        const date = utcDate(clockMs);
        return {
          clockMs,
          day: await reads.dayTotals(q, date, opts.capUsd),
          latch: await reads.latch(q),
          running: await reads.running(q),
          recent: await reads.recent(q, opts.recentLimit ?? 10),
          byStatus: await reads.byStatus(q, date),
          awaitingRollback: await reads.awaitingRollback(q),
        };
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  }

  /**
   * Staleness by the database's clock, counted from the server's start at the earliest; a pid only
   * on this host (another host's cannot be checked).
   * The candidates are locked (FOR UPDATE, in id order so concurrent callers cannot deadlock) and
   * judged again on the locked rows: a concurrent markDead that got there first has made them
   * 'dead', so the WHERE drops them and each is returned once; a heartbeat that landed meanwhile
   * makes the row fresh again. Their money is frozen from then on (applySent checks the status).
   */
  async markDead(staleMs = HEARTBEAT_STALE_MS): Promise<ExperimentRow[]> {
    const here = thisHost();
    // This process could not reach the server lately (a restart still recovering, a partition):
    // no heartbeat could be written meanwhile, so staleness proves nothing yet; a vanished pid does.
    const judgeStaleness = !this.db.unreachableWithin(staleMs);
    return this.db.tx('marking dead controllers', CALL_MS, async (q) => {
      const now = await nowIn(q);
      const mine = await q<{ id: string; pid: number }>(`SELECT id, pid FROM gameday.experiments WHERE status = 'running' AND host = $1`, [
        here,
      ]);
      const gone = mine.rows.filter((r) => !pidAlive(r.pid)).map((r) => r.id);
      const locked = await q<{ id: string }>(
        // While the server was down nobody could heart-beat: a heartbeat counts from the server's
        // start at the earliest, so a restart gives every live controller staleMs to beat again.
        `SELECT id FROM gameday.experiments
         WHERE status = 'running'
           AND (greatest(heartbeat_ms, (floor(extract(epoch from pg_postmaster_start_time()) * 1000))::bigint) < $1 OR id = ANY($2))
         ORDER BY id FOR UPDATE`,
        [judgeStaleness ? now - staleMs : 0, gone],
      );
      const dead = locked.rows.map((r) => r.id);
      if (dead.length === 0) return [];
      await q('UPDATE gameday.spend SET spent_micros = reserved_micros WHERE experiment_id = ANY($1)', [dead]);
      await q(`UPDATE gameday.experiments SET status = 'dead', ended_ms = $1 WHERE id = ANY($2) AND status = 'running'`, [now, dead]);
      return (await q<RawExperiment>(`${ROW_SQL} WHERE e.id = ANY($1) ORDER BY e.started_ms, e.seq`, [dead])).rows.map(toRow);
    });
  }

  async awaitingRollback(): Promise<ExperimentRow[]> {
    return this.db.run('listing dead experiments', CALL_MS, reads.awaitingRollback);
  }

  /**
   * A compare-and-set: read the claim, decide in JS whether its claimant is provably gone (this
   * host, pid dead: only this process can check), then one UPDATE that succeeds only while the
   * plan is unclaimed, the lease has expired, or the claim is still exactly the gone one observed.
   * Two claimants racing: the second UPDATE waits for the first's row lock, then finds the claim
   * taken (PostgreSQL re-evaluates its WHERE on the new row) and changes nothing.
   */
  async claimRollback(id: string, leaseMs: number, claimant: Claimant = {}): Promise<ClaimResult> {
    const host = claimant.host ?? thisHost();
    const pid = claimant.pid ?? process.pid;
    return this.db.run('claiming a rollback plan', CALL_MS, async (q) => {
      const seen = (await q<RawClaim>(CLAIM_SQL, [id])).rows[0];
      if (!seen?.awaiting) return { claimed: false, holder: null };
      const now = claimant.nowMs ?? num(seen.now);
      const gone = seen.pid !== null && seen.host === thisHost() && !pidAlive(seen.pid);
      const claimed = await q(
        `UPDATE gameday.experiments SET rollback_claim_host = $2, rollback_claim_pid = $3, rollback_claim_ms = $4, rollback_lease_until_ms = $5
         WHERE id = $1 AND status = 'dead' AND rollback_plan IS NOT NULL AND recovered_ms IS NULL
           AND (rollback_claim_pid IS NULL OR rollback_lease_until_ms <= $4
                OR ($6::boolean AND rollback_claim_host IS NOT DISTINCT FROM $7 AND rollback_claim_pid IS NOT DISTINCT FROM $8
                    AND rollback_claim_ms IS NOT DISTINCT FROM $9))`,
        [id, host, pid, now, now + Math.max(0, Math.ceil(leaseMs)), gone, seen.host, seen.pid, seen.since_ms],
      );
      if (claimed.rowCount === 1) return { claimed: true };
      // informational: who holds it (read after the refusal; the claim itself was atomic)
      const after = (await q<RawClaim>(CLAIM_SQL, [id])).rows[0];
      return { claimed: false, holder: after?.awaiting ? claimOf(after) : null };
    });
  }

  async releaseRollback(id: string, claimant: Claimant = {}): Promise<boolean> {
    return this.db.run('releasing a rollback claim', CALL_MS, async (q) => {
      const released = await q(
        `UPDATE gameday.experiments SET rollback_claim_host = NULL, rollback_claim_pid = NULL, rollback_claim_ms = NULL, rollback_lease_until_ms = NULL
         WHERE id = $1 AND rollback_claim_host = $2 AND rollback_claim_pid = $3`,
        [id, claimant.host ?? thisHost(), claimant.pid ?? process.pid],
      );
      return (released.rowCount ?? 0) > 0;
    });
  }

  async markRecovered(id: string): Promise<void> {
    await this.db.rows(
      'marking an experiment recovered',
      `UPDATE gameday.experiments SET recovered_ms = ${NOW_MS},
         rollback_claim_host = NULL, rollback_claim_pid = NULL, rollback_claim_ms = NULL, rollback_lease_until_ms = NULL
       WHERE id = $1`,
      [id],
    );
  }

  async rollbackClaim(id: string): Promise<RollbackClaim | null> {
    return claimOf((await this.db.rows<RawClaim>('reading a rollback claim', CLAIM_SQL, [id]))[0]);
  }

  async stopLatch(): Promise<StopLatch> {
    return this.db.run('reading the stop latch', CALL_MS, reads.latch);
  }

  /** The first latch stands; every call tells the listeners (NOTIFY is delivered when the transaction commits). */
  async setStopLatch(by: string): Promise<StopLatch> {
    return this.db.tx('setting the stop latch', CALL_MS, async (q) => {
      await q('SELECT pg_advisory_xact_lock($1)', [LATCH_LOCK]);
      await q(`INSERT INTO gameday.stop_latch (at_ms, by) VALUES (${NOW_MS}, $1) ON CONFLICT (one) DO NOTHING`, [by]);
      await q('SELECT pg_notify($1, $2)', [STOP_CHANNEL, by]);
      return reads.latch(q);
    });
  }

  async clearStopLatch(): Promise<boolean> {
    return this.db.run('clearing the stop latch', CALL_MS, async (q) => ((await q('DELETE FROM gameday.stop_latch')).rowCount ?? 0) > 0);
  }

  /**
   * LISTEN on a connection of its own (a pooled one would be handed to other queries). Rejects
   * when it cannot connect at first; afterwards a lost connection is re-made with a short backoff
   * until close(), and on each reconnection a latch set meanwhile (its NOTIFY was missed) is
   * reported too: onStop may be called more than once for one latch.
   */
  async watchStop(onStop: (by: string) => void): Promise<{ close(): Promise<void> }> {
    const watcher = new StopWatcher({ ...this.clientConfig, application_name: 'gameday-stop-watch' }, onStop);
    try {
      await watcher.start();
    } catch (err) {
      await watcher.close();
      throw pgLedgerError(this.db.target, err, 'listening for the emergency stop');
    }
    this.watchers.add(watcher);
    return {
      close: async () => {
        this.watchers.delete(watcher);
        await watcher.close();
      },
    };
  }

  async close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.watchers].map((w) => w.close()));
      this.watchers.clear();
      await this.db.pool.end().catch(noop);
    })();
    return this.closing;
  }
}

class PgExperiment implements ExperimentHandle {
  readonly id: string;
  readonly costPerRequestUsd: number;
  private settled = false;
  private lastReported = -1;
  private lastTotals: BudgetTotals;
  private refreshing = false;
  private refreshAgain = false;

  constructor(
    private readonly db: Db,
    private readonly terms: Terms,
    totals: BudgetTotals,
  ) {
    this.id = terms.id;
    this.costPerRequestUsd = fromMicros(terms.costMicros);
    this.lastTotals = totals;
  }

  /**
   * One transaction. It locks the day's row first: every reservation of one day takes its turn, as
   * under SQLite's BEGIN IMMEDIATE, and each statement after the lock (READ COMMITTED: a fresh
   * snapshot per statement) sees every reservation committed before it, so the day's sum is exact
   * and two controllers can never both be granted its last dollar. Nothing else adds to a day's
   * reservations; settling only hands money back, which can only make a concurrent sum larger
   * than the truth, never smaller. Row locks, not SERIALIZABLE: that would abort one of two
   * concurrent reservations (40001) and need a retry loop; a lock just waits its turn, a few ms.
   * The experiment's row is locked next (report, settle, finish and markDead lock it too).
   */
  private async reserveOnce(asked: number, ms: number): Promise<ReserveResult> {
    const { id, costMicros } = this.terms;
    return this.db.tx('reserving budget', ms, async (q) => {
      const day = utcDate(await nowIn(q));
      const lockDay = () => q('SELECT day FROM gameday.days WHERE day = $1 FOR UPDATE', [day]);
      if ((await lockDay()).rowCount === 0) {
        await q('INSERT INTO gameday.days (day) VALUES ($1) ON CONFLICT DO NOTHING', [day]);
        await lockDay();
      }
      const state = (
        await q<{ status: string; settled: boolean; latched: boolean }>(
          'SELECT status, settled, EXISTS (SELECT 1 FROM gameday.stop_latch) AS latched FROM gameday.experiments WHERE id = $1 FOR UPDATE',
          [id],
        )
      ).rows[0];
      if (state?.latched) return { grantedRequests: 0, limitedBy: 'emergency-stop' };
      if (!state || state.status !== 'running' || state.settled) return { grantedRequests: 0, limitedBy: 'not-running' };
      // Every reservation of the day counts: running experiments' holdings, dead ones' (as spent), finished ones' spend.
      const held = (
        await q<{ experiment: string; day: string }>(
          `SELECT (SELECT coalesce(sum(reserved_micros), 0) FROM gameday.spend WHERE experiment_id = $1)::bigint AS experiment,
                  (SELECT coalesce(sum(reserved_micros), 0) FROM gameday.spend WHERE day = $2)::bigint AS day`,
          [id, day],
        )
      ).rows[0];
      const result = grantRequests({
        askedRequests: asked,
        costMicros,
        experimentCapMicros: this.terms.experimentCapMicros,
        experimentHeldMicros: num(held.experiment),
        dayCapMicros: this.terms.dailyCapMicros,
        dayHeldMicros: num(held.day),
      });
      if (result.grantedRequests > 0)
        await q(
          `INSERT INTO gameday.spend (experiment_id, day, reserved_micros, spent_micros) VALUES ($1, $2, $3, 0)
           ON CONFLICT (experiment_id, day) DO UPDATE SET reserved_micros = gameday.spend.reserved_micros + excluded.reserved_micros`,
          [id, day, result.grantedRequests * costMicros],
        );
      return result;
    });
  }

  async reserve(requests: number): Promise<ReserveResult> {
    const asked = Math.floor(requests);
    if (!(asked > 0)) return { grantedRequests: 0 };
    const result = await this.db.retrying(RUN_WINDOW_MS, (ms) => this.reserveOnce(asked, ms));
    this.refresh();
    return result;
  }

  async report(sentRequests: number): Promise<void> {
    if (this.settled || sentRequests === this.lastReported) return;
    await this.db.retrying(RUN_WINDOW_MS, (ms) => this.db.tx('reporting spend', ms, (q) => this.applySent(q, sentRequests)));
    this.lastReported = sentRequests;
    this.refresh();
  }

  /** Idempotent however often it is tried: the database's `settled` decides, not this process's memory. */
  async settle(sentRequests: number): Promise<void> {
    if (this.settled) return;
    await this.db.retrying(END_WINDOW_MS, (ms) => this.db.tx('settling', ms, (q) => this.settleIn(q, sentRequests)));
    this.settled = true;
    this.refresh();
  }

  /** Idempotent: settling is (above), and the status is set only while it is still 'running'. */
  async finish(status: RunStatus, sentRequests: number): Promise<void> {
    await this.db.retrying(END_WINDOW_MS, (ms) =>
      this.db.tx('finishing the experiment', ms, async (q) => {
        if (!this.settled) await this.settleIn(q, sentRequests);
        await q(`UPDATE gameday.experiments SET status = $1, phase = 'done', ended_ms = ${NOW_MS} WHERE id = $2 AND status = 'running'`, [
          status,
          this.id,
        ]);
      }),
    );
    this.settled = true;
    this.refresh();
  }

  /** The latest totals read; never waits. */
  totals(): BudgetTotals {
    return this.lastTotals;
  }

  async heartbeat(phase: string): Promise<StopReason | null> {
    const rows = await this.db.retrying(RUN_WINDOW_MS, (ms) =>
      this.db.rows<{ latched: boolean }>(
        'heart-beating',
        `UPDATE gameday.experiments SET heartbeat_ms = ${NOW_MS}, phase = $2 WHERE id = $1 AND status = 'running'
         RETURNING EXISTS (SELECT 1 FROM gameday.stop_latch) AS latched`,
        [this.id, phase],
        ms,
      ),
    );
    this.refresh();
    if (rows.length === 0) return 'not-running';
    return rows[0].latched ? 'emergency-stop' : null;
  }

  async setRollbackPlan(plan: unknown): Promise<void> {
    const json = plan === undefined || plan === null ? null : JSON.stringify(plan);
    await this.db.retrying(RUN_WINDOW_MS, (ms) =>
      this.db.rows('recording the rollback plan', 'UPDATE gameday.experiments SET rollback_plan = $1 WHERE id = $2', [json, this.id], ms),
    );
  }

  async ackStopped(): Promise<void> {
    await this.db.retrying(END_WINDOW_MS, (ms) =>
      this.db.rows(
        'acknowledging the emergency stop',
        `UPDATE gameday.experiments SET stop_acked_ms = ${NOW_MS} WHERE id = $1`,
        [this.id],
        ms,
      ),
    );
  }

  /**
   * Re-read the totals in the background, one read at a time (a call meanwhile asks for one more
   * after it); a failed read keeps the last totals: totals() must never wait nor throw.
   */
  private refresh(): void {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    void (async () => {
      do {
        this.refreshAgain = false;
        try {
          const [t] = await this.db.rows<RawTotals>('reading totals', TOTALS_SQL, [this.id], RUN_WINDOW_MS);
          this.lastTotals = toTotals(t, this.terms);
        } catch {
          // keep the last totals; the next reserve, report or heartbeat tries again
        }
      } while (this.refreshAgain);
      this.refreshing = false;
    })();
  }

  /**
   * Spread the cumulative sent count over the days' reservations, oldest first, under the
   * experiment's row lock. False, changing nothing, once it is not running (dead: its money is
   * frozen) or settled.
   */
  private async applySent(q: Q, sentRequests: number): Promise<boolean> {
    const state = (
      await q<{ status: string; settled: boolean }>('SELECT status, settled FROM gameday.experiments WHERE id = $1 FOR UPDATE', [this.id])
    ).rows[0];
    if (!state || state.status !== 'running' || state.settled) return false;
    const rows = (
      await q<{ day: string; reserved_micros: string; spent_micros: string }>(
        'SELECT day, reserved_micros, spent_micros FROM gameday.spend WHERE experiment_id = $1 ORDER BY day',
        [this.id],
      )
    ).rows.map((r) => ({ day: r.day, reserved: num(r.reserved_micros), spent: num(r.spent_micros) }));
    const reservedMicros = rows.reduce((sum, r) => sum + r.reserved, 0);
    let left = sentRequests * this.terms.costMicros;
    if (!Number.isInteger(sentRequests) || sentRequests < 0 || left > reservedMicros) {
      throw new BudgetInvariantError(
        `budget invariant broken: ${sentRequests} requests sent but ${reservedMicros / this.terms.costMicros} reserved`,
      );
    }
    for (const r of rows) {
      const spent = Math.min(r.reserved, left);
      left -= spent;
      if (spent !== r.spent)
        await q('UPDATE gameday.spend SET spent_micros = $1 WHERE experiment_id = $2 AND day = $3', [spent, this.id, r.day]);
    }
    return true;
  }

  private async settleIn(q: Q, sentRequests: number): Promise<void> {
    if (!(await this.applySent(q, sentRequests))) return;
    await q('UPDATE gameday.spend SET reserved_micros = spent_micros WHERE experiment_id = $1', [this.id]);
    await q('UPDATE gameday.experiments SET settled = true WHERE id = $1', [this.id]);
  }
}

/** How long a lost LISTEN connection waits before it is made again: short, growing to this. */
const WATCH_MAX_PAUSE_MS = 2_000;
/** A LISTEN connection is idle by nature: a query now and then proves it is still there. */
const WATCH_PING_MS = 10_000;

/** End a client without waiting on a peer that may never answer (a network gone silent). */
async function endClient(client: pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([client.end().catch(noop), new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)))]);
  clearTimeout(timer);
}

/** One LISTEN gameday_stop connection, re-made whenever it is lost, until close(). */
class StopWatcher {
  private client: pg.Client | null = null;
  /** drops the current connection and schedules the next */
  private drop: (() => void) | null = null;
  private closed = false;
  private pauseMs = 100;
  private retry: NodeJS.Timeout | null = null;
  private readonly ping: NodeJS.Timeout;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly onStop: (by: string) => void,
  ) {
    this.ping = setInterval(() => {
      this.client?.query({ text: 'SELECT 1', query_timeout: 5_000 } as pg.QueryConfig).catch(() => this.drop?.());
    }, WATCH_PING_MS);
    this.ping.unref();
  }

  /** The first connection; its failure is the caller's, not retried. */
  start(): Promise<void> {
    return this.connect(false);
  }

  private async connect(reconnecting: boolean): Promise<void> {
    const client = new pg.Client(this.config);
    let lost = false;
    const drop = () => {
      if (lost) return;
      lost = true;
      if (this.client === client) [this.client, this.drop] = [null, null];
      void endClient(client);
      if (reconnecting) this.reconnectLater();
    };
    [this.client, this.drop] = [client, drop];
    client.on('error', drop);
    client.on('end', drop);
    client.on('notification', (n) => {
      if (n.channel === STOP_CHANNEL && !this.closed) this.onStop(n.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${STOP_CHANNEL}`);
      if (reconnecting) {
        // a latch set while this connection was down sent its NOTIFY to nobody
        const latch = (await client.query<{ by: string }>('SELECT by FROM gameday.stop_latch')).rows[0];
        if (latch && !this.closed) this.onStop(latch.by);
      }
      this.pauseMs = 100;
      reconnecting = true; // from now on, a lost connection is made again
    } catch (err) {
      drop();
      if (!reconnecting) throw err;
    }
  }

  private reconnectLater(): void {
    if (this.closed || this.retry) return;
    const pause = this.pauseMs;
    this.pauseMs = Math.min(this.pauseMs * 2, WATCH_MAX_PAUSE_MS);
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.closed) void this.connect(true);
    }, pause);
    this.retry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.ping);
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const client = this.client;
    [this.client, this.drop] = [null, null];
    if (client) await endClient(client);
  }
}
