// One experiment, end to end: preflight → baseline → inject → observe → rollback → verify → restore → done.
// The phases are functions over a RunContext (./phases); decideOutcome turns what they found into
// the status and exit code. The fault is removed on every path out of run(), errors included. The
// faces hear everything through one channel, the events (onEvent): never more than one a tick
// between the phase changes, never one per request.
import type { BudgetAccount } from '../budget/budget.ts';
import type { RunPlan } from '../config/plan.ts';
import type { RunControls } from '../state/store.ts';
import { nowMs, type Clock } from './clock.ts';
import { Refusal, RunContext, type ControllerLink } from './context.ts';
import type { GamedayEvent, Summary } from './events.ts';
import { HealthGuard } from './guards/health-guard.ts';
import { PromqlGuard } from './guards/promql-guard.ts';
import { TrafficGuard } from './guards/traffic-guard.ts';
import { Monitor } from './monitor.ts';
import { decideOutcome, type Outcome, type RollbackResult, type Trigger } from './outcome.ts';
import { baseline, startTraffic } from './phases/baseline.ts';
import { inject, observe } from './phases/inject.ts';
import { preflight } from './phases/preflight.ts';
import { restore, rollback } from './phases/rollback.ts';
import { verify, type Verification } from './phases/verify.ts';
import { SloWindow } from './slo-window.ts';
import { buildTopology, type Topology } from './topology.ts';

export type { ControllerLink } from './context.ts';

export interface RunOptions {
  plan: RunPlan;
  experimentId: string;
  budget: BudgetAccount;
  emit?: (event: GamedayEvent) => void;
  link?: ControllerLink;
  /** the journal the summary names, asked when the summary is made (null: none, or not whole) */
  journalPath?: () => string | null;
  /** every time the engine reads; default: epoch ms from the monotonic clock */
  clock?: Clock;
  /** for tests: build the topology another way */
  topology?: (plan: RunPlan) => Promise<Topology>;
  /** where GAMEDAY_PROMETHEUS_TOKEN is read; default process.env */
  env?: NodeJS.ProcessEnv;
}

export class ExperimentRun implements RunControls {
  private readonly ctx: RunContext;
  private readonly monitor: Monitor;
  private readonly listeners: ((e: GamedayEvent) => void)[] = [];

  constructor(private readonly opts: RunOptions) {
    if (opts.emit) this.listeners.push(opts.emit);
    const ctx = new RunContext({
      plan: opts.plan,
      experimentId: opts.experimentId,
      budget: opts.budget,
      link: opts.link,
      clock: opts.clock ?? nowMs,
      buildTopology: opts.topology ?? buildTopology,
      publish: (e) => this.publish(e),
    });
    const slo = opts.plan.slo;
    const { thresholds } = ctx;
    ctx.window = new SloWindow({ windowMs: slo.windowMs });
    // Observe-only (rps 0): no synthetic traffic, so no traffic guard; the PromQL guards decide.
    const traffic =
      opts.plan.traffic.rps > 0
        ? [
            new TrafficGuard({
              window: ctx.window,
              thresholds,
              minSamples: slo.minSamples,
              slowInFlightAges: (t, thr) => ctx.traffic?.slowInFlightAges(t, thr) ?? [],
            }),
          ]
        : [];
    const prometheus = opts.plan.prometheus;
    const promql = prometheus
      ? slo.queries.map(
          (spec) =>
            new PromqlGuard({
              spec,
              prometheus,
              queryEveryMs: slo.queryEveryMs,
              inconclusiveLimit: slo.inconclusiveLimit,
              clock: ctx.deps.clock,
              token: (opts.env ?? process.env).GAMEDAY_PROMETHEUS_TOKEN || undefined,
            }),
        )
      : [];
    ctx.guards = [...traffic, new HealthGuard(() => ctx.health?.consecutiveFailures ?? 0, thresholds), ...promql];
    this.ctx = ctx;
    this.monitor = new Monitor(ctx);
  }

  onEvent(listener: (e: GamedayEvent) => void): void {
    this.listeners.push(listener);
  }

  // ---- controls (keys, signals, emergency-stop command) ----

  emergencyStop(source: string): void {
    this.ctx.emergencyStop(source);
  }

  /** SIGINT/SIGTERM/SIGHUP, or the output gone: roll back and exit 5. */
  signal(name: string, reason = `received ${name}`): void {
    this.ctx.requestStop('signal', reason, true);
  }

  rollbackNow(): void {
    this.ctx.emit({ type: 'note', text: 'manual rollback requested', source: 'engine' });
    this.ctx.requestStop('manual', 'rolled back by hand', false);
  }

  togglePause(): void {
    const ctx = this.ctx;
    const driver = ctx.topology?.driver;
    // Not once a stop is on its way: a resume would put back a fault that is being taken out.
    if (!driver || ctx.faultStartedAtMs === null || ctx.faultRemoved || ctx.stop || ctx.phase !== 'observe') return;
    if (!driver.pause || !driver.resume) {
      ctx.emit({ type: 'note', text: 'this fault cannot be paused', source: 'engine' });
      return;
    }
    const next = !ctx.paused;
    ctx.paused = next;
    (next ? driver.pause() : driver.resume()).then(
      () => {
        // still the experiment's fault while paused: it must be rolled back all the same
        ctx.emit({ type: 'fault', state: next ? 'paused' : 'resumed' });
        ctx.emit({ type: 'note', text: next ? 'fault paused' : 'fault resumed', source: 'engine' });
      },
      (err) => ctx.emit({ type: 'error', message: `pause/resume failed: ${(err as Error).message}` }),
    );
  }

  addNote(text: string): void {
    const trimmed = text.trim();
    if (trimmed) this.ctx.emit({ type: 'note', text: trimmed, source: 'user' });
  }

  // ---- the run ----

  async run(): Promise<Summary> {
    const ctx = this.ctx;
    const refusal = await this.experiment();
    // Every path comes through here: a fault that went in (or may have) comes out.
    const ended: Trigger = ctx.trigger ?? ctx.stop ?? { trigger: 'error', reason: 'ended without a trigger', atMs: ctx.now() };
    let rollbackResult: RollbackResult | null = null;
    let verification: Verification = { verified: null, atMs: null };
    try {
      if (ctx.injectAttempted) {
        const report = await rollback(ctx, ended);
        rollbackResult = report;
        if (report.ok) verification = await verify(ctx, ended);
        // even after a failed step: what the others shifted is put back
        const restored = await restore(ctx);
        if (restored && !restored.ok)
          rollbackResult = { ...report, ok: false, failures: [report.failures, restored.failures].filter(Boolean).join('; ') };
      }
    } catch (err) {
      // Nothing in rollback or verify should throw; if it does, the fault's state is unknown.
      rollbackResult = { crashed: (err as Error).message };
      ctx.emit({ type: 'error', fatal: true, message: `rollback failed unexpectedly: ${(err as Error).message}` });
    } finally {
      await this.shutdown();
    }
    const outcome = decideOutcome({
      refusal,
      ended,
      urgentStop: ctx.urgentStop,
      injectAttempted: ctx.injectAttempted,
      rollback: rollbackResult,
      recoveryVerified: verification.verified,
      recoveryTimeoutMs: ctx.plan.schedule.recoveryTimeoutMs,
    });
    if (ctx.stop?.trigger === 'emergency-stop') {
      try {
        await ctx.deps.link?.ackStopped();
      } catch (err) {
        // `gameday emergency-stop` then sees the run finish instead of the acknowledgement.
        ctx.emit({ type: 'error', message: `acknowledging the emergency stop: ${(err as Error).message}` });
      }
    }
    return this.finish(outcome, ended, verification);
  }

  /** Preflight to the end of observation; resolves with a refusal's reason, or null. */
  private async experiment(): Promise<string | null> {
    const ctx = this.ctx;
    try {
      this.monitor.budget(); // a cap already crossed is told before anything starts
      await preflight(ctx);
      // A stop during preflight: not a single request is sent (or paid for).
      if (!ctx.stop) {
        await startTraffic(ctx, this.monitor.tick);
        await baseline(ctx);
      }
      if (!ctx.stop) {
        await inject(ctx);
        await observe(ctx);
      }
      return null;
    } catch (err) {
      if (err instanceof Refusal) return err.message;
      const message = err instanceof Error ? err.message : String(err);
      ctx.emit({ type: 'error', message, fatal: true });
      ctx.trigger ??= { trigger: 'error', reason: `engine error: ${message}`, atMs: ctx.now() };
      return null;
    }
  }

  private async shutdown(): Promise<void> {
    const ctx = this.ctx;
    if (ctx.ticker) clearInterval(ctx.ticker);
    ctx.ticker = null;
    // a probe in progress ends by its own timeout; nothing waits for it
    void ctx.health?.stop();
    await Promise.all(ctx.guards.map((g) => g.stop?.() ?? Promise.resolve()));
    await ctx.traffic?.stop();
    try {
      await ctx.deps.budget.settle(ctx.traffic?.sentCount ?? 0);
    } catch (err) {
      // The reservation stays held and counts as spent: over-counted, never under-counted.
      ctx.emit({ type: 'error', message: `settling the budget: ${(err as Error).message}` });
    }
    try {
      await ctx.topology?.close();
    } catch (err) {
      ctx.emit({ type: 'error', message: `closing the topology: ${(err as Error).message}` });
    }
  }

  private finish(outcome: Outcome, ended: Trigger, verification: Verification): Summary {
    const ctx = this.ctx;
    const detectionMs = ended.trigger === 'breach' && ctx.faultStartedAtMs !== null ? Math.round(ended.atMs - ctx.faultStartedAtMs) : null;
    const recoveryMs = verification.atMs !== null && ctx.injectAttempted ? Math.round(verification.atMs - ended.atMs) : null;
    const summary: Summary = {
      status: outcome.status,
      exitCode: outcome.exitCode,
      experiment: ctx.plan.name,
      experimentId: ctx.deps.experimentId,
      spentUsd: ctx.deps.budget.totals().experimentSpentUsd,
      requests: ctx.traffic?.sentCount ?? 0,
      detectionMs,
      recoveryMs,
      peakImpact: Math.round(ctx.peakImpact * 10) / 10,
      trigger: ctx.injectAttempted || outcome.status !== 'refused' ? ended.trigger : null,
      reason: outcome.reason,
      faultRemoved: !ctx.injectAttempted || ctx.faultRemoved,
      recoveryVerified: verification.verified,
      durationMs: Math.round(ctx.now() - ctx.startedAtMs),
      journalPath: this.opts.journalPath?.() ?? null,
      budget: ctx.plan.budget,
    };
    ctx.setPhase('done', outcome.status);
    ctx.emit({ type: 'summary', ...summary });
    return summary;
  }

  private publish(event: GamedayEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A broken face must not break the run (or its rollback).
      }
    }
  }
}
