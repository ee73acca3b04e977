// What only the PostgreSQL ledger has: a schema created by whichever process comes first and
// refused when newer, a server that can be wrong-passworded, stopped and restarted under a running
// controller, and LISTEN/NOTIFY for the stop latch. On a throwaway cluster (test/helpers/postgres.ts).
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { LedgerError } from '../../src/budget/ledger-error.ts';
import type { LedgerStore } from '../../src/budget/ledger-store.ts';
import { PG_SCHEMA_VERSION, PostgresLedger } from '../../src/budget/postgres-ledger.ts';
import { freePort } from '../helpers/monitoring.ts';
import { describeWithPostgres, PG_PASSWORD, PG_USER, startPostgres, type Pg } from '../helpers/postgres.ts';

const spec = { name: 'exp', experimentCapUsd: 1, dailyCapUsd: 2, costPerRequestUsd: 0.001 };

/** The rejection of `p`, timed; fails the test if `p` resolves. */
async function rejectionOf(p: Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const started = performance.now();
  const err = await p.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  return { err, ms: performance.now() - started };
}

/** The password in every form a message could carry it. */
const passwordForms = [PG_PASSWORD, encodeURIComponent(PG_PASSWORD)];
const expectNoPassword = (text: string) => {
  for (const form of passwordForms) expect(text).not.toContain(form);
  expect(text).not.toContain('p@ss'); // any recognisable piece of it
};

describeWithPostgres('PostgresLedger', () => {
  let pg: Pg | undefined;
  let n = 0;
  const stores: LedgerStore[] = [];
  const fresh = () => pg!.createDatabase(`unit_${++n}`);
  const open = async (url: string) => {
    const store = await PostgresLedger.open(url);
    stores.push(store);
    return store;
  };
  const waitFor = (cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string) =>
    expect.poll(cond, { timeout: timeoutMs, interval: 50, message: what }).toBe(true);

  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });
  afterAll(async () => pg?.close());

  it('creates its schema once when several processes open a fresh database at once', async () => {
    const url = await fresh();
    const opened = await Promise.all(Array.from({ length: 6 }, () => open(url)));
    expect(opened).toHaveLength(6);
    const tables = await pg!.sql<{ tablename: string }>(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'gameday' ORDER BY 1`,
      `unit_${n}`,
    );
    expect(tables.map((t) => t.tablename)).toEqual(['days', 'experiments', 'meta', 'spend', 'stop_latch']);
    expect(await pg!.sql(`SELECT version FROM gameday.meta`, `unit_${n}`)).toEqual([{ version: PG_SCHEMA_VERSION }]);
    // every one of them works on the same ledger
    const handles = await Promise.all(opened.map((s) => s.registerExperiment(spec)));
    expect((await opened[0].runningExperiments()).map((e) => e.id).sort()).toEqual(handles.map((h) => h.id).sort());
  });

  it('refuses a newer schema version, naming both, and leaves the database exactly as it was', async () => {
    const url = await fresh();
    const db = `unit_${n}`;
    const first = await open(url);
    await (await first.registerExperiment(spec)).reserve(5);
    await first.close();
    await pg!.sql(`UPDATE gameday.meta SET version = ${PG_SCHEMA_VERSION + 1}`, db);
    const before = await pg!.dump(db);
    expect(before).toContain('CREATE TABLE gameday.experiments');
    // an UPDATE that wrote the same values would not show in a dump: the row's version would
    const metaVersion = async () => (await pg!.sql<{ xmin: string }>('SELECT xmin::text FROM gameday.meta', db))[0].xmin;
    const metaBefore = await metaVersion();
    const { err } = await rejectionOf(PostgresLedger.open(url));
    expect(err).toBeInstanceOf(LedgerError);
    const message = (err as LedgerError).message;
    expect(message).toContain(`schema version ${PG_SCHEMA_VERSION + 1} is newer than this gameday understands (${PG_SCHEMA_VERSION})`);
    expect(message).toMatch(/Upgrade gameday/);
    expect(await pg!.dump(db)).toBe(before);
    expect(await metaVersion()).toBe(metaBefore);
  });

  it('refuses a gameday schema that is not its own, without touching it', async () => {
    const url = await fresh();
    const db = `unit_${n}`;
    await pg!.sql(`CREATE SCHEMA gameday AUTHORIZATION ${PG_USER}; CREATE TABLE gameday.experiments (x int)`, db);
    const before = await pg!.dump(db);
    const { err } = await rejectionOf(PostgresLedger.open(url));
    expect((err as LedgerError).message).toMatch(/not a gameday ledger/);
    expect(await pg!.dump(db)).toBe(before);
  });

  it('names the ledger by its URL without the password; takes the password from PGPASSWORD too', async () => {
    const url = await fresh();
    const store = await open(url);
    expect(store.location).toBe(`postgresql://${PG_USER}@127.0.0.1:${pg!.port}/unit_${n}`);
    expectNoPassword(store.location);
    const saved = process.env.PGPASSWORD;
    process.env.PGPASSWORD = PG_PASSWORD;
    try {
      const viaEnv = await open(`postgresql://${PG_USER}@127.0.0.1:${pg!.port}/unit_${n}`);
      expect(await viaEnv.stopLatch()).toEqual({ latched: false });
    } finally {
      if (saved === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = saved;
    }
  });

  it('a wrong password is a LedgerError that names the user and shows no password', async () => {
    const url = await fresh();
    const wrong = `${PG_PASSWORD}-wrong`;
    const { err } = await rejectionOf(PostgresLedger.open(url.replace(encodeURIComponent(PG_PASSWORD), encodeURIComponent(wrong))));
    expect(err).toBeInstanceOf(LedgerError);
    const message = (err as LedgerError).message;
    expect(message).toContain(`budget ledger postgresql://${PG_USER}@127.0.0.1:${pg!.port}/unit_${n}:`);
    expect(message).toMatch(/password authentication failed/);
    expect(message).toMatch(/Check the user and password/);
    expectNoPassword(message);
    expect(message).not.toContain(encodeURIComponent(wrong));
  });

  it('no database, no privilege, no server: each a LedgerError with what to do', async () => {
    const noDb = await rejectionOf(PostgresLedger.open(pg!.url('no_such_db')));
    expect((noDb.err as LedgerError).message).toMatch(/does not exist.*Create the database/);
    await pg!.sql('CREATE DATABASE not_ours'); // owned by the superuser: the gameday role may connect, not create a schema
    const denied = await rejectionOf(PostgresLedger.open(pg!.url('not_ours')));
    expect((denied.err as LedgerError).message).toMatch(/permission denied.*Grant the user CREATE/);
    expect(await pg!.sql(`SELECT nspname FROM pg_namespace WHERE nspname = 'gameday'`, 'not_ours')).toEqual([]);
    const port = await freePort();
    const down = await rejectionOf(PostgresLedger.open(pg!.url().replace(`:${pg!.port}/`, `:${port}/`)));
    expect(down.err).toBeInstanceOf(LedgerError);
    expect((down.err as LedgerError).message).toContain(`Check that PostgreSQL is running and reachable at 127.0.0.1:${port}, then retry`);
    expect(down.ms).toBeLessThan(5_000);
    for (const { err } of [noDb, denied, down]) expectNoPassword((err as Error).message);
  });

  it('clockMs and every recorded time are the database clock', async () => {
    const store = await open(await fresh());
    const [dbNow] = await pg!.sql<{ ms: string }>(`SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS ms`);
    const clock = await store.clockMs();
    expect(Math.abs(clock - Number(dbNow.ms))).toBeLessThan(1_000);
    const h = await store.registerExperiment(spec);
    const row = (await store.experiment(h.id))!;
    expect(row.startedMs).toBeGreaterThanOrEqual(clock);
    expect(row.startedMs).toBeLessThanOrEqual(await store.clockMs());
  });

  it('a stopped server: reserve and heartbeat fail fast as LedgerErrors; committed money survives; finish sent during the outage lands once it is back', async () => {
    const store = await open(await fresh());
    const a = await store.registerExperiment({ ...spec, name: 'a' });
    const b = await store.registerExperiment({ ...spec, name: 'b' });
    expect(await a.reserve(100)).toEqual({ grantedRequests: 100 });
    await a.report(40);
    expect(await b.reserve(200)).toEqual({ grantedRequests: 200 });
    await expect.poll(() => a.totals(), { timeout: 5_000 }).toMatchObject({ experimentSpentUsd: 0.04, experimentReservedUsd: 0.06 });

    await pg!.stop('immediate');
    const [reserve, heartbeat] = await Promise.all([rejectionOf(a.reserve(10)), rejectionOf(a.heartbeat('inject'))]);
    for (const { err, ms } of [reserve, heartbeat]) {
      expect(err).toBeInstanceOf(LedgerError);
      expect((err as Error).message).toContain(`Check that PostgreSQL is running and reachable at 127.0.0.1:${pg!.port}`);
      expectNoPassword((err as Error).message);
      expect(ms).toBeLessThan(6_500); // its 5 s window, and a last try
    }
    // totals() never waits, and keeps the last totals read
    expect(a.totals()).toMatchObject({ experimentSpentUsd: 0.04, experimentReservedUsd: 0.06 });

    // the fault is out; the result is recorded while the server is still down, and lands when it is back
    const finishStarted = performance.now();
    let finished = false;
    const finishing = a.finish('passed', 70).then(() => (finished = true));
    await new Promise((r) => setTimeout(r, 2_000));
    expect(finished).toBe(false);
    await pg!.start();
    await finishing;
    expect(performance.now() - finishStarted).toBeLessThan(30_000);

    const after = await open(pg!.url(`unit_${n}`));
    expect(await after.experiment(a.id)).toMatchObject({ status: 'passed', spentUsd: 0.07, reservedUsd: 0 });
    expect(await after.experiment(b.id)).toMatchObject({ status: 'running', spentUsd: 0, reservedUsd: 0.2 });
    expect(await after.dayTotals()).toMatchObject({ spentUsd: 0.07, reservedUsd: 0.2 });
    await a.finish('breach', 90); // once is once
    expect(await after.experiment(a.id)).toMatchObject({ status: 'passed', spentUsd: 0.07 });
    // the old store's pool recovers by itself
    expect(await b.reserve(1)).toEqual({ grantedRequests: 1 });
  }, 60_000);

  it('a server restart is not a death: live controllers get the stale time again to heart-beat, a silent one dies after it', async () => {
    const store = await open(await fresh());
    const live = await store.registerExperiment({ ...spec, name: 'live', pid: process.pid });
    const silent = await store.registerExperiment({ ...spec, name: 'silent', pid: process.pid });
    await pg!.stop('immediate');
    await new Promise((r) => setTimeout(r, 3_000)); // both heartbeats are older than the 2.5 s below
    await expect(live.heartbeat('observe')).rejects.toThrow(LedgerError); // this store sees the outage
    await pg!.start();
    // however long the restart took, this store was cut off lately: it judges nobody by staleness yet
    expect(await store.markDead(2_500)).toEqual([]);
    // right after the restart: nobody could heart-beat while it was down, so nobody is dead yet
    // (a fresh connection: this store never saw the outage, the server's start time tells it)
    const other = await open(pg!.url(`unit_${n}`));
    expect(await other.markDead(2_500)).toEqual([]);
    const startedMs = Date.now();
    while (Date.now() - startedMs < 2_800) {
      expect(await live.heartbeat('observe')).toBeNull();
      await new Promise((r) => setTimeout(r, 200));
    }
    const dead = await other.markDead(2_500);
    expect(dead.map((d) => d.name)).toEqual(['silent']);
    expect((await store.experiment(live.id))?.status).toBe('running');
    expect((await store.experiment(silent.id))?.status).toBe('dead');
  }, 60_000);

  it('the stop listener reconnects after a server restart and hears a latch set afterwards', async () => {
    const url = await fresh();
    const watching = await open(url);
    const heard: string[] = [];
    const watch = await watching.watchStop((by) => heard.push(by));
    const listeners = async () =>
      (await pg!.sql<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'gameday-stop-watch'`))[0].n;
    expect(await listeners()).toBe(1);

    await pg!.stop('fast');
    await pg!.start();
    await waitFor(async () => (await listeners()) === 1, 10_000, 'the listener is connected again');
    const setter = await open(url);
    const setAt = performance.now();
    await setter.setStopLatch('after-restart');
    await expect.poll(() => heard, { timeout: 1_000, interval: 5 }).toEqual(['after-restart']);
    expect(performance.now() - setAt).toBeLessThan(1_000);

    // a listener cut off while the latch is set still hears of it (the NOTIFY, or its reconnection's check)
    await setter.clearStopLatch();
    await pg!.sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'gameday-stop-watch'`);
    await setter.setStopLatch('while-cut-off');
    await expect.poll(() => heard.at(-1), { timeout: 5_000, interval: 20 }).toBe('while-cut-off');

    await watch.close();
    await waitFor(async () => (await listeners()) === 0, 5_000, 'the listener is gone after close');
  });

  it('close() ends every connection, listeners included, and may be called twice', async () => {
    const store = await PostgresLedger.open(await fresh());
    await store.watchStop(() => {});
    await store.clockMs();
    const connected = async () =>
      (
        await pg!.sql<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'unit_${n}' AND application_name LIKE 'gameday%'`,
        )
      )[0].n;
    expect(await connected()).toBeGreaterThanOrEqual(2);
    await store.close();
    await store.close();
    await waitFor(async () => (await connected()) === 0, 5_000, 'no connection left');
    await expect(store.clockMs()).rejects.toBeInstanceOf(LedgerError);
  });
});
