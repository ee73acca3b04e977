// The faces' state: what the control room draws. Built only from the engine's events, by the pure
// reducer (reducer.ts), so a journal rebuilds any screen; storeFace makes a store one more face.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { BudgetView, ExperimentInfo, GamedayEvent, GuardView, ImpactView, Phase, RollbackTrigger, Summary } from '../engine/events.ts';
import { reduce } from './reducer.ts';
import type { SloThresholds, Slis } from '../engine/slis.ts';

export interface SliPoint {
  tMs: number;
  p95LatencyMs: number;
  errorRate: number;
  availability: number;
  healthFailures: number;
  impact: number;
  /** the PromQL guards' values, by name (null: no conclusive answer then) */
  guards?: Record<string, number | null>;
}

export type TimelineKind = 'phase' | 'breach' | 'budget' | 'rollback' | 'note' | 'stop' | 'error' | 'preflight';
export interface TimelineEntry {
  id: number;
  tsMs: number;
  kind: TimelineKind;
  text: string;
  durationMs?: number;
  severity?: 'info' | 'warn' | 'critical' | 'ok';
}

export interface PreflightCheck {
  name: string;
  status: 'pending' | 'pass' | 'fail';
  detail: string;
}

export interface GamedayState {
  experiment: ExperimentInfo | null;
  phase: Phase;
  phaseStartedAtMs: number;
  /** the phases this run has been through, in order (a refused run never reaches inject) */
  phasesVisited: Phase[];
  startedAtMs: number;
  /** when the fault went in (null before) */
  faultStartedAtMs: number | null;
  nowMs: number;
  faultActive: boolean;
  faultPaused: boolean;
  slis: Slis | null;
  baseline: Slis | null;
  thresholds: SloThresholds;
  /** the engine judges latency, errors and availability only once the window holds this many requests */
  minSamples: number;
  /** last 60 s of SLIs, one point per tick, oldest first */
  history: SliPoint[];
  /** the PromQL guards, as the last tick saw them */
  guards: GuardView[];
  /** their values at the end of the baseline */
  guardBaseline: Record<string, number>;
  budget: BudgetView;
  impact: ImpactView;
  preflight: PreflightCheck[];
  timeline: TimelineEntry[];
  rollbackTrigger: RollbackTrigger | null;
  summary: Summary | null;
}

export const HISTORY_MS = 60_000;
export const TIMELINE_MAX = 200;

/** Before the first event: times are 0 until events bring theirs (a replay is the same as live). */
export function initialState(): GamedayState {
  return {
    experiment: null,
    phase: 'preflight',
    phaseStartedAtMs: 0,
    phasesVisited: [],
    startedAtMs: 0,
    faultStartedAtMs: null,
    nowMs: 0,
    faultActive: false,
    faultPaused: false,
    slis: null,
    baseline: null,
    thresholds: { p95LatencyMs: 500, errorRate: 0.01, availability: 0.99, healthFailures: 3 },
    minSamples: 20,
    history: [],
    guards: [],
    guardBaseline: {},
    budget: {
      costPerRequestUsd: 0.001,
      experimentSpentUsd: 0,
      experimentCapUsd: 0,
      daySpentUsd: 0,
      dayReservedUsd: 0,
      dayCapUsd: 0,
      requestsSent: 0,
      burnUsdPerMin: 0,
      timeToCapMs: null,
    },
    impact: { score: 0, band: 'none', driver: null, peak: 0 },
    preflight: [],
    timeline: [],
    rollbackTrigger: null,
    summary: null,
  };
}

export type GamedayStore = StoreApi<GamedayState>;

export function createGamedayStore(initial: Partial<GamedayState> = {}): GamedayStore {
  return createStore<GamedayState>()(() => ({ ...initialState(), ...initial }));
}

/** A store fed by the events: subscribe it to a run (or to a journal's events) as a face. */
export function storeFace(store: GamedayStore): (e: GamedayEvent) => void {
  return (e) => store.setState((s) => reduce(s, e), true);
}

/** Controls the faces may call; the engine implements them. */
export interface RunControls {
  emergencyStop(source: string): void;
  rollbackNow(): void;
  togglePause(): void;
  addNote(text: string): void;
}
