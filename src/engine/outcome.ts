// How a run ended, decided once, from facts the phases gathered: a pure function, so every exit
// code can be tested without running an experiment.
import { formatDurationMs } from '../config/duration.ts';
import { EXIT_CODE, type RollbackTrigger, type RunStatus } from './events.ts';

/** What ended the experiment, or what was asked to end it. */
export interface Trigger {
  trigger: RollbackTrigger;
  reason: string;
  atMs: number;
  /** the fault comes out at once and the sending stops: no recovery window after it, one probe */
  urgent?: boolean;
}

/** How the rollback went; 'crashed' when it threw, which it never should (the fault's state is then unknown). */
export interface RollbackReport {
  ok: boolean;
  faultRemoved: boolean;
  /** "step: error; …" for the steps that failed */
  failures: string;
}
export type RollbackResult = RollbackReport | { crashed: string };

export interface OutcomeFacts {
  /** preflight or the baseline refused (nothing was injected) */
  refusal: string | null;
  /** what ended the experiment: its own trigger (breach, duration, engine error), else the stop asked for */
  ended: Trigger;
  /** an urgent stop asked for (emergency stop, signal, failed ledger, declared dead), if any */
  urgentStop: Trigger | null;
  injectAttempted: boolean;
  /** null when nothing was injected, so nothing was rolled back */
  rollback: RollbackResult | null;
  /** true: the SLIs held for the recovery window (or, after an urgent stop, the target was healthy);
   *  false: they did not within the recovery timeout; null: not judged */
  recoveryVerified: boolean | null;
  recoveryTimeoutMs: number;
}

export interface Outcome {
  status: RunStatus;
  exitCode: number;
  reason: string;
}

const outcome = (status: RunStatus, reason: string): Outcome => ({ status, exitCode: EXIT_CODE[status], reason });

export function decideOutcome(f: OutcomeFacts): Outcome {
  if (f.refusal !== null) return outcome('refused', f.refusal);
  const suffix = !f.injectAttempted ? '; nothing was injected' : f.recoveryVerified ? '; recovery verified' : '';
  const rb = f.rollback;
  // A rollback that failed outranks everything else: faults may remain (exit 6).
  if (rb && 'crashed' in rb) return outcome('rollback-failed', `rollback failed unexpectedly: ${rb.crashed}`);
  if (rb && !rb.faultRemoved) return outcome('rollback-failed', `FAULT MAY REMAIN: ${rb.failures}${suffix}`);
  if (rb && !rb.ok) return outcome('rollback-failed', `rollback step failed: ${rb.failures}${suffix}`);
  if (f.urgentStop) return outcome('stopped', f.urgentStop.reason + suffix);
  if (f.ended.trigger === 'error') return outcome('stopped', f.ended.reason + suffix);
  if (f.recoveryVerified === false) {
    return outcome('rollback-failed', `recovery not verified within ${formatDurationMs(f.recoveryTimeoutMs)} after ${f.ended.reason}`);
  }
  // a guard that could not see is rolled back as a breach would be: exit 3 (fail closed)
  const breach = f.ended.trigger === 'breach' || f.ended.trigger === 'slo-source';
  const status: RunStatus = breach ? 'breach' : f.ended.trigger === 'budget' ? 'budget' : 'passed';
  return outcome(status, f.ended.reason + suffix);
}
