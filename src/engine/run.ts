// One experiment, end to end: preflight → baseline → inject → observe → rollback → verify → done.
// The fault is removed on every path out of run(), errors included; the store gets one snapshot per
// tick, never one per request.
import type { BudgetAccount } from '../budget/budget.ts';
import type { RunPlan } from '../config/plan.ts';
import { formatDurationMs } from '../config/duration.ts';
import { describeFailure, runCommand } from '../faults/command-driver.ts';
import { describeProxyFault } from '../faults/driver.ts';
import { appendTimeline, HISTORY_MS, type GamedayStore, type PreflightCheck, type RunControls } from '../state/store.ts';
import { timelineEntryFor } from '../state/timeline.ts';
import { availableUsd, BurnMeter, budgetView, estimateCost, newCrossings } from './budget-watch.ts';
import { nowMs, sleep } from './clock.ts';
import { EXIT_CODE, type GamedayEvent, type Phase, type RollbackTrigger, type RunStatus, type Summary } from './events.ts';
import { HealthProber } from './health.ts';
import { impactBand, impactScore } from './impact.ts';
import { runRollback, type RollbackStepRun } from './rollback.ts';
import { findBreaches, formatSli, SLI_LABEL, type Slis } from './slis.ts';
import { SloWindow } from './slo-window.ts';
import { buildTopology, toProxyFault, type Topology, type WatchdogPlan } from './topology.ts';
import { TrafficGenerator } from './traffic.ts';

/**
 * The ledger's view of this controller; absent in tests that use an in-memory budget. Every call
 * but stopLatched is asynchronous and none of them is ever on the path that takes a fault out.
 */
export interface ControllerLink {
  /** each tick (one at a time); resolves with why the controller must stop now, or null to carry on */
  heartbeat(phase: Phase): Promise<'emergency-stop' | 'not-running' | null>;
  /** the emergency-stop latch of the state dir is set (checked at preflight) */
  stopLatched(): boolean;
  /** written before an external fault goes in, cleared once it is out */
  setRollbackPlan(plan: WatchdogPlan | null): Promise<void>;
  /** tell `gameday emergency-stop` this controller has rolled back */
  ackStopped(): Promise<void>;
}

export interface RunOptions {
  plan: RunPlan;
  experimentId: string;
  budget: BudgetAccount;
  store: GamedayStore;
  emit?: (event: GamedayEvent) => void;
  link?: ControllerLink;
  journalPath?: string | null;
  /** for tests: build the topology another way */
  topology?: (plan: RunPlan) => Promise<Topology>;
}

const DECLARED_DEAD = 'declared dead by another gameday process';

/** A preflight or baseline refusal: nothing was injected. */
class Refusal extends Error {}

interface Trigger {
  trigger: RollbackTrigger;
  reason: string;
  atMs: number;
  /** the fault comes out at once and the sending stops: no recovery window after it, one probe */
  urgent?: boolean;
}

export class ExperimentRun implements RunControls {
  private readonly plan: RunPlan;
  private readonly store: GamedayStore;
  private readonly budget: BudgetAccount;
  private readonly window: SloWindow;
  private readonly burn = new BurnMeter();
  private readonly crossings = new Set<string>();
  private readonly listeners: ((e: GamedayEvent) => void)[] = [];
  private topology: Topology | null = null;
  private traffic: TrafficGenerator | null = null;
  private health: HealthProber | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private phase: Phase = 'preflight';
  private startedAtMs = nowMs();
  private faultStartedAtMs: number | null = null;
  private injectAttempted = false;
  private faultRemoved = false;
  private removal: Promise<void> | null = null;
  private trigger: Trigger | null = null;
  private stopRequested: Trigger | null = null;
  private wake: (() => void) | null = null;
  private baseline: Slis | null = null;
  private peakImpact = 0;
  private budgetExhausted: string | null = null;
  private paused = false;
  private goodSinceMs: number | null = null;
  /** the heartbeat under way, if any: a slow ledger must not pile them up */
  private heartbeatInFlight = false;

  constructor(private readonly opts: RunOptions) {
    this.plan = opts.plan;
    this.store = opts.store;
    this.budget = opts.budget;
    this.window = new SloWindow({ windowMs: this.plan.slo.windowMs });
    if (opts.emit) this.listeners.push(opts.emit);
  }

  /** the traffic generator's totals by outcome (for /metrics) */
  outcomeCounts(): Record<string, number> {
    return this.traffic ? { ...this.traffic.stats().byOutcome } : {};
  }

  onEvent(listener: (e: GamedayEvent) => void): void {
    this.listeners.push(listener);
  }

  // ---- controls (keys, signals, emergency-stop command) ----

  /** Immediate: starts removing the fault before anything else happens. */
  emergencyStop(source: string): void {
    if (this.stopRequested?.trigger === 'emergency-stop') return;
    // The fault first; telling the faces (and redrawing them) can wait a few milliseconds.
    this.requestStop('emergency-stop', `emergency stop (${source})`, true);
    this.emit({ type: 'emergency-stop', ts: Date.now(), source });
  }

  /**
   * Another gameday process declared this controller dead (its heartbeat looked stale to it): its
   * reservation now counts as spent and the ledger refuses it money. Stop at once, as for a signal;
   * a watchdog or `recover` may be restoring the same fault.
   */
  private declaredDead(seenBy: string): void {
    if (this.stopRequested?.reason.startsWith(DECLARED_DEAD)) return;
    this.requestStop('error', `${DECLARED_DEAD} (seen by ${seenBy}): its reservation counts as spent; stopping`, true);
  }

  /** SIGINT/SIGTERM/SIGHUP, or the output gone: roll back and exit 5. */
  signal(name: string, reason = `received ${name}`): void {
    this.requestStop('signal', reason, true);
  }

  rollbackNow(): void {
    this.emit({ type: 'note', ts: Date.now(), text: 'manual rollback requested', source: 'engine' });
    this.requestStop('manual', 'rolled back by hand', false);
  }

  togglePause(): void {
    const driver = this.topology?.driver;
    // Not once a stop is on its way: a resume would put back a fault that is being taken out.
    if (!driver || !this.faultStartedAtMs || this.faultRemoved || this.stopRequested || this.phase !== 'observe') return;
    if (!driver.pause || !driver.resume) {
      this.emit({ type: 'note', ts: Date.now(), text: 'this fault cannot be paused', source: 'engine' });
      return;
    }
    const next = !this.paused;
    this.paused = next;
    const action = next ? driver.pause() : driver.resume();
    action.then(
      () => {
        // faultActive stays true while paused: the fault is still the experiment's, and must be rolled back
        this.store.setState({ faultPaused: next });
        this.emit({ type: 'note', ts: Date.now(), text: next ? 'fault paused' : 'fault resumed', source: 'engine' });
      },
      (err) => this.emit({ type: 'error', ts: Date.now(), message: `pause/resume failed: ${(err as Error).message}` }),
    );
  }

  addNote(text: string): void {
    const trimmed = text.trim();
    if (trimmed) this.emit({ type: 'note', ts: Date.now(), text: trimmed, source: 'user' });
  }

  private requestStop(trigger: RollbackTrigger, reason: string, urgent: boolean): void {
    // The first stop stands, but an urgent one replaces a gentler one, and a person's stop or a
    // signal replaces an urgent error (it is what `gameday emergency-stop` waits to hear about).
    const prev = this.stopRequested;
    if (!prev || (urgent && (!prev.urgent || (prev.trigger === 'error' && trigger !== 'error')))) {
      this.stopRequested = { trigger, reason, atMs: nowMs(), urgent };
    }
    // An urgent stop takes the fault out now, without waiting for the phase loop.
    if (urgent && this.injectAttempted) void this.removeFault().catch(() => {});
    if (urgent) void this.traffic?.stop();
    this.wake?.();
  }

  // ---- the run ----

  async run(): Promise<Summary> {
    let status: RunStatus | null = null;
    let reason = '';
    let recoveryVerified: boolean | null = null;
    let recoveredAtMs: number | null = null;
    try {
      this.initStore();
      await this.preflight();
      // A stop during preflight: not a single request is sent (or paid for).
      if (!this.stopRequested) {
        await this.startTraffic();
        await this.runBaseline();
      }
      if (!this.stopRequested) {
        await this.inject();
        await this.observe();
      }
    } catch (err) {
      if (err instanceof Refusal) {
        status = 'refused';
        reason = err.message;
      } else {
        const message = err instanceof Error ? err.message : String(err);
        this.emit({ type: 'error', ts: Date.now(), message, fatal: true });
        this.trigger ??= { trigger: 'error', reason: `engine error: ${message}`, atMs: nowMs() };
      }
    }

    // Every path comes through here: a fault that went in (or may have) comes out.
    const trigger = this.trigger ?? this.stopRequested ?? { trigger: 'error' as const, reason: 'ended without a trigger', atMs: nowMs() };
    let rollbackOk = true;
    try {
      if (this.injectAttempted) {
        const report = await this.rollback(trigger);
        rollbackOk = report.ok;
        const failed = report.steps.filter((s) => !s.ok).map((s) => `${s.name}: ${s.error}`).join('; ');
        if (!report.faultRemoved) reason = `FAULT MAY REMAIN: ${failed}`;
        else if (!report.ok) reason = `rollback step failed: ${failed}`;
        if (report.ok) {
          const verdict = await this.verify(trigger);
          recoveryVerified = verdict.verified;
          recoveredAtMs = verdict.atMs;
        }
      }
    } catch (err) {
      // Nothing in rollback or verify should throw; if it does, the fault's state is unknown.
      rollbackOk = false;
      reason = `rollback failed unexpectedly: ${(err as Error).message}`;
      this.emit({ type: 'error', ts: Date.now(), fatal: true, message: reason });
    } finally {
      await this.shutdown();
    }

    if (status === null) {
      if (!rollbackOk) status = 'rollback-failed';
      else if (this.urgentStopRequested() || trigger.trigger === 'error') {
        status = 'stopped';
        reason = this.urgentStopRequested() ? this.stopRequested!.reason : trigger.reason;
      }
      else if (recoveryVerified === false) {
        status = 'rollback-failed';
        reason = `recovery not verified within ${formatDurationMs(this.plan.schedule.recoveryTimeoutMs)} after ${trigger.reason}`;
      } else if (trigger.trigger === 'breach') status = 'breach';
      else if (trigger.trigger === 'budget') status = 'budget';
      else status = 'passed';
      reason ||= trigger.reason;
      reason += this.injectAttempted ? (recoveryVerified ? '; recovery verified' : '') : '; nothing was injected';
    }
    if (this.stopRequested?.trigger === 'emergency-stop') {
      try {
        await this.opts.link?.ackStopped();
      } catch (err) {
        // `gameday emergency-stop` then sees the run finish instead of the acknowledgement.
        this.emit({ type: 'error', ts: Date.now(), message: `acknowledging the emergency stop: ${(err as Error).message}` });
      }
    }
    return this.finish(status, reason, trigger, recoveryVerified, recoveredAtMs);
  }

  private initStore(): void {
    const p = this.plan;
    const proxyFault = toProxyFault(p.fault);
    this.startedAtMs = nowMs();
    this.store.setState({
      experiment: {
        id: this.opts.experimentId,
        name: p.name,
        targetUrl: p.targetUrl ?? 'embedded demo',
        faultLabel: proxyFault ? describeProxyFault(proxyFault) : p.fault.type,
        rps: p.traffic.rps,
        durationMs: p.schedule.durationMs,
        baselineMs: p.schedule.baselineMs,
        demo: p.targetUrl === undefined,
      },
      startedAtMs: Date.now(),
      thresholds: this.thresholds(),
      minSamples: p.slo.minSamples,
    });
    this.refreshBudget();
  }

  private setPhase(phase: Phase, detail?: string): void {
    this.phase = phase;
    const visited = this.store.getState().phasesVisited;
    this.store.setState({ phase, phaseStartedAtMs: Date.now(), phasesVisited: visited.includes(phase) ? visited : [...visited, phase] });
    this.emit({ type: 'phase', ts: Date.now(), phase, detail });
  }

  private check(name: string, ok: boolean, detail: string): void {
    const checks: PreflightCheck[] = [...this.store.getState().preflight.filter((c) => c.name !== name), { name, status: ok ? 'pass' : 'fail', detail }];
    this.store.setState({ preflight: checks });
    this.emit({ type: 'preflight', ts: Date.now(), check: name, ok, detail });
    if (!ok) throw new Refusal(`preflight: ${name}: ${detail}`);
  }

  private async preflight(): Promise<void> {
    const p = this.plan;
    this.setPhase('preflight');
    const latched = this.opts.link?.stopLatched() ?? false;
    this.check('emergency-stop latch', !latched, latched ? 'latched: run `gameday emergency-stop --clear` first' : 'clear');

    const totals = this.budget.totals();
    const leftUsd = availableUsd(totals);
    const runMs = p.schedule.warmupMs + p.schedule.baselineMs + p.schedule.durationMs + p.schedule.recoveryWindowMs;
    const est = estimateCost({ rps: p.traffic.rps, costPerRequestUsd: p.budget.costPerRequestUsd, baselineMs: p.schedule.warmupMs + p.schedule.baselineMs, durationMs: p.schedule.durationMs, recoveryWindowMs: p.schedule.recoveryWindowMs, availableUsd: leftUsd });
    const estimate = `estimated $${est.totalUsd.toFixed(2)} (${p.traffic.rps} rps × ${formatDurationMs(runMs)} × $${p.budget.costPerRequestUsd}); $${leftUsd.toFixed(2)} available`;
    this.check('budget covers baseline', est.coversBaseline, est.coversBaseline ? estimate : `baseline needs $${est.baselineUsd.toFixed(2)}, only $${Math.max(0, leftUsd).toFixed(2)} left (experiment cap $${totals.experimentCapUsd}, day $${totals.daySpentUsd.toFixed(2)} spent + $${totals.dayReservedUsd.toFixed(2)} held of $${totals.dayCapUsd})`);
    if (!est.coversAll) {
      this.emit({ type: 'note', ts: Date.now(), source: 'engine', text: `budget covers about ${formatDurationMs(est.affordableMs)} of ${formatDurationMs(runMs)}: the run will stop at the cap` });
    }

    try {
      this.topology = await (this.opts.topology ?? buildTopology)(p);
    } catch (err) {
      this.check('fault driver ready', false, (err as Error).message);
    }
    const topo = this.topology!;
    this.check('fault driver ready', true, topo.driver.label);
    if (topo.demo) this.store.setState((s) => ({ experiment: s.experiment && { ...s.experiment, targetUrl: `${topo.targetUrl} (embedded demo)` } }));

    this.health = new HealthProber({ url: topo.healthUrl, intervalMs: p.health.intervalMs, timeoutMs: p.health.timeoutMs });
    const probe = await this.health.probeOnce();
    this.check('target reachable', probe.status !== undefined, probe.status !== undefined ? `${topo.healthUrl} answered in ${Math.round(probe.latencyMs)}ms` : `${topo.healthUrl}: ${probe.error ?? 'no answer'}`);
    this.check('target healthy', probe.ok, `${topo.healthUrl} → HTTP ${probe.status}`);
  }

  private async startTraffic(): Promise<void> {
    const p = this.plan;
    const topo = this.topology!;
    this.traffic = new TrafficGenerator({
      targetUrl: topo.trafficUrl,
      path: p.traffic.path,
      method: p.traffic.method,
      rps: p.traffic.rps,
      timeoutMs: p.traffic.timeoutMs,
      maxInFlight: p.traffic.maxInFlight,
      budget: this.budget,
      window: this.window,
      now: nowMs,
      onBudgetExhausted: (limitedBy) => {
        this.budgetExhausted = limitedBy;
        const ledgerError = this.traffic?.budgetError;
        // Fail closed: a ledger that cannot grant money is as good as a stop.
        if (limitedBy === 'ledger-error') this.requestStop('error', `the budget ledger failed: ${ledgerError?.message ?? 'unknown error'}`, true);
        else if (limitedBy === 'emergency-stop') this.emergencyStop('emergency-stop latch, seen by a reservation');
        else if (limitedBy === 'not-running') this.declaredDead('a reservation');
        else this.requestStop('budget', `${limitedBy} budget reached`, false);
      },
    });
    this.health!.start();
    this.tickTimer = setInterval(() => this.tick(), p.slo.evaluateEveryMs);
    await this.traffic.start();
  }

  /** Sleeps until `ms` pass or a stop/trigger wakes it. */
  private async waitFor(ms: number): Promise<void> {
    const deadline = nowMs() + ms;
    while (!this.stopRequested && !this.trigger) {
      const left = deadline - nowMs();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, this.plan.slo.evaluateEveryMs));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private async runBaseline(): Promise<void> {
    const p = this.plan;
    this.setPhase('baseline', `steady state over ${formatDurationMs(p.schedule.baselineMs)}`);
    if (p.schedule.warmupMs > 0) {
      // Cold connections and a cold JIT are gameday's slowness, not the target's: discard them.
      await this.waitFor(p.schedule.warmupMs);
      this.window.reset(nowMs());
    }
    await this.waitFor(p.schedule.baselineMs);
    // Stopped during the baseline (budget, signal, emergency stop): nothing goes in; the status
    // says why (a budget limit is exit 4 even before injection).
    if (this.stopRequested) return;
    const slis = this.evaluate();
    const breaches = findBreaches(slis, this.thresholds(), p.slo.minSamples);
    if (slis.samples < p.slo.minSamples) throw new Refusal(`baseline: only ${slis.samples} requests answered in ${formatDurationMs(p.schedule.baselineMs)} (need ${p.slo.minSamples})`);
    if (breaches.length) {
      throw new Refusal(`baseline: steady state does not hold: ${breaches.map((b) => `${SLI_LABEL[b.sli]} ${formatSli(b.sli, b.value)} vs ${formatSli(b.sli, b.threshold)}`).join(', ')}`);
    }
    this.baseline = slis;
    this.store.setState({ baseline: slis });
    this.emit({ type: 'note', ts: Date.now(), source: 'engine', text: `steady state holds: p95 ${Math.round(slis.p95LatencyMs)}ms, errors ${formatSli('errorRate', slis.errorRate)}, availability ${formatSli('availability', slis.availability)}` });
  }

  private async inject(): Promise<void> {
    const topo = this.topology!;
    this.setPhase('inject', topo.driver.label);
    // Dead man's switch: the plan is in the ledger before the fault is in the world.
    if (topo.rollbackPlan) await this.opts.link?.setRollbackPlan(topo.rollbackPlan);
    // A stop that came while the plan was being written: nothing goes in.
    if (this.stopRequested) return;
    this.injectAttempted = true;
    await topo.driver.inject();
    this.faultStartedAtMs = nowMs();
    this.store.setState({ faultActive: true, faultStartedAtMs: Date.now() });
  }

  private async observe(): Promise<void> {
    this.setPhase('observe', `for ${formatDurationMs(this.plan.schedule.durationMs)}`);
    await this.waitFor(this.plan.schedule.durationMs);
    if (!this.trigger && !this.stopRequested) {
      this.trigger = { trigger: 'duration', reason: `ran its full ${formatDurationMs(this.plan.schedule.durationMs)} with SLOs held`, atMs: nowMs() };
    }
  }

  private removeFault(): Promise<void> {
    const driver = this.topology?.driver;
    if (!driver) return Promise.resolve();
    // Memoized while in progress, so a keypress and the rollback phase share one removal; a failed
    // removal clears it, so the rollback's retries really try again.
    this.removal ??= driver.remove().then(
      () => {
        this.faultRemoved = true;
        this.store.setState({ faultActive: false, faultPaused: false });
      },
      (err) => {
        this.removal = null;
        throw err;
      },
    );
    return this.removal;
  }

  private async rollback(trigger: Trigger) {
    this.setPhase('rollback', trigger.reason);
    this.store.setState({ rollbackTrigger: trigger.trigger });
    const topo = this.topology!;
    const steps: RollbackStepRun[] = [{ name: 'remove-fault', critical: true, run: () => this.removeFault() }];
    for (const step of this.plan.rollback) {
      if (step.type === 'traffic-shift') {
        steps.push({ name: 'traffic-shift', critical: false, run: async () => {
          if (!topo.driver.trafficShift) throw new Error('this fault driver cannot shift traffic');
          await topo.driver.trafficShift();
        } });
      } else {
        steps.push({ name: `command: ${step.run.join(' ')}`, critical: false, run: async () => {
          const r = await runCommand(step.run, { timeoutMs: step.timeout });
          if (r.exitCode !== 0) throw new Error(describeFailure(step.run, r));
        } });
      }
    }
    const report = await runRollback(steps, this.plan.rollbackPolicy, (e) =>
      this.emit({ type: 'rollback', ts: Date.now(), ...e, trigger: e.result === 'started' && e.attempt === 1 ? trigger.trigger : undefined }),
    );
    if (report.faultRemoved && topo.rollbackPlan) {
      try {
        await this.opts.link?.setRollbackPlan(null);
      } catch (err) {
        // The fault is out; a watchdog that still sees the plan only repeats an idempotent restore.
        this.emit({ type: 'error', ts: Date.now(), message: `clearing the rollback plan in the ledger: ${(err as Error).message}` });
      }
    }
    if (!report.faultRemoved) {
      this.emit({ type: 'error', ts: Date.now(), fatal: true, message: `ROLLBACK FAILED: the fault may still be in place (${topo.driver.label}). Remove it by hand.` });
    }
    return report;
  }

  /** Recovery: the SLIs back within the SLOs for the recovery window, bounded by the timeout. */
  private async verify(trigger: Trigger): Promise<{ verified: boolean | null; atMs: number | null }> {
    const p = this.plan;
    if (trigger.urgent || this.urgentStopRequested()) {
      // Stopping is the priority: stop spending and take one look at health, no recovery window.
      await this.traffic?.stop();
      const probe = await this.health!.probeOnce();
      this.setPhase('verify', probe.ok ? 'target healthy after stop' : 'target NOT healthy after stop');
      return { verified: probe.ok ? true : null, atMs: probe.ok ? nowMs() : null };
    }
    this.setPhase('verify', `SLIs within SLOs for ${formatDurationMs(p.schedule.recoveryWindowMs)}`);
    // A fresh period: requests sent while the fault was in count neither against the recovery nor
    // for it; only traffic sent after the rollback shows whether the service recovered.
    this.window.reset(nowMs());
    this.goodSinceMs = null;
    const startedMs = nowMs();
    const verifiedAt = (): number | null =>
      this.goodSinceMs !== null && nowMs() - this.goodSinceMs >= p.schedule.recoveryWindowMs ? nowMs() : null;
    while (nowMs() - startedMs < p.schedule.recoveryTimeoutMs) {
      if (this.urgentStopRequested()) return { verified: null, atMs: null };
      const at = verifiedAt();
      if (at !== null) {
        this.emit({ type: 'note', ts: Date.now(), source: 'engine', text: `recovery verified: SLIs within SLOs for ${formatDurationMs(p.schedule.recoveryWindowMs)}` });
        return { verified: true, atMs: at };
      }
      await sleep(Math.min(50, p.slo.evaluateEveryMs));
    }
    this.emit({ type: 'error', ts: Date.now(), fatal: true, message: `recovery NOT verified within ${formatDurationMs(p.schedule.recoveryTimeoutMs)}` });
    return { verified: false, atMs: null };
  }

  /** an emergency stop, a signal, a ledger that failed, declared dead: no recovery window, just get out safely */
  private urgentStopRequested(): boolean {
    return this.stopRequested?.urgent === true;
  }

  private thresholds() {
    const s = this.plan.slo;
    return { p95LatencyMs: s.p95LatencyMs, errorRate: s.errorRate, availability: s.availability, healthFailures: s.healthFailures };
  }

  private evaluate(): Slis {
    const t = nowMs();
    const ages = this.traffic ? this.traffic.slowInFlightAges(t, this.plan.slo.p95LatencyMs) : [];
    const slis = this.window.evaluate(t, ages, this.health?.consecutiveFailures ?? 0);
    return slis;
  }

  private refreshBudget() {
    const sent = this.traffic?.sentCount ?? 0;
    const totals = this.budget.totals();
    this.burn.add(nowMs(), totals.experimentSpentUsd);
    const view = budgetView(totals, sent, this.burn.usdPerMin());
    for (const c of newCrossings(totals, this.crossings)) this.emit({ type: 'budget', ts: Date.now(), ...c });
    return view;
  }

  private tick(): void {
    try {
      this.tickUnsafe();
    } catch (err) {
      // Fail closed: a tick that cannot see (ledger unreadable, …) rolls the experiment back.
      const message = `tick failed: ${(err as Error).message}`;
      this.emit({ type: 'error', ts: Date.now(), message, fatal: true });
      this.requestStop('error', message, true);
    }
  }

  private tickUnsafe(): void {
    const p = this.plan;
    const t = nowMs();
    // The generator reports the live spend itself; a ledger that failed it fails the run closed.
    const ledgerError = this.traffic?.budgetError;
    if (ledgerError && !this.stopRequested) this.requestStop('error', `the budget ledger failed: ${ledgerError.message}`, true);
    const slis = this.evaluate();
    const budget = this.refreshBudget();
    this.heartbeat();

    const thresholds = this.thresholds();
    const impact = this.baseline ? impactScore(this.baseline, slis, thresholds) : { score: 0, driver: null };
    if (this.faultStartedAtMs !== null) this.peakImpact = Math.max(this.peakImpact, impact.score);
    const impactView = { score: impact.score, band: impactBand(impact.score), driver: impact.driver, peak: this.peakImpact };

    const breaches = findBreaches(slis, thresholds, p.slo.minSamples);
    if ((this.phase === 'inject' || this.phase === 'observe') && this.faultStartedAtMs !== null && breaches.length && !this.trigger && !this.stopRequested) {
      this.trigger = { trigger: 'breach', reason: `SLO breached: ${breaches.map((b) => `${SLI_LABEL[b.sli]} ${formatSli(b.sli, b.value)} > limit ${formatSli(b.sli, b.threshold)}`).join(', ')}`, atMs: t };
      this.emit({ type: 'breach', ts: Date.now(), breaches });
      this.wake?.();
    }
    if (this.phase === 'verify') {
      const good = breaches.length === 0 && (slis.samples >= p.slo.minSamples || this.budgetExhausted !== null);
      if (!good) this.goodSinceMs = null;
      else this.goodSinceMs ??= t;
    }

    const state = this.store.getState();
    // one point a tick, the last 60 s
    const history = [...state.history.filter((h) => h.tMs >= t - HISTORY_MS), { tMs: t, p95LatencyMs: slis.p95LatencyMs, errorRate: slis.errorRate, availability: slis.availability, healthFailures: slis.healthFailures, impact: impact.score }];
    this.store.setState({ nowMs: Date.now(), slis, budget, impact: impactView, history });
    this.emit({ type: 'tick', ts: Date.now(), phase: this.phase, slis, budget, impact: impactView, faultActive: this.store.getState().faultActive });
  }

  /** One heartbeat at a time, answered when the ledger can take it; the tick never waits for it. */
  private heartbeat(): void {
    const link = this.opts.link;
    if (!link || this.heartbeatInFlight) return;
    this.heartbeatInFlight = true;
    link.heartbeat(this.phase).then(
      (stopReason) => {
        this.heartbeatInFlight = false;
        if (stopReason === 'emergency-stop') this.emergencyStop('emergency-stop latch');
        else if (stopReason === 'not-running') this.declaredDead('its heartbeat');
      },
      (err: unknown) => {
        this.heartbeatInFlight = false;
        // Fail closed: a controller that cannot heart-beat may be declared dead and cannot see the latch.
        const message = `heartbeat failed: ${(err as Error).message}`;
        if (this.tickTimer === null) return; // shut down already: nothing left to stop
        this.emit({ type: 'error', ts: Date.now(), message, fatal: true });
        this.requestStop('error', message, true);
      },
    );
  }

  private async shutdown(): Promise<void> {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    this.health?.stop();
    await this.traffic?.stop();
    const sent = this.traffic?.sentCount ?? 0;
    try {
      await this.budget.settle(sent);
    } catch (err) {
      // The reservation stays held and counts as spent: over-counted, never under-counted.
      this.emit({ type: 'error', ts: Date.now(), message: `settling the budget: ${(err as Error).message}` });
    }
    this.store.setState({ budget: budgetView(this.budget.totals(), sent, 0) });
    try {
      await this.topology?.close();
    } catch (err) {
      this.emit({ type: 'error', ts: Date.now(), message: `closing the topology: ${(err as Error).message}` });
    }
  }

  private finish(status: RunStatus, reason: string, trigger: Trigger, recoveryVerified: boolean | null, recoveredAtMs: number | null): Summary {
    const totals = this.budget.totals();
    const requests = this.traffic?.sentCount ?? 0;
    const detectionMs = trigger.trigger === 'breach' && this.faultStartedAtMs !== null ? Math.round(trigger.atMs - this.faultStartedAtMs) : null;
    const recoveryMs = recoveredAtMs !== null && this.injectAttempted ? Math.round(recoveredAtMs - trigger.atMs) : null;
    const summary: Summary = {
      status,
      exitCode: EXIT_CODE[status],
      experiment: this.plan.name,
      experimentId: this.opts.experimentId,
      spentUsd: totals.experimentSpentUsd,
      requests,
      detectionMs,
      recoveryMs,
      peakImpact: Math.round(this.peakImpact * 10) / 10,
      trigger: this.injectAttempted || status !== 'refused' ? trigger.trigger : null,
      reason,
      faultRemoved: !this.injectAttempted || this.faultRemoved,
      recoveryVerified,
      durationMs: Math.round(nowMs() - this.startedAtMs),
      journalPath: this.opts.journalPath ?? null,
    };
    this.setPhase('done', status);
    this.store.setState({ summary });
    this.emit({ type: 'summary', ts: Date.now(), ...summary });
    return summary;
  }

  private emit(event: GamedayEvent): void {
    const entry = timelineEntryFor(event);
    if (entry) appendTimeline(this.store, entry);
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A broken reporter must not break the run (or its rollback).
      }
    }
  }
}
