// Baseline: traffic starts (paid for before it is sent), the warmup is discarded, and the steady
// state must hold on enough requests before anything is injected.
import { formatDurationMs } from '../../config/duration.ts';
import type { RunContext } from '../context.ts';
import { Refusal } from '../context.ts';
import { evaluateGuards } from '../guards/slo-guard.ts';
import { formatBreaches, formatSli } from '../slis.ts';
import { TrafficGenerator, type BudgetExhaustion } from '../traffic.ts';

/** When the money runs out or the ledger says stop, the run stops, and says why. */
function onBudgetExhausted(ctx: RunContext, limitedBy: BudgetExhaustion): void {
  ctx.budgetExhausted = limitedBy;
  if (limitedBy === 'ledger-error') ctx.ledgerFailed(ctx.traffic?.budgetError ?? null);
  else if (limitedBy === 'emergency-stop') ctx.emergencyStop('emergency-stop latch, seen by a reservation');
  else if (limitedBy === 'not-running') ctx.declaredDead('a reservation');
  else ctx.requestStop('budget', `${limitedBy} budget reached`, false);
}

/** Starts the traffic, the health probes and the ticks; resolves once the first money is reserved. */
export async function startTraffic(ctx: RunContext, tick: () => void): Promise<void> {
  const p = ctx.plan;
  const topo = ctx.topology!;
  ctx.health!.start();
  for (const g of ctx.guards) g.start?.();
  ctx.ticker = setInterval(tick, p.slo.evaluateEveryMs);
  // observe-only: nothing sent, nothing spent
  if (p.traffic.rps === 0) return;
  ctx.traffic = new TrafficGenerator({
    targetUrl: topo.trafficUrl,
    path: p.traffic.path,
    method: p.traffic.method,
    rps: p.traffic.rps,
    timeoutMs: p.traffic.timeoutMs,
    maxInFlight: p.traffic.maxInFlight,
    budget: ctx.deps.budget,
    window: ctx.window!,
    now: ctx.deps.clock,
    onBudgetExhausted: (limitedBy) => onBudgetExhausted(ctx, limitedBy),
  });
  await ctx.traffic.start();
}

export async function baseline(ctx: RunContext): Promise<void> {
  const p = ctx.plan;
  ctx.setPhase('baseline', `steady state over ${formatDurationMs(p.schedule.baselineMs)}`);
  if (p.schedule.warmupMs > 0) {
    // Cold connections and a cold JIT are gameday's slowness, not the target's: discard them.
    await ctx.waitFor(p.schedule.warmupMs);
    for (const g of ctx.guards) g.reset?.(ctx.now());
  }
  await ctx.waitFor(p.schedule.baselineMs);
  // Stopped during the baseline (budget, signal, emergency stop): nothing goes in; the status says
  // why (a budget limit is exit 4 even before injection).
  if (ctx.stop) return;
  const { slis, breaches, inconclusive, views } = evaluateGuards(ctx.guards, ctx.now());
  // every guard must answer, and within its bound: a guard that cannot see now would not see a breach
  if (inconclusive.length) throw new Refusal(`baseline: ${inconclusive.join('; ')}`);
  if (breaches.length) throw new Refusal(`baseline: steady state does not hold: ${formatBreaches(breaches)}`);
  ctx.baseline = slis;
  ctx.guardBaseline = Object.fromEntries(views.flatMap((v) => (v.value === null ? [] : [[v.name, v.value]])));
  ctx.emit({ type: 'baseline', slis, guards: ctx.guardBaseline });
  ctx.emit({
    type: 'note',
    source: 'engine',
    text:
      `steady state holds: p95 ${Math.round(slis.p95LatencyMs)}ms, errors ${formatSli('errorRate', slis.errorRate)}, ` +
      `availability ${formatSli('availability', slis.availability)}`,
  });
}
