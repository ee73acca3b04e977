// Inject, then observe: the rollback plan is in the ledger before the fault is in the world, and
// the fault stays in for the duration unless a guard, the budget or a person ends it sooner.
import { formatDurationMs } from '../../config/duration.ts';
import type { RunContext } from '../context.ts';

export async function inject(ctx: RunContext): Promise<void> {
  const topo = ctx.topology!;
  ctx.setPhase('inject', topo.driver.label);
  // Dead man's switch: the plan is in the ledger before the fault is in the world.
  if (topo.rollbackPlan) await ctx.deps.link?.setRollbackPlan(topo.rollbackPlan);
  // A stop that came while the plan was being written: nothing goes in.
  if (ctx.stop) return;
  ctx.injectAttempted = true;
  await topo.driver.inject();
  ctx.faultStartedAtMs = ctx.now();
  ctx.emit({ type: 'fault', state: 'in' });
}

export async function observe(ctx: RunContext): Promise<void> {
  const { durationMs } = ctx.plan.schedule;
  ctx.setPhase('observe', `for ${formatDurationMs(durationMs)}`);
  await ctx.waitFor(durationMs);
  if (!ctx.ending)
    ctx.trigger = { trigger: 'duration', reason: `ran its full ${formatDurationMs(durationMs)} with SLOs held`, atMs: ctx.now() };
}
