// What happened when, for the charts' shared time axis: the phases as bands, and the events worth a
// vertical mark (the fault going in and out, a breach, the rollback, budget thresholds, notes from
// the team, an emergency stop, an error).
import type { GamedayEvent, Phase } from '../engine/events.ts';
import { formatBreaches } from '../engine/slis.ts';

export interface PhaseBand {
  phase: Phase;
  startMs: number;
  endMs: number;
}

export type MarkKind =
  | 'fault-in'
  | 'fault-out'
  | 'fault-paused'
  | 'fault-resumed'
  | 'breach'
  | 'rollback'
  | 'rollback-failed'
  | 'budget'
  | 'note'
  | 'emergency-stop'
  | 'error';

export interface Mark {
  kind: MarkKind;
  tMs: number;
  /** a few words, drawn on the chart */
  label: string;
  /** the whole story, for the table under the charts */
  detail: string;
}

/** The time the report's axis spans: the first event to the last event or tick. */
export function timeSpan(events: readonly GamedayEvent[], tickTimes: readonly number[]): { t0Ms: number; t1Ms: number } {
  const times = [...events.map((e) => e.ts), ...tickTimes].filter(Number.isFinite);
  if (!times.length) return { t0Ms: 0, t1Ms: 1 };
  const t0Ms = Math.min(...times);
  const t1Ms = Math.max(...times);
  // a span of zero would divide by zero in the scale
  return { t0Ms, t1Ms: t1Ms > t0Ms ? t1Ms : t0Ms + 1 };
}

/** Each phase from its start to the next phase (the last one to `endMs`); `done` is an instant, not a band. */
export function phaseBands(events: readonly GamedayEvent[], endMs: number): PhaseBand[] {
  const starts = events.flatMap((e) => (e.type === 'phase' ? [{ phase: e.phase, ts: e.ts }] : []));
  const bands: PhaseBand[] = [];
  starts.forEach((s, i) => {
    if (s.phase === 'done') return;
    const next = starts[i + 1]?.ts ?? endMs;
    bands.push({ phase: s.phase, startMs: s.ts, endMs: Math.max(s.ts, next) });
  });
  return bands;
}

export function marksOf(events: readonly GamedayEvent[]): Mark[] {
  const marks: Mark[] = [];
  let rollbackSeen = false;
  for (const e of events) {
    switch (e.type) {
      case 'fault':
        marks.push({ kind: `fault-${e.state}`, tMs: e.ts, label: `fault ${e.state}`, detail: `fault ${e.state}` });
        break;
      case 'breach':
        marks.push({ kind: 'breach', tMs: e.ts, label: 'breach', detail: `SLO breach: ${formatBreaches(e.breaches)}` });
        break;
      case 'phase':
        // the rollback as a whole, once; its steps are in the table
        if (e.phase === 'rollback' && !rollbackSeen) {
          rollbackSeen = true;
          marks.push({ kind: 'rollback', tMs: e.ts, label: 'rollback', detail: `rollback${e.detail ? ` — ${e.detail}` : ''}` });
        }
        break;
      case 'rollback':
        if (e.result === 'failed')
          marks.push({
            kind: 'rollback-failed',
            tMs: e.ts,
            label: 'rollback failed',
            detail: `rollback ${e.step} FAILED (attempt ${e.attempt})${e.message ? `: ${e.message}` : ''}`,
          });
        break;
      case 'budget':
        marks.push({
          kind: 'budget',
          tMs: e.ts,
          label: `${e.scope} ${e.thresholdPct}%`,
          detail: `${e.scope} budget ${e.thresholdPct}%: $${e.spentUsd.toFixed(2)} of $${e.capUsd.toFixed(2)}`,
        });
        break;
      case 'note':
        if (e.source === 'user') marks.push({ kind: 'note', tMs: e.ts, label: 'note', detail: `note: ${e.text}` });
        break;
      case 'emergency-stop':
        marks.push({ kind: 'emergency-stop', tMs: e.ts, label: 'STOP', detail: `emergency stop (${e.source})` });
        break;
      case 'error':
        marks.push({ kind: 'error', tMs: e.ts, label: 'error', detail: e.message });
        break;
      default:
        break;
    }
  }
  return marks;
}
