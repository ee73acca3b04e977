// One suite, both backends: the SQLite file and the PostgreSQL database keep the same promises
// (money in integer micro-dollars against both caps, the latch, dead controllers, rollback claims,
// the listings). Written once; each backend supplies a fresh ledger per test and a way to open the
// same ledger again (another connection, as another process or machine would have).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { toMicros } from '../../src/budget/budget.ts';
import { thisHost } from '../../src/budget/identity.ts';
import { StopLatchedError } from '../../src/budget/ledger-error.ts';
import {
  utcDate,
  type ExperimentHandle,
  type ExperimentRow,
  type ExperimentSpec,
  type LedgerStore,
} from '../../src/budget/ledger-store.ts';
import { PostgresLedger } from '../../src/budget/postgres-ledger.ts';
import { SqliteStore } from '../../src/budget/sqlite-store.ts';
import { describeWithPostgres, startPostgres, type Pg } from '../helpers/postgres.ts';

interface Backend {
  /** A new, empty ledger. */
  fresh(): Promise<LedgerStore>;
  /** The last fresh() ledger opened again: another connection, as another controller has. */
  again(): Promise<LedgerStore>;
  /** whether watchStop delivers a latch set elsewhere (PostgreSQL's NOTIFY); SQLite's never calls */
  notifies: boolean;
}

const spec = (over: Partial<ExperimentSpec> = {}): ExperimentSpec => ({
  name: 'exp',
  experimentCapUsd: 1,
  dailyCapUsd: 2,
  costPerRequestUsd: 0.001,
  ...over,
});

/** The pid of a process that has exited (and been reaped). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** totals() never waits: on PostgreSQL it is refreshed in the background after each call */
const totalsOf = (h: ExperimentHandle) => expect.poll(() => h.totals(), { timeout: 5_000, interval: 20 });

function conformance(backend: () => Backend): void {
  let store: LedgerStore;
  let others: LedgerStore[] = [];
  const openAgain = async (): Promise<LedgerStore> => {
    const s = await backend().again();
    others.push(s);
    return s;
  };

  beforeEach(async () => {
    store = await backend().fresh();
  });
  afterEach(async () => {
    await Promise.all([store, ...others].map((s) => s.close()));
    others = [];
  });

  describe('reservations', () => {
    it('grants up to the experiment cap in whole micro-dollars, then says which cap', async () => {
      // 0.1 × 3 > 0.3 in floating point: counted in micro-dollars, three fit exactly
      const a = await store.registerExperiment(spec({ costPerRequestUsd: 0.1, experimentCapUsd: 0.3, dailyCapUsd: 10 }));
      expect(await a.reserve(5)).toEqual({ grantedRequests: 3, limitedBy: 'experiment' });
      expect(await a.reserve(1)).toEqual({ grantedRequests: 0, limitedBy: 'experiment' });
      await totalsOf(a).toMatchObject({ experimentReservedUsd: 0.3, experimentSpentUsd: 0, experimentCapUsd: 0.3, dayCapUsd: 10 });
      // the smallest cost there is, against an odd cap
      const b = await store.registerExperiment(spec({ costPerRequestUsd: 0.000001, experimentCapUsd: 0.000007, dailyCapUsd: 10 }));
      expect(await b.reserve(5)).toEqual({ grantedRequests: 5 });
      expect(await b.reserve(5)).toEqual({ grantedRequests: 2, limitedBy: 'experiment' });
      expect((await store.experiment(b.id))!.reservedUsd).toBe(0.000007);
      expect(await b.reserve(0)).toEqual({ grantedRequests: 0 });
      expect(await b.reserve(0.9)).toEqual({ grantedRequests: 0 });
    });

    it('two experiments share the day cap: the second gets what is left, to the micro-dollar', async () => {
      const cap = 0.00005; // 50 µ$ at 7 µ$ a request: 7 requests, 1 µ$ left over
      const a = await store.registerExperiment(spec({ costPerRequestUsd: 0.000007, dailyCapUsd: cap }));
      const b = await store.registerExperiment(spec({ costPerRequestUsd: 0.000007, dailyCapUsd: cap }));
      expect(await a.reserve(4)).toEqual({ grantedRequests: 4 });
      expect(await b.reserve(4)).toEqual({ grantedRequests: 3, limitedBy: 'day' });
      expect(await a.reserve(1)).toEqual({ grantedRequests: 0, limitedBy: 'day' });
      await totalsOf(b).toMatchObject({ dayReservedUsd: 0.000028, experimentReservedUsd: 0.000021, daySpentUsd: 0, dayCapUsd: cap });
      const today = utcDate(await store.clockMs());
      expect(await store.dayTotals()).toEqual({ date: today, spentUsd: 0, reservedUsd: 0.000049, capUsd: cap });
      expect(await store.dayTotals(today, 3)).toEqual({ date: today, spentUsd: 0, reservedUsd: 0.000049, capUsd: 3 });
      expect(await store.dayTotals('2000-01-01')).toEqual({ date: '2000-01-01', spentUsd: 0, reservedUsd: 0, capUsd: cap });
    });

    it('settle hands back what was not sent, once; the next experiment can have it', async () => {
      const a = await store.registerExperiment(spec({ dailyCapUsd: 1 }));
      expect(await a.reserve(600)).toEqual({ grantedRequests: 600 });
      await a.report(100);
      await totalsOf(a).toMatchObject({ experimentSpentUsd: 0.1, experimentReservedUsd: 0.5, daySpentUsd: 0.1 });
      await a.settle(250);
      await a.settle(999); // idempotent: the first settle stands
      expect(await store.dayTotals()).toMatchObject({ spentUsd: 0.25, reservedUsd: 0 });
      expect(await a.reserve(1)).toEqual({ grantedRequests: 0, limitedBy: 'not-running' });
      const b = await store.registerExperiment(spec({ dailyCapUsd: 1 }));
      expect(await b.reserve(1000)).toEqual({ grantedRequests: 750, limitedBy: 'day' });
    });

    it('finish records the status and the spend, and a second finish changes nothing', async () => {
      const a = await store.registerExperiment(spec({ name: 'first', dailyCapUsd: 1 }));
      await a.reserve(500);
      await a.finish('breach', 321);
      const row = (await store.experiment(a.id))!;
      expect(row).toMatchObject({ name: 'first', status: 'breach', phase: 'done', spentUsd: 0.321, reservedUsd: 0 });
      expect(row.endedMs).toBeGreaterThanOrEqual(row.startedMs);
      await a.finish('passed', 400);
      expect(await store.experiment(a.id)).toEqual(row);
      const b = await store.registerExperiment(spec({ dailyCapUsd: 1 }));
      expect(await b.reserve(1000)).toEqual({ grantedRequests: 679, limitedBy: 'day' });
      expect((await store.recentExperiments()).map((e) => e.id)).toEqual([b.id, a.id]);
    });

    it('refuses to record more sent than reserved', async () => {
      const a = await store.registerExperiment(spec());
      await a.reserve(10);
      await expect(a.report(11)).rejects.toThrow(/budget invariant broken/);
      await a.report(10);
      expect((await store.experiment(a.id))!.spentUsd).toBe(0.01);
    });

    it('concurrent reservations from many handles on several connections never pass the day cap, and sum exactly', async () => {
      const costMicros = 7;
      const capMicros = 12_345; // 1763 requests, 4 µ$ over
      const stores = [store, await openAgain(), await openAgain()];
      const handles = await Promise.all(
        stores.flatMap((s) =>
          [1, 2, 3].map(() =>
            s.registerExperiment(spec({ costPerRequestUsd: costMicros / 1e6, dailyCapUsd: capMicros / 1e6, experimentCapUsd: 1 })),
          ),
        ),
      );
      const granted = new Map<string, number>(handles.map((h) => [h.id, 0]));
      let seed = 7;
      const ask = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 40) + 1;
      // three loops per handle, all at once: each reserves until the day says no
      const loop = async (h: ExperimentHandle) => {
        for (;;) {
          const r = await h.reserve(ask());
          granted.set(h.id, granted.get(h.id)! + r.grantedRequests);
          if (r.limitedBy) {
            expect(r.limitedBy).toBe('day');
            return;
          }
        }
      };
      await Promise.all(handles.flatMap((h) => [loop(h), loop(h), loop(h)]));
      const total = [...granted.values()].reduce((a, b) => a + b, 0);
      expect(total).toBe(Math.floor(capMicros / costMicros));
      const day = await store.dayTotals();
      expect(toMicros(day.reservedUsd)).toBe(total * costMicros);
      for (const h of handles) expect(toMicros((await store.experiment(h.id))!.reservedUsd)).toBe(granted.get(h.id)! * costMicros);
    });
  });

  describe('the emergency-stop latch', () => {
    it('blocks new experiments and reservations, tells heartbeats, and the first latch stands until cleared', async () => {
      const a = await store.registerExperiment(spec());
      expect(await a.heartbeat('baseline')).toBeNull();
      expect(await store.stopLatch()).toEqual({ latched: false });
      const first = await store.setStopLatch('alice');
      expect(first).toMatchObject({ latched: true, by: 'alice' });
      expect(first.atMs).toBeGreaterThan(0);
      const other = await openAgain();
      expect(await other.setStopLatch('bob')).toEqual(first);
      expect(await store.stopLatch()).toEqual(first);
      const refused = await other.registerExperiment(spec()).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(StopLatchedError);
      expect((refused as StopLatchedError).by).toBe('alice');
      expect(await a.reserve(10)).toEqual({ grantedRequests: 0, limitedBy: 'emergency-stop' });
      expect(await a.heartbeat('inject')).toBe('emergency-stop');
      expect(await other.clearStopLatch()).toBe(true);
      expect(await store.clearStopLatch()).toBe(false);
      expect(await store.stopLatch()).toEqual({ latched: false });
      expect(await a.reserve(10)).toEqual({ grantedRequests: 10 });
      expect(await a.heartbeat('inject')).toBeNull();
      await expect(store.registerExperiment(spec())).resolves.toBeDefined();
    });

    it('watchStop: a latch set through another connection reaches the listener within a second (PostgreSQL); a no-op that closes (SQLite)', async () => {
      const calls: Array<{ by: string; atMs: number }> = [];
      const watch = await store.watchStop((by) => calls.push({ by, atMs: performance.now() }));
      const other = await openAgain();
      const setAt = performance.now();
      await other.setStopLatch('pager');
      if (backend().notifies) {
        await expect.poll(() => calls.length, { timeout: 1_000, interval: 5 }).toBe(1);
        expect(calls[0].by).toBe('pager');
        expect(calls[0].atMs - setAt).toBeLessThan(1_000);
      } else {
        await sleep(300);
        expect(calls).toEqual([]);
      }
      await watch.close();
      await other.clearStopLatch();
      await other.setStopLatch('after-close');
      await sleep(300);
      expect(calls.length).toBe(backend().notifies ? 1 : 0);
    });
  });

  describe('dead controllers', () => {
    it('markDead counts the reservation as spent, returns the experiment once to concurrent callers, and freezes its money', async () => {
      const a = await store.registerExperiment(spec({ dailyCapUsd: 1 }));
      await a.reserve(300);
      await a.report(100);
      await sleep(10);
      expect(await store.markDead(60_000)).toEqual([]); // fresh heartbeat, live pid
      const other = await openAgain();
      const [x, y] = await Promise.all([store.markDead(0), other.markDead(0)]);
      expect([...x, ...y].map((e) => e.id)).toEqual([a.id]);
      const dead = [...x, ...y][0];
      expect(dead).toMatchObject({ status: 'dead', spentUsd: 0.3, reservedUsd: 0 });
      expect(dead.endedMs).not.toBeNull();
      expect(await store.markDead(0)).toEqual([]);
      // the controller was alive after all: nothing it says changes the money or the status
      await a.report(200);
      await a.settle(250);
      await a.finish('passed', 300);
      expect(await a.reserve(1)).toEqual({ grantedRequests: 0, limitedBy: 'not-running' });
      expect(await a.heartbeat('recovery')).toBe('not-running');
      expect(await store.experiment(a.id)).toEqual(dead);
      expect(await store.dayTotals()).toMatchObject({ spentUsd: 0.3, reservedUsd: 0 });
      const b = await store.registerExperiment(spec({ dailyCapUsd: 1 }));
      expect(await b.reserve(1000)).toEqual({ grantedRequests: 700, limitedBy: 'day' });
    });

    it("markDead takes a vanished pid on this host, not another host's nor a live one", async () => {
      const gone = await store.registerExperiment(spec({ name: 'gone', pid: deadPid(), host: thisHost() }));
      const live = await store.registerExperiment(spec({ name: 'live' }));
      const elsewhere = await store.registerExperiment(spec({ name: 'elsewhere', pid: deadPid(), host: 'another-machine.invalid' }));
      expect((await store.markDead()).map((e) => e.id)).toEqual([gone.id]);
      expect((await store.runningExperiments()).map((e) => e.id)).toEqual([live.id, elsewhere.id]);
    });

    it('rollback plans of dead experiments await a rollback; claims are exclusive, released, and end with markRecovered', async () => {
      const plan = { fault: 'command', restore: ['rm', '-f', '/tmp/x y'], n: 3 };
      const a = await store.registerExperiment(spec({ pid: deadPid(), host: thisHost() }));
      await a.setRollbackPlan(plan);
      const noPlan = await store.registerExperiment(spec({ pid: deadPid(), host: thisHost() }));
      const running = await store.registerExperiment(spec());
      await running.setRollbackPlan({ other: true });
      expect(await store.awaitingRollback()).toEqual([]);
      expect(await store.claimRollback(a.id, 1_000)).toEqual({ claimed: false, holder: null }); // not dead yet
      expect((await store.markDead()).map((e) => e.id).sort()).toEqual([a.id, noPlan.id].sort());
      const awaiting = await store.awaitingRollback();
      expect(awaiting.map((e) => [e.id, e.rollbackPlan])).toEqual([[a.id, plan]]);

      const other = await openAgain();
      const me = { host: thisHost(), pid: process.pid };
      const parent = { host: thisHost(), pid: process.ppid }; // alive too
      const [r1, r2] = await Promise.all([store.claimRollback(a.id, 60_000, me), other.claimRollback(a.id, 60_000, parent)]);
      expect([r1.claimed, r2.claimed].filter(Boolean)).toHaveLength(1);
      const [winner, loser, lost] = r1.claimed ? [me, parent, r2] : [parent, me, r1];
      expect(lost).toEqual({ claimed: false, holder: expect.objectContaining(winner) });
      const claim = (await store.rollbackClaim(a.id))!;
      expect(claim).toMatchObject(winner);
      expect(claim.untilMs - claim.sinceMs).toBe(60_000);
      expect(await store.releaseRollback(a.id, loser)).toBe(false);
      expect(await store.releaseRollback(a.id, winner)).toBe(true);
      expect(await store.rollbackClaim(a.id)).toBeNull();
      expect(await other.claimRollback(a.id, 60_000, loser)).toEqual({ claimed: true });
      await store.markRecovered(a.id);
      expect(await store.rollbackClaim(a.id)).toBeNull();
      expect(await store.awaitingRollback()).toEqual([]);
      expect((await store.experiment(a.id))!.recoveredMs).not.toBeNull();
      expect(await store.claimRollback(a.id, 60_000, winner)).toEqual({ claimed: false, holder: null });
      expect(await store.claimRollback(noPlan.id, 60_000, winner)).toEqual({ claimed: false, holder: null });
    });

    it('a claim passes on when its lease has expired or its claimant is gone from this host', async () => {
      const a = await store.registerExperiment(spec({ pid: deadPid(), host: thisHost() }));
      await a.setRollbackPlan({ step: 1 });
      await store.markDead();
      const t = await store.clockMs();
      const far = { host: 'another-machine.invalid', pid: 4242 };
      const near = { host: thisHost(), pid: process.pid };
      expect(await store.claimRollback(a.id, 1_000, { ...far, nowMs: t })).toEqual({ claimed: true });
      expect(await store.claimRollback(a.id, 1_000, { ...near, nowMs: t + 999 })).toEqual({
        claimed: false,
        holder: { ...far, sinceMs: t, untilMs: t + 1_000 },
      });
      expect(await store.claimRollback(a.id, 1_000, { ...near, nowMs: t + 1_000 })).toEqual({ claimed: true });
      // a claimant on this host whose pid has died: its claim is void at once, lease or not
      const ghost = { host: thisHost(), pid: deadPid() };
      expect(await store.releaseRollback(a.id, near)).toBe(true);
      expect(await store.claimRollback(a.id, 600_000, ghost)).toEqual({ claimed: true });
      expect(await store.claimRollback(a.id, 1_000, near)).toEqual({ claimed: true });
      expect(await store.rollbackClaim(a.id)).toMatchObject(near);
    });
  });

  describe('what the ledger lists', () => {
    it('stores who runs what; lists running oldest first, recent newest first, and counts the day by status', async () => {
      const a = await store.registerExperiment(spec({ name: 'a', operator: 'jane', host: 'box-7', pid: 4242 }));
      const b = await store.registerExperiment(spec({ name: 'b' }));
      const c = await store.registerExperiment(spec({ name: 'c' }));
      const d = await store.registerExperiment(spec({ name: 'd', pid: deadPid(), host: thisHost() }));
      const before = await store.clockMs();
      const row = (await store.experiment(a.id))!;
      expect(row).toMatchObject({ name: 'a', operator: 'jane', host: 'box-7', pid: 4242, status: 'running', phase: 'preflight' });
      expect(row).toMatchObject({ costPerRequestUsd: 0.001, experimentCapUsd: 1, dailyCapUsd: 2, reservedUsd: 0, spentUsd: 0 });
      expect(row).toMatchObject({ endedMs: null, rollbackPlan: null, stopAckedMs: null, recoveredMs: null });
      expect(row.startedMs).toBeLessThanOrEqual(before);
      expect((await store.experiment(b.id))!).toMatchObject({ operator: null, host: thisHost(), pid: process.pid });
      expect(await store.experiment('nope')).toBeUndefined();

      await c.heartbeat('inject');
      const beat = (await store.experiment(c.id))!;
      expect(beat.phase).toBe('inject');
      expect(beat.heartbeatMs).toBeGreaterThanOrEqual(before);
      await c.ackStopped();
      expect((await store.experiment(c.id))!.stopAckedMs).toBeGreaterThanOrEqual(before);
      await b.finish('passed', 0);
      await store.markDead();

      expect((await store.runningExperiments()).map((e) => e.name)).toEqual(['a', 'c']);
      expect((await store.recentExperiments()).map((e) => e.name)).toEqual(['d', 'c', 'b', 'a']);
      expect((await store.recentExperiments(2)).map((e) => e.id)).toEqual([d.id, c.id]);
      const today = utcDate(await store.clockMs());
      expect(await store.experimentsByStatus()).toEqual({ running: 2, passed: 1, dead: 1 });
      expect(await store.experimentsByStatus(today)).toEqual({ running: 2, passed: 1, dead: 1 });
      expect(await store.experimentsByStatus('2000-01-01')).toEqual({});
    });

    it('snapshot reads everything at once', async () => {
      const a = await store.registerExperiment(spec({ name: 'a', dailyCapUsd: 1 }));
      await a.reserve(100);
      const gone = await store.registerExperiment(spec({ name: 'gone', pid: deadPid(), host: thisHost() }));
      await gone.setRollbackPlan({ undo: true });
      await gone.reserve(50);
      await store.markDead();
      await store.setStopLatch('ops');
      const snap = await store.snapshot({ recentLimit: 1 });
      expect(utcDate(snap.clockMs)).toBe(snap.day.date);
      expect(snap.day).toMatchObject({ spentUsd: 0.05, reservedUsd: 0.1, capUsd: 2 });
      expect(snap.latch).toMatchObject({ latched: true, by: 'ops' });
      expect(snap.running.map((e) => e.id)).toEqual([a.id]);
      expect(snap.recent.map((e) => e.id)).toEqual([gone.id]);
      expect(snap.byStatus).toEqual({ running: 1, dead: 1 });
      expect(snap.awaitingRollback.map((e) => e.id)).toEqual([gone.id]);
      expect((await store.snapshot({ capUsd: 5 })).day.capUsd).toBe(5);
    });
  });
}

describe('LedgerStore conformance: SQLite', () => {
  let root: string;
  let stateDir = '';
  let n = 0;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'gameday-conformance-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  conformance(() => ({
    fresh: async () => SqliteStore.open((stateDir = join(root, `state-${++n}`))),
    again: async () => SqliteStore.open(stateDir),
    notifies: false,
  }));
});

describeWithPostgres('LedgerStore conformance: PostgreSQL', () => {
  let pg: Pg | undefined;
  let url = '';
  let n = 0;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => pg?.close());
  conformance(() => ({
    fresh: async () => PostgresLedger.open((url = await pg!.createDatabase(`conformance_${++n}`))),
    again: async () => PostgresLedger.open(url),
    notifies: true,
  }));

  it('one script run on both backends gives the same answers, field for field', async () => {
    const postgres = await PostgresLedger.open(await pg!.createDatabase('both'));
    const dir = mkdtempSync(join(tmpdir(), 'gameday-conformance-'));
    const sqlite = SqliteStore.open(join(dir, 'state'));
    try {
      const gonePid = deadPid();
      const [onSqlite, onPostgres] = [await script(sqlite, gonePid), await script(postgres, gonePid)];
      expect(onPostgres).toEqual(onSqlite);
      expect(onSqlite.recent).toHaveLength(3); // the script did run
    } finally {
      await Promise.all([sqlite.close(), postgres.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A game day in miniature; what the ledger answers, with ids as names and times as whether they are set. */
async function script(store: LedgerStore, gonePid: number) {
  const a = await store.registerExperiment(
    spec({ name: 'a', operator: 'ops', costPerRequestUsd: 0.000007, dailyCapUsd: 0.001, experimentCapUsd: 0.0005 }),
  );
  const b = await store.registerExperiment(spec({ name: 'b', host: 'h2', pid: 77, costPerRequestUsd: 0.000003, dailyCapUsd: 0.001 }));
  const c = await store.registerExperiment(
    spec({ name: 'c', pid: gonePid, host: thisHost(), costPerRequestUsd: 0.000011, dailyCapUsd: 0.001 }),
  );
  const names = new Map([a, b, c].map((h, i) => [h.id, 'abc'[i]]));
  const reserved = [await a.reserve(80), await c.reserve(10), await b.reserve(400), await a.reserve(30)];
  await a.report(20);
  await c.setRollbackPlan({ restore: ['true'] });
  await b.finish('budget', 100);
  await store.markDead();
  const beat = await a.heartbeat('inject');
  await store.setStopLatch('cmp');
  reserved.push(await a.reserve(1));
  const claim = await store.claimRollback(c.id, 1_000);
  const held = await store.rollbackClaim(c.id);
  const shape = (r: ExperimentRow) => ({
    ...r,
    id: names.get(r.id),
    startedMs: typeof r.startedMs,
    heartbeatMs: typeof r.heartbeatMs,
    endedMs: r.endedMs === null ? null : 'set',
    stopAckedMs: r.stopAckedMs === null ? null : 'set',
    recoveredMs: r.recoveredMs === null ? null : 'set',
  });
  const { clockMs: _clock, ...snap } = await store.snapshot({ recentLimit: 2 });
  return {
    reserved,
    beat,
    claim,
    held: held && { host: held.host, pid: held.pid, leaseMs: held.untilMs - held.sinceMs },
    day: await store.dayTotals(),
    recent: (await store.recentExperiments()).map(shape),
    running: (await store.runningExperiments()).map(shape),
    byStatus: await store.experimentsByStatus(),
    awaiting: (await store.awaitingRollback()).map(shape),
    latch: (await store.stopLatch()).by,
    snapshot: {
      ...snap,
      latch: snap.latch.by,
      running: snap.running.map(shape),
      recent: snap.recent.map(shape),
      awaitingRollback: snap.awaitingRollback.map(shape),
    },
  };
}
