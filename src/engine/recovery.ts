// Recovery of experiments whose controller died: their reservations count as spent (the ledger does
// that) and their rollback plans run here. Done by `gameday recover`, by every `run` before it
// starts, and by the watchdog.
import type { Ledger } from '../budget/ledger.ts';
import { describeFailure, runCommand } from '../faults/command-driver.ts';
import { runWithRetries } from './rollback.ts';
import type { WatchdogPlan } from './topology.ts';

export interface RecoveryResult {
  id: string;
  name: string;
  ok: boolean;
  detail: string;
}

function isPlan(p: unknown): p is WatchdogPlan {
  return typeof p === 'object' && p !== null && Array.isArray((p as WatchdogPlan).commands);
}

/** A dead controller's plan gets the run's default pause between tries (rollback.retryDelay). */
const RETRY_DELAY_MS = 250;

/** Runs one dead experiment's plan: every command, each retried, all of them even if one fails. */
export async function executePlan(plan: WatchdogPlan, attempts = 3): Promise<{ ok: boolean; detail: string }> {
  const failures: string[] = [];
  for (const { argv, timeoutMs } of plan.commands) {
    const step = {
      name: argv.join(' '),
      critical: true,
      run: async () => {
        const r = await runCommand(argv, { timeoutMs });
        if (r.exitCode !== 0) throw new Error(describeFailure(argv, r));
      },
    };
    const outcome = await runWithRetries(step, { attempts, retryDelayMs: RETRY_DELAY_MS }, () => {});
    if (!outcome.ok) failures.push(outcome.error ?? step.name);
  }
  return { ok: failures.length === 0, detail: failures.length ? failures.join('; ') : `ran ${plan.commands.length} rollback command(s)` };
}

/** Marks stale controllers dead and rolls back every dead experiment that still has a plan. */
export async function recoverDead(ledger: Ledger, staleMs?: number): Promise<{ dead: string[]; results: RecoveryResult[] }> {
  const dead = ledger.markDead(staleMs);
  const results: RecoveryResult[] = [];
  for (const row of ledger.awaitingRollback()) {
    if (!isPlan(row.rollbackPlan)) {
      ledger.markRecovered(row.id);
      continue;
    }
    const r = await executePlan(row.rollbackPlan);
    if (r.ok) ledger.markRecovered(row.id);
    results.push({ id: row.id, name: row.name, ...r });
  }
  return { dead: dead.map((d) => `${d.name} (${d.id}, pid ${d.pid})`), results };
}
