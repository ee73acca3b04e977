// Store states for the component tests: a realistic run in its fault window, and its end.
import { createGamedayStore, type GamedayState, type GamedayStore, type SliPoint, type TimelineEntry } from '../../src/state/store.ts';
import type { RunControls } from '../../src/state/store.ts';

export const T0 = 1_750_000_000_000;

export function history(points: number, overrides: (i: number) => Partial<SliPoint> = () => ({})): SliPoint[] {
  return Array.from({ length: points }, (_, i) => ({
    tMs: T0 + 5_000 + i * 250,
    p95LatencyMs: 40 + (i % 5),
    errorRate: 0,
    availability: 1,
    healthFailures: 0,
    impact: 2,
    ...overrides(i),
  }));
}

let id = 1;
export function entry(offsetMs: number, kind: TimelineEntry['kind'], text: string, extra: Partial<TimelineEntry> = {}): TimelineEntry {
  return { id: id++, tsMs: T0 + offsetMs, kind, text, ...extra };
}

/** 35 s into a 60 s latency fault: p95 over its objective, budget at 62 %. */
export function liveState(over: Partial<GamedayState> = {}): Partial<GamedayState> {
  return {
    experiment: {
      id: 'exp-7f3a',
      name: 'checkout-latency',
      targetUrl: 'http://127.0.0.1:8080',
      faultLabel: 'latency 800ms ±50ms',
      rps: 200,
      durationMs: 60_000,
      baselineMs: 5_000,
      demo: true,
    },
    phase: 'observe',
    phasesVisited: ['preflight', 'baseline', 'inject', 'observe'],
    startedAtMs: T0,
    phaseStartedAtMs: T0 + 6_000,
    faultStartedAtMs: T0 + 6_000,
    nowMs: T0 + 41_000,
    faultActive: true,
    faultPaused: false,
    slis: { p95LatencyMs: 812, errorRate: 0.0012, availability: 0.9995, healthFailures: 0, samples: 1000, throughputRps: 198 },
    baseline: { p95LatencyMs: 42, errorRate: 0, availability: 1, healthFailures: 0, samples: 1000, throughputRps: 200 },
    thresholds: { p95LatencyMs: 500, errorRate: 0.01, availability: 0.99, healthFailures: 3 },
    history: history(160, (i) => (i > 120 ? { p95LatencyMs: 300 + (i - 120) * 20, impact: Math.min(100, (i - 120) * 3) } : {})),
    budget: {
      costPerRequestUsd: 0.001,
      experimentSpentUsd: 31.2,
      experimentCapUsd: 50,
      daySpentUsd: 112.34,
      dayReservedUsd: 20,
      dayCapUsd: 500,
      requestsSent: 31_200,
      burnUsdPerMin: 12,
      timeToCapMs: 94_000,
    },
    impact: { score: 73, band: 'high', driver: 'p95LatencyMs', peak: 81 },
    preflight: [
      { name: 'emergency-stop latch', status: 'pass', detail: 'clear' },
      { name: 'budget', status: 'pass', detail: '$387.66 left today; $50.00 reserved' },
      { name: 'target reachable', status: 'pass', detail: 'GET / 200 in 3ms' },
    ],
    timeline: [
      entry(0, 'phase', 'preflight'),
      entry(300, 'preflight', 'budget: $387.66 left today', { severity: 'ok' }),
      entry(1_000, 'phase', 'baseline: steady state for 5s'),
      entry(6_000, 'phase', 'inject: latency 800ms ±50ms on 127.0.0.1:7001'),
      entry(20_000, 'note', 'cache fallback not kicking in'),
      entry(30_500, 'budget', 'experiment budget at 50% ($25.00 of $50.00)', { severity: 'warn' }),
    ],
    ...over,
  };
}

export function liveStore(over: Partial<GamedayState> = {}): GamedayStore {
  return createGamedayStore(liveState(over));
}

export function finishedStore(over: Partial<GamedayState> = {}): GamedayStore {
  return createGamedayStore(
    liveState({
      phase: 'done',
      phasesVisited: ['preflight', 'baseline', 'inject', 'observe', 'rollback', 'verify', 'done'],
      faultActive: false,
      summary: {
        status: 'breach',
        exitCode: 3,
        experiment: 'checkout-latency',
        experimentId: 'exp-7f3a',
        spentUsd: 31.2,
        requests: 31_200,
        detectionMs: 1_050,
        recoveryMs: 2_300,
        peakImpact: 81,
        trigger: 'breach',
        reason: 'p95 latency 812ms > 500ms',
        faultRemoved: true,
        recoveryVerified: true,
        durationMs: 48_000,
        journalPath: '/tmp/gameday/journal-exp-7f3a.ndjson',
      },
      ...over,
    }),
  );
}

export interface ControlCalls {
  emergencyStop: string[];
  rollbackNow: number;
  togglePause: number;
  addNote: string[];
}

export function fakeControls(): RunControls & { calls: ControlCalls } {
  const calls: ControlCalls = { emergencyStop: [], rollbackNow: 0, togglePause: 0, addNote: [] };
  return {
    calls,
    emergencyStop: (source) => void calls.emergencyStop.push(source),
    rollbackNow: () => void calls.rollbackNow++,
    togglePause: () => void calls.togglePause++,
    addNote: (text) => void calls.addNote.push(text),
  };
}
