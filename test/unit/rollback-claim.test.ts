// Claims on a dead experiment's rollback plan: exactly one executor at a time; a claimant that is
// provably gone (same host, pid dead) or whose lease expired is taken over.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/budget/sqlite-ledger.ts';
import { planLeaseMs } from '../../src/engine/recovery.ts';

/** The pid of a process that has exited (and been reaped). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid;

let dir: string;
let ledger: Ledger;
let nowMs: number;
const plan = { commands: [{ argv: ['true'], timeoutMs: 1_000 }] };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gameday-claim-'));
  nowMs = Date.parse('2025-03-01T12:00:00Z');
  ledger = Ledger.open(join(dir, 'state'), { nowMs: () => nowMs });
});
afterEach(() => {
  ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A dead experiment with a rollback plan, as a killed controller leaves it. */
async function deadExperiment(): Promise<string> {
  const e = ledger.registerExperiment({ name: 'dead', pid: deadPid(), experimentCapUsd: 1, dailyCapUsd: 1, costPerRequestUsd: 0.001 });
  await e.setRollbackPlan(plan);
  expect(ledger.markDead().map((d) => d.id)).toEqual([e.id]);
  return e.id;
}

describe('claimRollback', () => {
  it('one claimant gets it; another live one is told who holds it, since when', async () => {
    const id = await deadExperiment();
    expect(ledger.claimRollback(id, 60_000)).toEqual({ claimed: true });
    expect(ledger.rollbackClaim(id)).toEqual({ host: hostname(), pid: process.pid, sinceMs: nowMs, untilMs: nowMs + 60_000 });
    // another live process on this host (our parent), and the same process a second time
    expect(ledger.claimRollback(id, 60_000, { pid: process.ppid })).toEqual({
      claimed: false,
      holder: { host: hostname(), pid: process.pid, sinceMs: nowMs, untilMs: nowMs + 60_000 },
    });
    expect(ledger.claimRollback(id, 60_000).claimed).toBe(false);
  });

  it('success: markRecovered clears the claim and nothing is left to claim', async () => {
    const id = await deadExperiment();
    expect(ledger.claimRollback(id, 60_000).claimed).toBe(true);
    ledger.markRecovered(id);
    expect(ledger.rollbackClaim(id)).toBeNull();
    expect(ledger.awaitingRollback()).toEqual([]);
    expect(ledger.claimRollback(id, 60_000, { pid: process.ppid })).toEqual({ claimed: false, holder: null });
  });

  it('failure: the claimant releases it and a later executor can claim it', async () => {
    const id = await deadExperiment();
    expect(ledger.claimRollback(id, 60_000).claimed).toBe(true);
    expect(ledger.releaseRollback(id, { pid: process.ppid })).toBe(false); // only the holder releases
    expect(ledger.releaseRollback(id)).toBe(true);
    expect(ledger.rollbackClaim(id)).toBeNull();
    expect(ledger.claimRollback(id, 60_000, { pid: process.ppid }).claimed).toBe(true);
  });

  it('a claimant on this host whose pid is dead is taken over at once', async () => {
    const id = await deadExperiment();
    const gone = deadPid();
    expect(ledger.claimRollback(id, 3_600_000, { pid: gone }).claimed).toBe(true);
    expect(ledger.claimRollback(id, 60_000)).toEqual({ claimed: true });
    expect(ledger.rollbackClaim(id)?.pid).toBe(process.pid);
  });

  it("another host's claimant cannot be checked: its lease decides", async () => {
    const id = await deadExperiment();
    const gone = deadPid(); // dead here, but on "elsewhere" that pid means nothing
    expect(ledger.claimRollback(id, 10_000, { pid: gone, host: 'elsewhere' }).claimed).toBe(true);
    nowMs += 9_999;
    expect(ledger.claimRollback(id, 10_000)).toMatchObject({ claimed: false, holder: { host: 'elsewhere', pid: gone } });
    nowMs += 1;
    expect(ledger.claimRollback(id, 10_000)).toEqual({ claimed: true });
  });

  it('only a dead experiment with a plan not yet executed can be claimed', async () => {
    const live = ledger.registerExperiment({ name: 'live', experimentCapUsd: 1, dailyCapUsd: 1, costPerRequestUsd: 0.001 });
    await live.setRollbackPlan(plan);
    expect(ledger.claimRollback(live.id, 60_000)).toEqual({ claimed: false, holder: null });
    expect(ledger.claimRollback('nosuchid', 60_000)).toEqual({ claimed: false, holder: null });
  });
});

describe('planLeaseMs', () => {
  it('covers every command timing out on every attempt, the pauses between attempts, and a margin', () => {
    const lease = planLeaseMs(
      {
        commands: [
          { argv: ['a'], timeoutMs: 10_000 },
          { argv: ['b'], timeoutMs: 5_000 },
        ],
      },
      3,
      250,
    );
    // each attempt: its timeout + the kill grace; pauses 250 + 500 per command
    const worst = 3 * (10_000 + 2_000) + 3 * (5_000 + 2_000) + 2 * (250 + 500);
    expect(lease).toBeGreaterThanOrEqual(worst);
    expect(lease).toBeLessThanOrEqual(worst + 60_000);
    expect(planLeaseMs({ commands: [] }, 3, 250)).toBeGreaterThan(0);
  });
});
