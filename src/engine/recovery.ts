// Recovery of experiments whose controller died: their reservations count as spent (the ledger does
// that) and their rollback plans run here, by whichever executor claims each plan first. Done by
// `gameday recover`, by every `run` before it starts, and by the watchdog.
import { thisHost } from '../budget/identity.ts';
import type { LedgerStore, RollbackClaim } from '../budget/ledger-store.ts';
import { describeFailure, runCommand } from '../faults/command-driver.ts';
import { runWithRetries } from './rollback.ts';
import { describeUndo, undo } from '../rollback/undo.ts';
import type { WatchdogPlan } from './topology.ts';

interface RecoveryResult {
  id: string;
  name: string;
  ok: boolean;
  detail: string;
}

function isPlan(p: unknown): p is WatchdogPlan {
  return typeof p === 'object' && p !== null && Array.isArray((p as WatchdogPlan).commands);
}

/** A dead controller's plan gets the run's default attempts and pause between tries (rollback.*). */
const ATTEMPTS = 3;
const RETRY_DELAY_MS = 250;
/** Per attempt beyond the command's timeout: the kill grace after it (2 s in command-driver) and spawning. */
const ATTEMPT_SLACK_MS = 5_000;
/** On top of the worst case: ledger calls (each may wait out a busy timeout) and a slow machine. */
const LEASE_MARGIN_MS = 30_000;

/**
 * How long a claim on `plan` holds before another executor may take it over: the worst case of
 * executePlan (every command timing out on every attempt, with the growing pauses of
 * runWithRetries between attempts) plus a margin. Too short and two executors overlap; too long
 * only delays a takeover when the claimant hangs on another host (on this host a dead claimant's
 * pid is checked, which frees its claim at once).
 */
export function planLeaseMs(plan: WatchdogPlan, attempts = ATTEMPTS, retryDelayMs = RETRY_DELAY_MS): number {
  const pauses = (retryDelayMs * attempts * (attempts - 1)) / 2; // retryDelay × (1 + 2 + … + attempts-1)
  const perCommand = plan.commands.map((c) => attempts * (c.timeoutMs + ATTEMPT_SLACK_MS) + pauses);
  // an undo runs its own commands (nginx: test and reload), each within its timeout
  const perUndo = (plan.undo ?? []).map((u) => attempts * (3 * u.timeoutMs + ATTEMPT_SLACK_MS) + pauses);
  return [...perCommand, ...perUndo].reduce((sum, ms) => sum + ms, 0) + LEASE_MARGIN_MS;
}

/** Runs one dead experiment's plan: every command, each retried, all of them even if one fails. */
async function executePlan(plan: WatchdogPlan, attempts = ATTEMPTS): Promise<{ ok: boolean; detail: string }> {
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
  // what the dead run's rollback shifted and it did not live to put back, newest first
  const undos = [...(plan.undo ?? [])].reverse();
  for (const record of undos) {
    const step = { name: describeUndo(record), critical: true, run: () => undo(record) };
    const outcome = await runWithRetries(step, { attempts, retryDelayMs: RETRY_DELAY_MS }, () => {});
    if (!outcome.ok) failures.push(`${step.name}: ${outcome.error ?? 'failed'}`);
  }
  const did = [plan.commands.length ? `ran ${plan.commands.length} rollback command(s)` : '', undos.map(describeUndo).join(', ')];
  return { ok: failures.length === 0, detail: failures.length ? failures.join('; ') : did.filter(Boolean).join('; ') || 'nothing to do' };
}

/** A dead experiment whose plan another process holds the claim on: not run here. */
export interface ClaimedElsewhere extends RollbackClaim {
  id: string;
  name: string;
}

/** "being rolled back by pid N on host H (since …)" */
export function describeClaim(c: ClaimedElsewhere): string {
  return `${c.name} (${c.id}) is being rolled back by pid ${c.pid} on host ${c.host} (since ${new Date(c.sinceMs).toISOString()})`;
}

/** A dead experiment whose plan must run on the machine that injected it. */
export interface OnOtherHost {
  id: string;
  name: string;
  host: string;
}

/** "dead on host H, awaiting `gameday recover` there" */
export const describeOtherHost = (o: OnOtherHost): string =>
  `${o.name} (${o.id}) is dead on host ${o.host}, awaiting \`gameday recover\` there`;

export interface RecoverDeadResult {
  /** controllers declared dead by this call */
  dead: string[];
  /** plans this process executed */
  results: RecoveryResult[];
  /** plans another executor holds: left to it */
  claimedElsewhere: ClaimedElsewhere[];
  /** plans of other machines: not run here */
  otherHosts: OnOtherHost[];
}

/**
 * Marks stale controllers dead and rolls back every dead experiment that still has a plan, each
 * only after claiming it in the ledger: `recover`, a watchdog and every run's recovery may all get
 * here at once, and a rollback plan must not run twice over itself.
 */
export async function recoverDead(ledger: LedgerStore, staleMs?: number): Promise<RecoverDeadResult> {
  const dead = await ledger.markDead(staleMs);
  const here = thisHost();
  const results: RecoveryResult[] = [];
  const claimedElsewhere: ClaimedElsewhere[] = [];
  const otherHosts: OnOtherHost[] = [];
  for (const row of await ledger.awaitingRollback()) {
    // A plan's commands act on the machine that injected the fault (a pid, a local proxy, its
    // kubeconfig): run anywhere else, they would touch the wrong things, or nothing.
    if (row.host !== here) {
      otherHosts.push({ id: row.id, name: row.name, host: row.host });
      continue;
    }
    if (!isPlan(row.rollbackPlan)) {
      await ledger.markRecovered(row.id);
      continue;
    }
    const claim = await ledger.claimRollback(row.id, planLeaseMs(row.rollbackPlan));
    if (!claim.claimed) {
      if (claim.holder) claimedElsewhere.push({ id: row.id, name: row.name, ...claim.holder });
      continue; // null: recovered meanwhile by whoever held it
    }
    let r: { ok: boolean; detail: string };
    try {
      r = await executePlan(row.rollbackPlan);
    } catch (err) {
      await ledger.releaseRollback(row.id); // never throws today; a bug must not leave the plan claimed
      throw err;
    }
    // success ends the claim with the plan; failure hands it back, so a later recover retries
    if (r.ok) await ledger.markRecovered(row.id);
    else await ledger.releaseRollback(row.id);
    results.push({ id: row.id, name: row.name, ...r });
  }
  return { dead: dead.map((d) => `${d.name} (${d.id}, pid ${d.pid} on ${d.host})`), results, claimedElsewhere, otherHosts };
}
