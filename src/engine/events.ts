// The events an experiment emits: the NDJSON stream, the journal and the timeline are all made of these.
import { EXIT, type ExitCode } from '../errors/exit-codes.ts';
import type { RunBudget } from '../config/sources.ts';
import type { Breach, Outcome, SloThresholds, Slis } from './slis.ts';

/** restore: what the rollback changed (a traffic shift) is put back, when it changed anything */
export type Phase = 'preflight' | 'baseline' | 'inject' | 'observe' | 'rollback' | 'verify' | 'restore' | 'done';
export const PHASES: readonly Phase[] = ['preflight', 'baseline', 'inject', 'observe', 'rollback', 'verify', 'restore', 'done'];

/** Why the fault is being rolled back. */
/** `slo-source`: a guard could not see (its metrics source failed inconclusiveLimit times in a row): fail closed. */
export type RollbackTrigger = 'breach' | 'slo-source' | 'budget' | 'duration' | 'emergency-stop' | 'signal' | 'manual' | 'error';

/** How the experiment ended; each status has one exit code (EXIT_CODE, from src/errors/exit-codes.ts). */
export type RunStatus =
  | 'passed' // finished, SLOs held
  | 'invalid' // bad usage, config or input; nothing injected
  | 'refused' // preflight or baseline refused; nothing injected
  | 'breach' // SLO breached, rolled back and recovered
  | 'budget' // budget limit reached, stopped and rolled back
  | 'stopped' // emergency stop or signal, rolled back
  | 'rollback-failed'; // rollback failed or recovery not verified: faults may remain

export const EXIT_CODE: Record<RunStatus, ExitCode> = {
  passed: EXIT.ok,
  invalid: EXIT.failed,
  refused: EXIT.refused,
  breach: EXIT.breach,
  budget: EXIT.budget,
  stopped: EXIT.stopped,
  'rollback-failed': EXIT.faultsMayRemain,
};

export interface BudgetView {
  costPerRequestUsd: number;
  experimentSpentUsd: number;
  experimentCapUsd: number;
  daySpentUsd: number;
  /** held by other running experiments (not yet spent) */
  dayReservedUsd: number;
  dayCapUsd: number;
  requestsSent: number;
  burnUsdPerMin: number;
  /** time until the nearer cap at the current burn rate; null when not burning */
  timeToCapMs: number | null;
}

/** What the faces show of the experiment; sent once at the start, again when the demo's address is known. */
export interface ExperimentInfo {
  id: string;
  name: string;
  targetUrl: string;
  faultLabel: string;
  rps: number;
  durationMs: number;
  baselineMs: number;
  demo: boolean;
}

/** A PromQL guard as the faces show it, each tick. */
export interface GuardView {
  name: string;
  /** the latest value it read; null before its first conclusive answer */
  value: number | null;
  bound: number;
  kind: 'max' | 'min';
  state: 'ok' | 'breach' | 'inconclusive';
  /** why it could not judge (state inconclusive) */
  reason?: string;
}

/** The fault in the world: in (injected), out (removed), paused and resumed by hand. */
type FaultState = 'in' | 'out' | 'paused' | 'resumed';

export interface ImpactView {
  score: number;
  band: ImpactBand;
  /** the SLI (an SliName) or PromQL guard (its name) closest to its bound; null when nothing is degraded */
  driver: string | null;
  peak: number;
}
export type ImpactBand = 'none' | 'low' | 'moderate' | 'high' | 'critical';

export interface Summary {
  status: RunStatus;
  exitCode: number;
  experiment: string;
  experimentId: string;
  spentUsd: number;
  requests: number;
  detectionMs: number | null;
  recoveryMs: number | null;
  peakImpact: number;
  trigger: RollbackTrigger | null;
  reason: string;
  faultRemoved: boolean;
  recoveryVerified: boolean | null;
  durationMs: number;
  journalPath: string | null;
  /** the cost per request and caps the run had, with where each came from (absent in journals of older versions) */
  budget?: RunBudget;
}

interface Base {
  ts: number;
}
export type GamedayEvent =
  | (Base & { type: 'experiment'; experiment: ExperimentInfo; thresholds: SloThresholds; minSamples: number })
  | (Base & { type: 'phase'; phase: Phase; detail?: string })
  | (Base & {
      type: 'tick';
      phase: Phase;
      slis: Slis;
      budget: BudgetView;
      impact: ImpactView;
      faultActive: boolean;
      byOutcome: Record<Outcome, number>;
      /** the PromQL guards (the built-in SLIs are in slis) */
      guards: GuardView[];
    })
  | (Base & { type: 'baseline'; slis: Slis; guards: Record<string, number> })
  | (Base & { type: 'fault'; state: FaultState })
  | (Base & { type: 'breach'; breaches: Breach[] })
  | (Base & { type: 'budget'; scope: 'experiment' | 'day'; thresholdPct: number; spentUsd: number; capUsd: number })
  | (Base & {
      type: 'rollback';
      step: string;
      result: 'ok' | 'failed' | 'started';
      attempt: number;
      durationMs?: number;
      trigger?: RollbackTrigger;
      message?: string;
    })
  | (Base & { type: 'note'; text: string; source?: 'user' | 'engine' })
  /** budget: on the 'budget settings' check, the numbers its detail describes */
  | (Base & { type: 'preflight'; check: string; ok: boolean; detail: string; budget?: RunBudget })
  | (Base & { type: 'emergency-stop'; source: string })
  | (Base & { type: 'error'; message: string; fatal?: boolean })
  | (Base & { type: 'summary' } & Summary);

type WithoutTs<E> = E extends unknown ? Omit<E, 'ts'> : never;
/** An event as the engine makes it; the clock stamps `ts` when it is emitted. */
export type EventInput = WithoutTs<GamedayEvent>;
