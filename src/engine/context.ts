// What the phases of one run share: the plan and the parts they drive, the one clock, the one event
// channel to the faces, and the few facts the phases hand each other (what ended the experiment,
// whether the fault went in and came out). The phases are functions over it (./phases).
import type { BudgetAccount } from '../budget/budget.ts';
import type { RunPlan } from '../config/plan.ts';
import type { Clock } from './clock.ts';
import type { EventInput, GamedayEvent, Phase, RollbackTrigger } from './events.ts';
import type { SloGuard } from './guards/slo-guard.ts';
import type { HealthProber } from './health.ts';
import type { Trigger } from './outcome.ts';
import type { SloThresholds, Slis } from './slis.ts';
import type { SloWindow } from './slo-window.ts';
import type { RollbackAction, UndoRecord } from '../rollback/action.ts';
import type { Topology, WatchdogPlan } from './topology.ts';
import type { BudgetExhaustion, TrafficGenerator } from './traffic.ts';

/**
 * The ledger's view of this controller; absent in tests that use an in-memory budget. Every call
 * is asynchronous, and none of them is ever on the path that takes a fault out.
 */
export interface ControllerLink {
  /** each tick (one at a time); resolves with why the controller must stop now, or null to carry on */
  heartbeat(phase: Phase): Promise<'emergency-stop' | 'not-running' | null>;
  /** the emergency-stop latch of the ledger is set (checked at preflight) */
  stopLatched(): Promise<boolean>;
  /** written before an external fault goes in, cleared once it is out */
  setRollbackPlan(plan: WatchdogPlan | null): Promise<void>;
  /** tell `gameday emergency-stop` this controller has rolled back */
  ackStopped(): Promise<void>;
}

const DECLARED_DEAD = 'declared dead by another gameday process';

/** A preflight or baseline refusal: nothing was injected. */
export class Refusal extends Error {}

export interface RunDeps {
  plan: RunPlan;
  experimentId: string;
  budget: BudgetAccount;
  link?: ControllerLink;
  clock: Clock;
  buildTopology: (plan: RunPlan) => Promise<Topology>;
  /** every event, to every face */
  publish: (event: GamedayEvent) => void;
}

export class RunContext {
  readonly plan: RunPlan;
  /** the objectives, from the plan */
  readonly thresholds: SloThresholds;
  phase: Phase = 'preflight';
  readonly startedAtMs: number;
  topology: Topology | null = null;
  traffic: TrafficGenerator | null = null;
  health: HealthProber | null = null;
  window: SloWindow | null = null;
  guards: SloGuard[] = [];
  ticker: NodeJS.Timeout | null = null;
  baseline: Slis | null = null;
  /** the PromQL guards' values at the end of the baseline, by name */
  guardBaseline: Record<string, number> = {};
  faultStartedAtMs: number | null = null;
  injectAttempted = false;
  faultRemoved = false;
  paused = false;
  /** what ended the experiment on its own: a breach, the duration, an engine error */
  trigger: Trigger | null = null;
  /** a stop asked for from outside the phases: keys, signals, the budget, the ledger */
  stop: Trigger | null = null;
  budgetExhausted: BudgetExhaustion | null = null;
  peakImpact = 0;
  /** while verifying: since when every guard has held */
  goodSinceMs: number | null = null;
  /** the experiment's rollback steps, checked at preflight */
  rollbackActions: RollbackAction[] = [];
  /** what the rollback changed that the run puts back at its end (traffic shifts), in order */
  undoRecords: UndoRecord[] = [];
  private removal: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(readonly deps: RunDeps) {
    this.plan = deps.plan;
    const s = deps.plan.slo;
    this.thresholds = {
      p95LatencyMs: s.p95LatencyMs,
      errorRate: s.errorRate,
      availability: s.availability,
      healthFailures: s.healthFailures,
    };
    this.startedAtMs = deps.clock();
  }

  now(): number {
    return this.deps.clock();
  }

  emit(event: EventInput): void {
    this.deps.publish({ ...event, ts: Math.round(this.now()) });
  }

  setPhase(phase: Phase, detail?: string): void {
    this.phase = phase;
    this.emit({ type: 'phase', phase, detail });
  }

  /** A preflight check: told to the faces; a failed one refuses the run. */
  check(name: string, ok: boolean, detail: string): void {
    this.emit({ type: 'preflight', check: name, ok, detail });
    if (!ok) throw new Refusal(`preflight: ${name}: ${detail}`);
  }

  /** An emergency stop, a signal, a failed ledger, being declared dead: no recovery window, one probe. */
  get urgentStop(): Trigger | null {
    return this.stop?.urgent ? this.stop : null;
  }

  /** observation ends: a trigger of its own or a stop asked for */
  get ending(): boolean {
    return this.trigger !== null || this.stop !== null;
  }

  /**
   * Asks the run to stop. The first stop stands, but an urgent one replaces a gentler one, and a
   * person's stop or a signal replaces an urgent error (it is what `gameday emergency-stop` waits to
   * hear about). An urgent stop takes the fault out and stops the sending now, without waiting for
   * the phase loop: nothing on that path waits on the ledger.
   */
  requestStop(trigger: RollbackTrigger, reason: string, urgent: boolean): void {
    const prev = this.stop;
    if (!prev || (urgent && (!prev.urgent || (prev.trigger === 'error' && trigger !== 'error')))) {
      this.stop = { trigger, reason, atMs: this.now(), urgent };
    }
    if (urgent && this.injectAttempted) void this.removeFault().catch(() => {});
    if (urgent) void this.traffic?.stop();
    this.wakeUp();
  }

  /** Immediate: starts removing the fault before anything else happens. */
  emergencyStop(source: string): void {
    if (this.stop?.trigger === 'emergency-stop') return;
    // The fault first; telling the faces (and redrawing them) can wait a few milliseconds.
    this.requestStop('emergency-stop', `emergency stop (${source})`, true);
    this.emit({ type: 'emergency-stop', source });
  }

  /**
   * Another gameday process declared this controller dead (its heartbeat looked stale to it): its
   * reservation now counts as spent and the ledger refuses it money. Stop at once; a watchdog or
   * `recover` may be restoring the same fault.
   */
  declaredDead(seenBy: string): void {
    if (this.stop?.reason.startsWith(DECLARED_DEAD)) return;
    this.requestStop('error', `${DECLARED_DEAD} (seen by ${seenBy}): its reservation counts as spent; stopping`, true);
  }

  /** Fail closed: a ledger that cannot grant money (or take the spend) is as good as a stop. */
  ledgerFailed(err: Error | null): void {
    this.requestStop('error', `the budget ledger failed: ${err?.message ?? 'unknown error'}`, true);
  }

  /** The phase loop's sleep is cut short: a trigger or a stop is in. */
  wakeUp(): void {
    this.wake?.();
  }

  /** Sleeps until `ms` pass or a trigger or stop wakes it. */
  async waitFor(ms: number): Promise<void> {
    const deadline = this.now() + ms;
    while (!this.ending) {
      const left = deadline - this.now();
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

  /**
   * Takes the fault out. Shared while in progress, so a keypress and the rollback phase share one
   * removal; a failed removal is forgotten, so the rollback's retries really try again.
   */
  removeFault(): Promise<void> {
    const driver = this.topology?.driver;
    if (!driver) return Promise.resolve();
    this.removal ??= driver.remove().then(
      () => {
        this.faultRemoved = true;
        this.emit({ type: 'fault', state: 'out' });
      },
      (err: unknown) => {
        this.removal = null;
        throw err;
      },
    );
    return this.removal;
  }
}
