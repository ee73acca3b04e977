// The one seam between the engine and its faces: the engine writes a snapshot per tick (never per
// request); the control room and the headless reporter read it.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { BudgetView, ImpactView, Phase, RollbackTrigger, Summary } from '../engine/events.ts';
import type { SloThresholds, Slis } from '../engine/slis.ts';

export interface SliPoint {
  tMs: number;
  p95LatencyMs: number;
  errorRate: number;
  availability: number;
  healthFailures: number;
  impact: number;
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
  budget: BudgetView;
  impact: ImpactView;
  preflight: PreflightCheck[];
  timeline: TimelineEntry[];
  rollbackTrigger: RollbackTrigger | null;
  summary: Summary | null;
}

export const HISTORY_MS = 60_000;
export const TIMELINE_MAX = 200;

export function initialState(): GamedayState {
  return {
    experiment: null,
    phase: 'preflight',
    phaseStartedAtMs: Date.now(),
    phasesVisited: [],
    startedAtMs: Date.now(),
    faultStartedAtMs: null,
    nowMs: Date.now(),
    faultActive: false,
    faultPaused: false,
    slis: null,
    baseline: null,
    thresholds: { p95LatencyMs: 500, errorRate: 0.01, availability: 0.99, healthFailures: 3 },
    minSamples: 20,
    history: [],
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

let nextTimelineId = 1;
/** Appends to the bounded timeline (oldest entries fall off). */
export function appendTimeline(store: GamedayStore, entry: Omit<TimelineEntry, 'id'>): void {
  const timeline = store.getState().timeline;
  const next = [...timeline, { ...entry, id: nextTimelineId++ }];
  store.setState({ timeline: next.length > TIMELINE_MAX ? next.slice(next.length - TIMELINE_MAX) : next });
}

/** Controls the faces may call; the engine implements them. */
export interface RunControls {
  emergencyStop(source: string): void;
  rollbackNow(): void;
  togglePause(): void;
  addNote(text: string): void;
}
