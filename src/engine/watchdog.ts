// The dead man's switch: a detached process that watches one controller through the ledger and,
// if the controller stops heart-beating (killed, hung) while its external fault is in, executes
// the rollback plan the controller wrote before injecting.
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { LedgerStore } from '../budget/ledger-store.ts';
import { ROOT_DIR } from '../config/package-root.ts';
import { sleep } from './clock.ts';
import { describeClaim, recoverDead } from './recovery.ts';

export interface WatchOptions {
  pollMs?: number;
  /** heartbeat age after which the controller is declared dead (its pid vanishing counts at once) */
  staleMs?: number;
  log?: (line: string) => void;
}

/** Returns when the experiment ended normally, or after rolling back its dead controller. */
export async function watchController(
  ledger: LedgerStore,
  experimentId: string,
  opts: WatchOptions = {},
): Promise<'finished' | 'recovered' | 'recovery-failed'> {
  const pollMs = opts.pollMs ?? 250;
  const staleMs = opts.staleMs ?? 3_000;
  const log = opts.log ?? (() => {});
  let failedRounds = 0;
  let toldHolder = ''; // say once per claimant who is rolling it back, not every round
  for (;;) {
    try {
      const outcome = await watchRound();
      if (outcome) return outcome;
    } catch (err) {
      // A busy or briefly unreadable ledger must not end the watch: the controller may still die.
      log(`ledger error, still watching: ${(err as Error).message}`);
    }
    await sleep(pollMs);
  }

  async function watchRound(): Promise<'finished' | 'recovered' | 'recovery-failed' | null> {
    const row = await ledger.experiment(experimentId);
    if (!row || (row.status !== 'running' && row.status !== 'dead')) return 'finished';
    // recoverDead declares only the stale or pid-less dead; a live controller is left alone.
    const { dead, results, claimedElsewhere } = await recoverDead(ledger, staleMs);
    for (const d of dead) log(`controller dead: ${d}`);
    // Another executor (recover, a run's recovery) holds the plan: it is not run here. Keep watching:
    // if it fails it releases the claim and the next round takes it.
    const other = claimedElsewhere.find((c) => c.id === experimentId);
    if (other && `${other.host}/${other.pid}/${other.sinceMs}` !== toldHolder) {
      toldHolder = `${other.host}/${other.pid}/${other.sinceMs}`;
      log(`${describeClaim(other)}; not running it here`);
    }
    const mine = results.find((r) => r.id === experimentId);
    if (mine) {
      log(`${mine.ok ? 'rolled back' : 'ROLLBACK FAILED'}: ${mine.detail}`);
      if (mine.ok) return 'recovered';
      // Keep trying for a while (a control plane may come back), then leave it to `gameday recover`.
      if (++failedRounds >= 20) return 'recovery-failed';
    }
    const now = await ledger.experiment(experimentId);
    // Dead with nothing left to roll back (the fault was already out, or somebody else recovered it).
    if (now?.status === 'dead' && (now.rollbackPlan === null || now.recoveredMs !== null)) return 'finished';
    return null;
  }
}

/**
 * Starts the watchdog for one experiment, detached, logging to the state dir. A team ledger's URL
 * goes through the environment, not the arguments: other users can read a process's arguments.
 */
export function spawnWatchdog(stateDir: string, experimentId: string, ledgerUrl: string | null): number | undefined {
  const env = { ...process.env };
  if (ledgerUrl) env.GAMEDAY_LEDGER_URL = ledgerUrl;
  else delete env.GAMEDAY_LEDGER_URL;
  const logFd = openSync(join(stateDir, `watchdog-${experimentId}.log`), 'a', 0o600);
  try {
    const child = spawn(
      process.execPath,
      [join(ROOT_DIR, 'bin', 'gameday.js'), 'watchdog', '--experiment-id', experimentId, '--state-dir', stateDir],
      {
        detached: true,
        env,
        stdio: ['ignore', logFd, logFd],
      },
    );
    child.unref();
    return child.pid;
  } finally {
    closeSync(logFd);
  }
}
