// The faces' state from events: the reducer keeps the clock, the timeline, the history window, the
// preflight list and the fault's state, from the events alone.
import { describe, expect, it } from 'vitest';
import type { GamedayEvent } from '../../src/engine/events.ts';
import { reduce } from '../../src/state/reducer.ts';
import { HISTORY_MS, initialState, TIMELINE_MAX } from '../../src/state/store.ts';

const slis = { p95LatencyMs: 40, errorRate: 0, availability: 1, healthFailures: 0, samples: 100, throughputRps: 50 };
const tick = (ts: number): GamedayEvent => ({
  type: 'tick',
  ts,
  phase: 'observe',
  slis,
  budget: initialState().budget,
  impact: { score: 3, band: 'low', driver: null, peak: 3 },
  faultActive: true,
  byOutcome: { ok: 1, error: 0, timeout: 0, reset: 0, refused: 0 },
  guards: [],
});
const run = (events: GamedayEvent[]) => events.reduce(reduce, initialState());

describe('reduce', () => {
  it('phases: when each began, and which were visited', () => {
    const s = run([
      { type: 'phase', ts: 10, phase: 'preflight' },
      { type: 'phase', ts: 20, phase: 'baseline' },
      { type: 'phase', ts: 30, phase: 'done', detail: 'refused' },
    ]);
    expect(s).toMatchObject({ phase: 'done', phaseStartedAtMs: 30, phasesVisited: ['preflight', 'baseline', 'done'], nowMs: 30 });
  });

  it('the fault: in, paused, resumed, out', () => {
    let s = run([{ type: 'fault', ts: 5, state: 'in' }]);
    expect(s).toMatchObject({ faultActive: true, faultStartedAtMs: 5, faultPaused: false });
    s = reduce(s, { type: 'fault', ts: 6, state: 'paused' });
    expect(s).toMatchObject({ faultActive: true, faultPaused: true });
    s = reduce(s, { type: 'fault', ts: 7, state: 'resumed' });
    expect(s.faultPaused).toBe(false);
    s = reduce(reduce(s, { type: 'fault', ts: 8, state: 'paused' }), { type: 'fault', ts: 9, state: 'out' });
    expect(s).toMatchObject({ faultActive: false, faultPaused: false });
  });

  it('a preflight check is listed once, with its latest result', () => {
    const s = run([
      { type: 'preflight', ts: 1, check: 'fault driver ready', ok: false, detail: 'no' },
      { type: 'preflight', ts: 2, check: 'latch', ok: true, detail: 'clear' },
      { type: 'preflight', ts: 3, check: 'fault driver ready', ok: true, detail: 'proxy' },
    ]);
    expect(s.preflight).toEqual([
      { name: 'latch', status: 'pass', detail: 'clear' },
      { name: 'fault driver ready', status: 'pass', detail: 'proxy' },
    ]);
  });

  it('history keeps one point a tick for the last minute', () => {
    const s = run(Array.from({ length: 300 }, (_, i) => tick(i * 250)));
    expect(s.history.at(-1)!.tMs).toBe(299 * 250);
    expect(s.history[0].tMs).toBe(299 * 250 - HISTORY_MS);
    expect(s.slis).toEqual(slis);
  });

  it('the timeline: numbered entries for the events that have one, the oldest dropped past the limit', () => {
    const notes: GamedayEvent[] = Array.from({ length: TIMELINE_MAX + 5 }, (_, i) => ({
      type: 'note',
      ts: i,
      text: `n${i}`,
      source: 'user',
    }));
    const s = run([tick(0), ...notes]);
    expect(s.timeline).toHaveLength(TIMELINE_MAX);
    expect(s.timeline[0]).toMatchObject({ id: 6, text: 'note: n5' });
    expect(s.timeline.at(-1)).toMatchObject({ id: TIMELINE_MAX + 5, text: `note: n${TIMELINE_MAX + 4}` });
  });

  it('the rollback trigger is the first one told; the experiment keeps its first start time', () => {
    const info = { id: 'x', name: 'n', targetUrl: 'u', faultLabel: 'f', rps: 1, durationMs: 1, baselineMs: 1, demo: true };
    const thresholds = { p95LatencyMs: 1, errorRate: 0, availability: 1, healthFailures: 1 };
    const s = run([
      { type: 'experiment', ts: 100, experiment: info, thresholds, minSamples: 5 },
      { type: 'experiment', ts: 200, experiment: { ...info, targetUrl: 'http://127.0.0.1:1 (embedded demo)' }, thresholds, minSamples: 5 },
      { type: 'rollback', ts: 300, step: 'remove-fault', result: 'started', attempt: 1, trigger: 'breach' },
      { type: 'rollback', ts: 310, step: 'traffic-shift', result: 'started', attempt: 1, trigger: 'manual' },
    ]);
    expect(s).toMatchObject({ startedAtMs: 100, minSamples: 5, rollbackTrigger: 'breach' });
    expect(s.experiment?.targetUrl).toBe('http://127.0.0.1:1 (embedded demo)');
  });
});
