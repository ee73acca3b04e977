// Verify: after the rollback, every guard must hold for the recovery window, within the recovery
// timeout. After an urgent stop, stopping is the priority: the sending stops and one health probe
// decides.
import { formatDurationMs } from '../../config/duration.ts';
import { sleep } from '../clock.ts';
import type { RunContext } from '../context.ts';
import type { Trigger } from '../outcome.ts';

export interface Verification {
  verified: boolean | null;
  /** when recovery was verified (clock ms) */
  atMs: number | null;
}

async function afterUrgentStop(ctx: RunContext): Promise<Verification> {
  await ctx.traffic?.stop();
  const probe = await ctx.health!.probeOnce();
  ctx.setPhase('verify', probe.ok ? 'target healthy after stop' : 'target NOT healthy after stop');
  return { verified: probe.ok ? true : null, atMs: probe.ok ? ctx.now() : null };
}

export async function verify(ctx: RunContext, trigger: Trigger): Promise<Verification> {
  if (trigger.urgent || ctx.urgentStop) return afterUrgentStop(ctx);
  const { recoveryWindowMs, recoveryTimeoutMs } = ctx.plan.schedule;
  ctx.setPhase('verify', `SLIs within SLOs for ${formatDurationMs(recoveryWindowMs)}`);
  // A fresh period: requests sent while the fault was in count neither against the recovery nor
  // for it; only traffic sent after the rollback shows whether the service recovered. The ticks
  // (monitor.ts) keep goodSinceMs.
  for (const g of ctx.guards) g.reset?.(ctx.now());
  ctx.goodSinceMs = null;
  const startedMs = ctx.now();
  while (ctx.now() - startedMs < recoveryTimeoutMs) {
    if (ctx.urgentStop) return { verified: null, atMs: null };
    if (ctx.goodSinceMs !== null && ctx.now() - ctx.goodSinceMs >= recoveryWindowMs) {
      const without = trigger.trigger === 'slo-source' ? ' (without the guards that cannot see)' : '';
      ctx.emit({
        type: 'note',
        source: 'engine',
        text: `recovery verified: SLIs within SLOs for ${formatDurationMs(recoveryWindowMs)}${without}`,
      });
      return { verified: true, atMs: ctx.now() };
    }
    await sleep(Math.min(50, ctx.plan.slo.evaluateEveryMs));
  }
  ctx.emit({ type: 'error', fatal: true, message: `recovery NOT verified within ${formatDurationMs(recoveryTimeoutMs)}` });
  return { verified: false, atMs: null };
}
