// A dead controller's rollback plan runs once, whoever gets there: `gameday recover`, another
// recover, the watchdog. Each claims the plan in the ledger first; whoever does not get the claim
// says who has it and leaves the plan alone. A claimant that was killed is taken over.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/budget/sqlite-ledger.ts';
import { pidAlive } from '../../src/faults/pid.ts';
import { spawnCli, tempDir } from '../helpers/cli.ts';
import { waitUntil } from '../helpers/wait.ts';

const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid;

/**
 * A dead experiment whose plan appends "<sh pid> <executor pid>" to `log`, then sleeps `sleepS`
 * seconds if it is the first line (a later run, a takeover, returns at once).
 */
async function deadExperimentWithPlan(state: string, log: string, sleepS: number): Promise<string> {
  const ledger = Ledger.open(state);
  try {
    const e = ledger.registerExperiment({
      name: 'dead-exp',
      pid: deadPid(),
      experimentCapUsd: 1,
      dailyCapUsd: 1,
      costPerRequestUsd: 0.001,
    });
    const script = 'echo "$$ $PPID" >> "$0"; [ "$(wc -l < "$0")" -gt 1 ] || sleep "$1"';
    await e.setRollbackPlan({ commands: [{ argv: ['sh', '-c', script, log, String(sleepS)], timeoutMs: 60_000 }] });
    expect(ledger.markDead().map((d) => d.id)).toEqual([e.id]);
    return e.id;
  } finally {
    ledger.close();
  }
}

const lines = (log: string): string[] => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);

describe('rollback plan claims', () => {
  it('two `gameday recover` at once: the plan runs once; the other names the pid and host running it', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const log = join(dir, 'plan.log');
    const id = await deadExperimentWithPlan(state, log, 5);
    const a = spawnCli(['recover', '--state-dir', state]);
    const b = spawnCli(['recover', '--state-dir', state]);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect(lines(log)).toHaveLength(1);
    const executor = Number(lines(log)[0].split(' ')[1]);
    const [winner, loser] = executor === a.child.pid ? [ra, rb] : [rb, ra];
    expect([a.child.pid, b.child.pid]).toContain(executor);
    expect(winner.stdout).toMatch(/rolled back: dead-exp/);
    expect(loser.stdout).toContain(`dead-exp (${id}) is being rolled back by pid ${executor} on host ${hostname()}`);
    expect(loser.stdout).not.toMatch(/rolled back: dead-exp/);
    const ledger = Ledger.open(state);
    try {
      expect(ledger.experiment(id)?.recoveredMs).not.toBeNull();
      expect(ledger.rollbackClaim(id)).toBeNull();
    } finally {
      ledger.close();
    }
  });

  it('the watchdog started while `recover` runs the plan leaves it to recover, and ends when it is done', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const log = join(dir, 'plan.log');
    const id = await deadExperimentWithPlan(state, log, 5);
    const recover = spawnCli(['recover', '--state-dir', state]);
    await waitUntil(() => lines(log).length > 0, 30_000, 'recover running the plan');
    const watchdog = spawnCli(['watchdog', '--experiment-id', id, '--state-dir', state]);
    const [rr, rw] = await Promise.all([recover.done, watchdog.done]);
    expect(rr.code, rr.stderr).toBe(0);
    expect(rw.code, rw.stderr).toBe(0);
    expect(lines(log)).toHaveLength(1);
    expect(rw.stdout).toContain(`is being rolled back by pid ${recover.child.pid} on host ${hostname()}`);
    expect(rw.stdout).not.toMatch(/rolled back: ran/);
  });

  it('a claim left by a killed claimant is taken over by the next recover', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const log = join(dir, 'plan.log');
    const id = await deadExperimentWithPlan(state, log, 60);
    const first = spawnCli(['recover', '--state-dir', state]);
    await waitUntil(() => lines(log).length > 0, 30_000, 'recover running the plan');
    first.child.kill('SIGKILL');
    await first.done;
    process.kill(Number(lines(log)[0].split(' ')[0]), 'SIGKILL'); // its plan's orphaned sh
    const ledger = Ledger.open(state);
    try {
      const claim = ledger.rollbackClaim(id);
      expect(claim).toMatchObject({ pid: first.child.pid, host: hostname() });
      expect(pidAlive(claim!.pid)).toBe(false);
      expect(claim!.untilMs).toBeGreaterThan(Date.now() + 60_000); // the lease would hold it for minutes
      expect(ledger.experiment(id)?.recoveredMs).toBeNull();

      const second = await spawnCli(['recover', '--state-dir', state]).done;
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toMatch(/rolled back: dead-exp/);
      expect(lines(log)).toHaveLength(2);
      expect(ledger.experiment(id)?.recoveredMs).not.toBeNull();
      expect(ledger.rollbackClaim(id)).toBeNull();
    } finally {
      ledger.close();
    }
  });
});
