// Rollback: remove the fault first, then the experiment's extra steps in order. Each step is retried;
// a step that still fails is escalated (reported loudly) and the run ends with exit code 6.
import { nowMs, sleep, type Clock } from './clock.ts';

export interface RollbackStepRun {
  name: string;
  /** removing the fault itself: when it fails, faults may remain */
  critical: boolean;
  run: () => Promise<void>;
}

export interface StepOutcome {
  name: string;
  ok: boolean;
  attempts: number;
  durationMs: number;
  error?: string;
}

export interface RollbackReport {
  ok: boolean;
  /** the fault is out (the critical step succeeded) */
  faultRemoved: boolean;
  steps: StepOutcome[];
}

export interface RollbackPolicy {
  attempts: number;
  retryDelayMs: number;
}

/** The longest pause between two attempts of a step: a rollback must not wait minutes between tries. */
const MAX_BACKOFF_MS = 5_000;

/** The pause after failed attempt `attempt` (1-based): retryDelay × attempt, at most MAX_BACKOFF_MS. */
function backoffMs(retryDelayMs: number, attempt: number): number {
  return Math.min(retryDelayMs * attempt, MAX_BACKOFF_MS);
}

export type StepListener = (e: {
  step: string;
  result: 'started' | 'ok' | 'failed';
  attempt: number;
  durationMs?: number;
  message?: string;
}) => void;

/** One step, retried with a growing pause; never throws. */
export async function runWithRetries(
  step: RollbackStepRun,
  policy: RollbackPolicy,
  on: StepListener,
  clock: Clock = nowMs,
): Promise<StepOutcome> {
  const startedMs = clock();
  let lastError = '';
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    on({ step: step.name, result: 'started', attempt });
    try {
      await step.run();
      const durationMs = clock() - startedMs;
      on({ step: step.name, result: 'ok', attempt, durationMs });
      return { name: step.name, ok: true, attempts: attempt, durationMs };
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      on({ step: step.name, result: 'failed', attempt, durationMs: clock() - startedMs, message: lastError });
      // Back off a little more each time: a control plane that just failed rarely recovers in 0 ms.
      if (attempt < policy.attempts) await sleep(backoffMs(policy.retryDelayMs, attempt));
    }
  }
  return { name: step.name, ok: false, attempts: policy.attempts, durationMs: clock() - startedMs, error: lastError };
}

/**
 * Runs every step even when an earlier one failed: a failed traffic shift must not stop a restart.
 * The critical steps (fault removal) come first.
 */
export async function runRollback(
  steps: RollbackStepRun[],
  policy: RollbackPolicy,
  on: StepListener,
  clock: Clock = nowMs,
): Promise<RollbackReport> {
  const ordered = [...steps.filter((s) => s.critical), ...steps.filter((s) => !s.critical)];
  const outcomes: StepOutcome[] = [];
  for (const step of ordered) outcomes.push(await runWithRetries(step, policy, on, clock));
  const faultRemoved = outcomes.every((o, i) => !ordered[i].critical || o.ok);
  return { ok: outcomes.every((o) => o.ok), faultRemoved, steps: outcomes };
}
