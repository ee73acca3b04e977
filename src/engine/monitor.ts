// Every evaluateEvery (250 ms): the guards judge, a breach while the fault is in triggers the
// rollback, the money is looked at, the ledger hears from this controller, and one tick event tells
// the faces all of it. A tick never waits on the ledger.
import { BurnMeter, budgetView, newCrossings } from './budget-watch.ts';
import type { RunContext } from './context.ts';
import type { BudgetView, ImpactView } from './events.ts';
import { evaluateGuards, type GuardsVerdict } from './guards/slo-guard.ts';
import { guardImpacts, impactBand, impactScore } from './impact.ts';
import { formatBreaches } from './slis.ts';

export class Monitor {
  private readonly burn = new BurnMeter();
  private readonly crossings = new Set<string>();
  /** a slow ledger must not pile heartbeats up */
  private heartbeatInFlight = false;

  constructor(private readonly ctx: RunContext) {}

  /** The tick: fails closed (a tick that cannot see rolls the experiment back). */
  tick = (): void => {
    try {
      this.tickUnsafe();
    } catch (err) {
      const message = `tick failed: ${(err as Error).message}`;
      this.ctx.emit({ type: 'error', message, fatal: true });
      this.ctx.requestStop('error', message, true);
    }
  };

  /** The money as the faces see it, with the 50/80/100 % crossings told once each. */
  budget(): BudgetView {
    const ctx = this.ctx;
    const totals = ctx.deps.budget.totals();
    this.burn.add(ctx.now(), totals.experimentSpentUsd);
    for (const c of newCrossings(totals, this.crossings)) ctx.emit({ type: 'budget', ...c });
    return budgetView(totals, ctx.traffic?.sentCount ?? 0, this.burn.usdPerMin());
  }

  private tickUnsafe(): void {
    const ctx = this.ctx;
    const t = ctx.now();
    // The generator reports the live spend itself; a ledger that failed it fails the run closed.
    const ledgerError = ctx.traffic?.budgetError;
    if (ledgerError && !ctx.stop) ctx.ledgerFailed(ledgerError);
    const judged = evaluateGuards(ctx.guards, t);
    const budget = this.budget();
    this.heartbeat();
    const impact = this.impact(judged);
    this.triggerOnBreach(judged, t);
    this.triggerOnBlind(judged, t);
    if (ctx.phase === 'verify') this.trackRecovery(judged, t);
    ctx.emit({
      type: 'tick',
      phase: ctx.phase,
      slis: judged.slis,
      budget,
      impact,
      faultActive: ctx.faultStartedAtMs !== null && !ctx.faultRemoved,
      byOutcome: ctx.traffic ? ctx.traffic.stats().byOutcome : { ok: 0, error: 0, timeout: 0, reset: 0, refused: 0 },
      guards: judged.views,
    });
  }

  private impact(judged: GuardsVerdict): ImpactView {
    const ctx = this.ctx;
    const impact = ctx.baseline
      ? impactScore(ctx.baseline, judged.slis, ctx.thresholds, guardImpacts(judged.views, ctx.guardBaseline))
      : { score: 0, driver: null };
    if (ctx.faultStartedAtMs !== null) ctx.peakImpact = Math.max(ctx.peakImpact, impact.score);
    return { score: impact.score, band: impactBand(impact.score), driver: impact.driver, peak: ctx.peakImpact };
  }

  /** A breach while the fault is in ends the observation, once. */
  private triggerOnBreach(judged: GuardsVerdict, t: number): void {
    const ctx = this.ctx;
    const faultIn = (ctx.phase === 'inject' || ctx.phase === 'observe') && ctx.faultStartedAtMs !== null;
    if (!faultIn || judged.breaches.length === 0 || ctx.ending) return;
    ctx.trigger = { trigger: 'breach', reason: `SLO breached: ${formatBreaches(judged.breaches)}`, atMs: t };
    ctx.emit({ type: 'breach', breaches: judged.breaches });
    ctx.wakeUp();
  }

  /** Fail closed: a guard that cannot see while the fault is in ends the observation, as a breach would. */
  private triggerOnBlind(judged: GuardsVerdict, t: number): void {
    const ctx = this.ctx;
    const faultIn = (ctx.phase === 'inject' || ctx.phase === 'observe') && ctx.faultStartedAtMs !== null;
    if (!faultIn || judged.blind.length === 0 || ctx.ending) return;
    ctx.trigger = { trigger: 'slo-source', reason: `SLO source failed: ${judged.blind.join('; ')}`, atMs: t };
    ctx.emit({ type: 'error', fatal: true, message: ctx.trigger.reason });
    ctx.wakeUp();
  }

  /**
   * Recovery holds while every guard holds. A guard that cannot judge for want of traffic (the
   * budget ran out), or because its source failed and that is why the fault came out (slo-source),
   * does not hold it back: the other guards still judge.
   */
  private trackRecovery(judged: GuardsVerdict, t: number): void {
    const ctx = this.ctx;
    const blindSource = ctx.trigger?.trigger === 'slo-source';
    const good = judged.breaches.length === 0 && (judged.allOk || ctx.budgetExhausted !== null || blindSource);
    if (!good) ctx.goodSinceMs = null;
    else ctx.goodSinceMs ??= t;
  }

  /** One heartbeat at a time, answered when the ledger can take it; the tick never waits for it. */
  private heartbeat(): void {
    const ctx = this.ctx;
    const link = ctx.deps.link;
    if (!link || this.heartbeatInFlight) return;
    this.heartbeatInFlight = true;
    link.heartbeat(ctx.phase).then(
      (stopReason) => {
        this.heartbeatInFlight = false;
        if (stopReason === 'emergency-stop') ctx.emergencyStop('emergency-stop latch');
        else if (stopReason === 'not-running') ctx.declaredDead('its heartbeat');
      },
      (err: unknown) => {
        this.heartbeatInFlight = false;
        // Fail closed: a controller that cannot heart-beat may be declared dead and cannot see the latch.
        if (ctx.ticker === null) return; // shut down already: nothing left to stop
        const message = `heartbeat failed: ${(err as Error).message}`;
        ctx.emit({ type: 'error', message, fatal: true });
        ctx.requestStop('error', message, true);
      },
    );
  }
}
