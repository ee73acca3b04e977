// Many processes, one ledger: concurrent reservations never exceed the caps, and a controller
// killed mid-transaction leaves a sound file whose money still adds up.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { toMicros } from '../../src/budget/budget.ts';
import { LEDGER_FILE, Ledger } from '../../src/budget/sqlite-ledger.ts';
import { spawnLedgerChild, type LedgerChild } from '../helpers/ledger-child-process.ts';

const dirs: string[] = [];
const tempStateDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'gameday-concurrency-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const integrityCheck = (stateDir: string): string => {
  const db = new Database(join(stateDir, LEDGER_FILE), { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
};

/** Everything the day has committed (spend, dead controllers' reservations, live holdings), in micro-dollars. */
const committedMicros = (ledger: Ledger): number => {
  const d = ledger.dayTotals();
  return toMicros(d.spentUsd) + toMicros(d.reservedUsd);
};

describe('ledger across processes', () => {
  it('8 processes reserving at once: never more than the daily cap, every grant accounted once', async () => {
    const stateDir = tempStateDir();
    const costUsd = 0.001;
    const dayCapUsd = 2;
    // A chunk of 7 does not divide the cap, so the last grants are partial.
    const children = Array.from({ length: 8 }, () => spawnLedgerChild(['contend', stateDir, '7', '1', String(dayCapUsd), String(costUsd)]));
    await Promise.all(children.map((c) => c.line('ready')));
    for (const c of children) c.proc.stdin!.write('go\n');
    const results = await Promise.all(
      children.map(
        async (c) => JSON.parse((await c.line('done')).slice('done '.length)) as { id: string; sent: number; reservations: number },
      ),
    );
    await Promise.all(children.map((c) => c.exited));

    const sentRequests = results.reduce((sum, r) => sum + r.sent, 0);
    expect(sentRequests * toMicros(costUsd)).toBe(toMicros(dayCapUsd)); // all of it, and not a request more
    expect(results.filter((r) => r.sent > 0).length).toBeGreaterThan(1); // they really did contend

    const ledger = Ledger.open(stateDir);
    try {
      expect(ledger.dayTotals()).toMatchObject({ spentUsd: 2, reservedUsd: 0, capUsd: 2 });
      for (const r of results) {
        const row = ledger.experiment(r.id)!;
        // exact in micro-dollars (the ledger keeps integers; r.sent * 0.001 in floating point is not)
        expect(toMicros(row.spentUsd)).toBe(r.sent * toMicros(costUsd)); // what the ledger granted it is what it sent: no overlap
        expect(row.spentUsd).toBeLessThanOrEqual(1);
        expect(row.reservedUsd).toBe(0);
      }
    } finally {
      ledger.close();
    }
    expect(integrityCheck(stateDir)).toBe('ok');
  });

  it('50 controllers killed (SIGKILL) during bursts of reservations: sound file, money adds up', async () => {
    const stateDir = tempStateDir();
    const costUsd = 0.001;
    const dayCapUsd = 1.5;
    const fillDayBut = async (l: Ledger, requests: number) => {
      const filler = l.registerExperiment({
        name: 'filler',
        experimentCapUsd: dayCapUsd,
        dailyCapUsd: dayCapUsd,
        costPerRequestUsd: costUsd,
      });
      const left = Math.round((toMicros(dayCapUsd) - committedMicros(l)) / toMicros(costUsd));
      await filler.finish('passed', (await filler.reserve(left - requests)).grantedRequests);
    };
    const spawnWarm = () => spawnLedgerChild(['burst', stateDir, '0.1', String(dayCapUsd), String(costUsd)]);
    const ledger = Ledger.open(stateDir);
    // Warm children (tsx loaded, registered, waiting for "go") so spawning overlaps the trials.
    const pool: LedgerChild[] = [spawnWarm(), spawnWarm(), spawnWarm()];
    let cappedTrials = 0;
    try {
      for (let trial = 0; trial < 50; trial++) {
        const child = pool.shift()!;
        pool.push(spawnWarm());
        if (trial === 25) await fillDayBut(ledger, 2); // the rest of the trials run into the daily cap
        const id = (await child.line('ready')).split(' ')[1];
        child.proc.stdin!.write('go\n');
        await sleep(20 + Math.random() * 180);
        child.proc.kill('SIGKILL');
        const { signal } = await child.exited;
        expect(signal).toBe('SIGKILL');

        // A grant is printed after its commit, so the ledger holds at least the last printed
        // total, and at most one more (committed, killed before printing).
        const printed = child.lines.filter((l) => l.startsWith('granted ')).map((l) => Number(l.split(' ')[1]));
        const lastPrinted = printed.at(-1) ?? 0;
        const before = ledger.experiment(id)!;
        expect(before.status).toBe('running');
        const heldRequests = Math.round((before.reservedUsd + before.spentUsd) / costUsd);
        expect(heldRequests).toBeGreaterThanOrEqual(lastPrinted);
        expect(heldRequests).toBeLessThanOrEqual(lastPrinted + 1);

        const committedBefore = committedMicros(ledger);
        expect(committedBefore).toBeLessThanOrEqual(toMicros(dayCapUsd));
        // Its pid is gone: dead, its reservation counted as spent, and nothing counted twice.
        const dead = ledger.markDead(3_600_000);
        expect(dead.map((e) => e.id)).toEqual([id]);
        expect(toMicros(dead[0].spentUsd)).toBe(heldRequests * toMicros(costUsd));
        expect(dead[0].reservedUsd).toBe(0);
        expect(committedMicros(ledger)).toBe(committedBefore);
        expect(ledger.markDead(3_600_000)).toEqual([]);
        if (committedBefore === toMicros(dayCapUsd)) cappedTrials++;
      }
    } finally {
      for (const c of pool) c.proc.kill('SIGKILL');
      await Promise.all(pool.map((c) => c.exited));
      ledger.close();
    }
    expect(integrityCheck(stateDir)).toBe('ok');
    const reopened = Ledger.open(stateDir);
    try {
      const day = reopened.dayTotals();
      expect(toMicros(day.spentUsd) + toMicros(day.reservedUsd)).toBeLessThanOrEqual(toMicros(dayCapUsd));
      expect(reopened.recentExperiments(100).filter((e) => e.status === 'dead')).toHaveLength(50);
      expect(toMicros(day.spentUsd)).toBe(toMicros(dayCapUsd)); // the cap was reached, and not passed
    } finally {
      reopened.close();
    }
    expect(cappedTrials).toBeGreaterThan(0);
  });
});
