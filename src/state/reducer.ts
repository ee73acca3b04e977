// The faces' state, built from the engine's events alone: the control room draws it, and a journal
// (every event of a run) rebuilds it. Pure: the same events give the same state, live or replayed.
import type { GamedayEvent, Phase } from '../engine/events.ts';
import { HISTORY_MS, TIMELINE_MAX, type GamedayState, type PreflightCheck, type TimelineEntry } from './store.ts';
import { timelineEntryFor } from './timeline.ts';

function withTimeline(state: GamedayState, e: GamedayEvent): TimelineEntry[] {
  const entry = timelineEntryFor(e);
  if (!entry) return state.timeline;
  const id = (state.timeline.at(-1)?.id ?? 0) + 1;
  const next = [...state.timeline, { ...entry, id }];
  return next.length > TIMELINE_MAX ? next.slice(next.length - TIMELINE_MAX) : next;
}

const visit = (visited: Phase[], phase: Phase): Phase[] => (visited.includes(phase) ? visited : [...visited, phase]);

function withCheck(checks: PreflightCheck[], name: string, ok: boolean, detail: string): PreflightCheck[] {
  return [...checks.filter((c) => c.name !== name), { name, status: ok ? 'pass' : 'fail', detail }];
}

/** What one event changes, apart from the clock and the timeline. */
function apply(s: GamedayState, e: GamedayEvent): Partial<GamedayState> {
  switch (e.type) {
    case 'experiment':
      return {
        experiment: e.experiment,
        thresholds: e.thresholds,
        minSamples: e.minSamples,
        startedAtMs: s.experiment ? s.startedAtMs : e.ts,
      };
    case 'phase':
      return { phase: e.phase, phaseStartedAtMs: e.ts, phasesVisited: visit(s.phasesVisited, e.phase) };
    case 'preflight':
      return { preflight: withCheck(s.preflight, e.check, e.ok, e.detail) };
    case 'baseline':
      return { baseline: e.slis, guardBaseline: e.guards };
    case 'fault':
      if (e.state === 'in') return { faultActive: true, faultStartedAtMs: e.ts };
      if (e.state === 'out') return { faultActive: false, faultPaused: false };
      return { faultPaused: e.state === 'paused' };
    case 'tick': {
      // one point a tick, the last HISTORY_MS
      const point = {
        ...(e.guards.length ? { guards: Object.fromEntries(e.guards.map((g) => [g.name, g.value])) } : {}),
        tMs: e.ts,
        p95LatencyMs: e.slis.p95LatencyMs,
        errorRate: e.slis.errorRate,
        availability: e.slis.availability,
        healthFailures: e.slis.healthFailures,
        impact: e.impact.score,
      };
      return {
        slis: e.slis,
        budget: e.budget,
        impact: e.impact,
        guards: e.guards,
        history: [...s.history.filter((h) => h.tMs >= e.ts - HISTORY_MS), point],
      };
    }
    case 'rollback':
      return e.trigger && s.rollbackTrigger === null ? { rollbackTrigger: e.trigger } : {};
    case 'summary': {
      const { type: _type, ts: _ts, ...summary } = e;
      return { summary };
    }
    default:
      return {};
  }
}

export function reduce(state: GamedayState, e: GamedayEvent): GamedayState {
  return { ...state, ...apply(state, e), nowMs: e.ts, timeline: withTimeline(state, e) };
}
