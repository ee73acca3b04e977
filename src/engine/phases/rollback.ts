// Rollback: the fault comes out first, then the experiment's own steps in order, each retried; a
// step that still fails is escalated. Then the ledger's rollback plan is cleared.
import { describeFailure, runCommand } from '../../faults/command-driver.ts';
import type { RunContext } from '../context.ts';
import type { RollbackReport, Trigger } from '../outcome.ts';
import { runRollback, type RollbackStepRun } from '../rollback.ts';

function steps(ctx: RunContext): RollbackStepRun[] {
  const driver = ctx.topology!.driver;
  const out: RollbackStepRun[] = [{ name: 'remove-fault', critical: true, run: () => ctx.removeFault() }];
  for (const step of ctx.plan.rollback) {
    if (step.type === 'traffic-shift') {
      out.push({
        name: 'traffic-shift',
        critical: false,
        run: async () => {
          if (!driver.trafficShift) throw new Error('this fault driver cannot shift traffic');
          await driver.trafficShift();
        },
      });
    } else {
      out.push({
        name: `command: ${step.run.join(' ')}`,
        critical: false,
        run: async () => {
          const r = await runCommand(step.run, { timeoutMs: step.timeout });
          if (r.exitCode !== 0) throw new Error(describeFailure(step.run, r));
        },
      });
    }
  }
  return out;
}

export async function rollback(ctx: RunContext, trigger: Trigger): Promise<RollbackReport> {
  ctx.setPhase('rollback', trigger.reason);
  const topo = ctx.topology!;
  const report = await runRollback(
    steps(ctx),
    ctx.plan.rollbackPolicy,
    (e) => ctx.emit({ type: 'rollback', ...e, trigger: e.result === 'started' && e.attempt === 1 ? trigger.trigger : undefined }),
    ctx.deps.clock,
  );
  if (report.faultRemoved && topo.rollbackPlan) {
    try {
      await ctx.deps.link?.setRollbackPlan(null);
    } catch (err) {
      // The fault is out; a watchdog that still sees the plan only repeats an idempotent restore.
      ctx.emit({ type: 'error', message: `clearing the rollback plan in the ledger: ${(err as Error).message}` });
    }
  }
  if (!report.faultRemoved) {
    ctx.emit({
      type: 'error',
      fatal: true,
      message: `ROLLBACK FAILED: the fault may still be in place (${topo.driver.label}). Remove it by hand.`,
    });
  }
  const failures = report.steps
    .filter((s) => !s.ok)
    .map((s) => `${s.name}: ${s.error}`)
    .join('; ');
  return { ok: report.ok, faultRemoved: report.faultRemoved, failures };
}
