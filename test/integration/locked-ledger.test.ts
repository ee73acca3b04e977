// A ledger another process holds locked (BEGIN EXCLUSIVE, 8 s: longer than SQLite's 5 s busy
// timeout) while an experiment observes. Stopping the run must take the fault out at once: nothing
// on the path from a stop to the fault being out may wait on the ledger. The money is settled when
// the lock is gone, and the ledger ends up agreeing with the run.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { toMicros } from '../../src/budget/budget.ts';
import { ROOT, runCli, spawnCli, summaryOf, tempDir } from '../helpers/cli.ts';
import { commandFaultExperiment } from '../helpers/experiments.ts';
import { useCountingTarget } from '../helpers/target.ts';
import { waitUntil } from '../helpers/wait.ts';

const LOCK_MS = 8_000;
// Holds the ledger's write lock for argv[2] ms, saying "locked" once it has it.
const LOCKER = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1], { timeout: 5000 });
db.exec('BEGIN EXCLUSIVE');
console.log('locked');
setTimeout(() => { db.exec('COMMIT'); db.close(); console.log('released'); }, Number(process.argv[2]));
`;

const target = useCountingTarget();
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function lockLedger(stateDir: string): { locked: Promise<number>; released: Promise<number> } {
  const locker = spawn(process.execPath, ['-e', LOCKER, join(stateDir, 'ledger.sqlite'), String(LOCK_MS)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(locker);
  const lines = createInterface({ input: locker.stdout });
  const when = (word: string) => new Promise<number>((resolve) => lines.on('line', (l) => l === word && resolve(performance.now())));
  return { locked: when('locked'), released: when('released') };
}

async function observing(name: string) {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const { file, marker } = commandFaultExperiment({
    dir,
    name,
    targetUrl: target().url,
    rps: 50,
    schedule: '{ warmup: 200ms, baseline: 1s, duration: 60s, recoveryWindow: 1s }',
  });
  const run = spawnCli(['run', '--experiment', file, '--headless', '--output', 'json', '--state-dir', stateDir, '--metrics-port', '0']);
  children.push(run.child);
  await run.waitForEvent((e) => e.type === 'phase' && e.phase === 'observe', 30_000);
  expect(existsSync(marker)).toBe(true);
  return { stateDir, marker, run };
}

/** After the lock: the ledger records the run as it ended, spend = requests × cost exactly. */
async function ledgerAgrees(stateDir: string, summary: { experimentId: string; requests: number; status: string }) {
  const status = JSON.parse((await runCli(['budget-status', '--json', '--state-dir', stateDir])).stdout);
  const row = status.experiments.find((e: { id: string }) => e.id === summary.experimentId);
  expect(row.status).toBe(summary.status);
  expect(toMicros(row.spentUsd)).toBe(summary.requests * toMicros(0.001));
  expect(status.day.reservedUsd).toBe(0);
}

describe('a ledger locked by another process', () => {
  it('a stop (SIGTERM) takes the fault out within 500 ms; the run settles once the lock is gone (exit 5)', async () => {
    const { stateDir, marker, run } = await observing('locked-sigterm');
    const lock = lockLedger(stateDir);
    await lock.locked;
    // long enough for the controller's reservations, reports and heartbeats to meet the lock
    await new Promise((r) => setTimeout(r, 1_000));
    run.child.kill('SIGTERM');
    const faultOutMs = await waitUntil(() => !existsSync(marker), 5_000, 'fault removed');
    console.log(`locked ledger: SIGTERM → fault out in ${faultOutMs.toFixed(0)} ms`);
    expect(faultOutMs).toBeLessThan(500);
    const r = await run.done;
    const releasedAtMs = await lock.released;
    expect(r.code).toBe(5);
    const summary = summaryOf(r);
    expect(summary).toMatchObject({ status: 'stopped', trigger: 'signal', faultRemoved: true });
    // the money waited for the lock, not the fault
    expect(performance.now()).toBeGreaterThanOrEqual(releasedAtMs);
    await ledgerAgrees(stateDir, summary);
  });

  it('`gameday emergency-stop` signals before it latches: the fault is out while the lock is still held, the latch set after it (exit 0)', async () => {
    const { stateDir, marker, run } = await observing('locked-estop');
    const lock = lockLedger(stateDir);
    const lockedAtMs = await lock.locked;
    const stop = runCli(['emergency-stop', '--state-dir', stateDir]);
    const faultOutMs = await waitUntil(() => !existsSync(marker), LOCK_MS, 'fault removed');
    const outAtMs = performance.now();
    console.log(`locked ledger: emergency-stop command → fault out in ${faultOutMs.toFixed(0)} ms (command start-up included)`);
    const s = await stop;
    const releasedAtMs = await lock.released;
    expect(outAtMs).toBeLessThan(releasedAtMs);
    expect(outAtMs - lockedAtMs).toBeLessThan(LOCK_MS - 1_000);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/emergency stop latched/);
    expect(s.stdout).toMatch(/stopped {7}\w+ {2}locked-estop/);
    const r = await run.done;
    expect(r.code).toBe(5);
    const summary = summaryOf(r);
    expect(summary).toMatchObject({ status: 'stopped', trigger: 'emergency-stop', faultRemoved: true });
    await ledgerAgrees(stateDir, summary);
    expect((await runCli(['emergency-stop', '--clear', '--state-dir', stateDir])).code).toBe(0);
  });
});
