// The seam for what decides a breach. Each guard, evaluated every tick, says ok, breach or
// inconclusive (it cannot judge now: too few requests, a metrics source that did not answer) and
// what it measured, for the panes. The engine runs a list of them; the synthetic-traffic window and
// the health prober are two, and more plug in here without touching the phases.
import type { GuardView } from '../events.ts';
import type { Breach, Slis } from '../slis.ts';

type GuardStatus = 'ok' | 'breach' | 'inconclusive';

export interface GuardVerdict {
  status: GuardStatus;
  /** the objectives broken (empty unless status is 'breach') */
  breaches: Breach[];
  /** what the guard measured, merged into the tick's SLIs */
  values: Partial<Slis>;
  /** why it could not judge (status 'inconclusive') */
  reason?: string;
  /**
   * Set when the guard has been unable to see for too long (inconclusiveLimit results in a row):
   * with the fault in, the run fails closed and rolls back (trigger slo-source), saying this.
   */
  blind?: string;
  /** for the faces, when the guard is not one of the built-in SLIs */
  view?: GuardView;
}

export interface SloGuard {
  readonly name: string;
  evaluate(nowMs: number): GuardVerdict;
  /** a fresh period (after the warmup, before verifying recovery): what came before counts for nothing */
  reset?(nowMs: number): void;
  /** a guard that asks something outside (Prometheus) starts asking here, with the traffic … */
  start?(): void;
  /** … and stops at the run's end */
  stop?(): Promise<void>;
}

export interface GuardsVerdict {
  /** every guard's verdict, in guard order */
  verdicts: GuardVerdict[];
  breaches: Breach[];
  /** the guards' measurements merged (a guard's values win over earlier ones') */
  slis: Slis;
  /** true when no guard breached and every guard could judge */
  allOk: boolean;
  /** why guards could not judge, in guard order */
  inconclusive: string[];
  /** guards that cannot see (see GuardVerdict.blind) */
  blind: string[];
  /** the PromQL guards, for the faces */
  views: GuardView[];
}

const EMPTY_SLIS: Slis = { p95LatencyMs: 0, errorRate: 0, availability: 1, healthFailures: 0, samples: 0, throughputRps: 0 };

/** Evaluates every guard once and combines their verdicts. */
export function evaluateGuards(guards: readonly SloGuard[], nowMs: number): GuardsVerdict {
  const verdicts = guards.map((g) => g.evaluate(nowMs));
  return {
    verdicts,
    breaches: verdicts.flatMap((v) => v.breaches),
    slis: Object.assign({ ...EMPTY_SLIS }, ...verdicts.map((v) => v.values)) as Slis,
    allOk: verdicts.every((v) => v.status === 'ok'),
    inconclusive: verdicts.flatMap((v) => (v.status === 'inconclusive' ? [v.reason ?? 'inconclusive'] : [])),
    blind: verdicts.flatMap((v) => (v.blind ? [v.blind] : [])),
    views: verdicts.flatMap((v) => (v.view ? [v.view] : [])),
  };
}
