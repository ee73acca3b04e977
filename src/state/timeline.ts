// How each engine event reads on the control room's timeline.
import type { GamedayEvent } from '../engine/events.ts';
import { formatBreaches } from '../engine/slis.ts';
import type { TimelineEntry } from './store.ts';

export function timelineEntryFor(e: GamedayEvent): Omit<TimelineEntry, 'id'> | null {
  switch (e.type) {
    case 'phase':
      return { tsMs: e.ts, kind: 'phase', text: `${e.phase}${e.detail ? ` — ${e.detail}` : ''}`, severity: 'info' };
    case 'preflight':
      return { tsMs: e.ts, kind: 'preflight', text: `${e.ok ? '✓' : '✗'} ${e.check}: ${e.detail}`, severity: e.ok ? 'ok' : 'critical' };
    case 'breach':
      return {
        tsMs: e.ts,
        kind: 'breach',
        text: `SLO breach: ${formatBreaches(e.breaches)}`,
        severity: 'critical',
      };
    case 'budget':
      return {
        tsMs: e.ts,
        kind: 'budget',
        text: `${e.scope} budget ${e.thresholdPct}%: $${e.spentUsd.toFixed(2)} of $${e.capUsd.toFixed(2)}`,
        severity: e.thresholdPct >= 100 ? 'critical' : e.thresholdPct >= 80 ? 'warn' : 'info',
      };
    case 'rollback':
      if (e.result === 'started' && e.attempt === 1)
        return { tsMs: e.ts, kind: 'rollback', text: `rollback ${e.step}…${e.trigger ? ` (${e.trigger})` : ''}`, severity: 'warn' };
      if (e.result === 'started') return null;
      return {
        tsMs: e.ts,
        kind: 'rollback',
        text: `rollback ${e.step} ${e.result === 'ok' ? 'done' : `FAILED (attempt ${e.attempt}): ${e.message ?? ''}`}`,
        durationMs: e.durationMs,
        severity: e.result === 'ok' ? 'ok' : 'critical',
      };
    case 'note':
      return { tsMs: e.ts, kind: 'note', text: e.source === 'user' ? `note: ${e.text}` : e.text, severity: 'info' };
    case 'emergency-stop':
      return { tsMs: e.ts, kind: 'stop', text: `EMERGENCY STOP (${e.source})`, severity: 'critical' };
    case 'error':
      return { tsMs: e.ts, kind: 'error', text: e.message, severity: 'critical' };
    case 'summary':
      return {
        tsMs: e.ts,
        kind: 'phase',
        text: `finished: ${e.status} — ${e.reason}`,
        severity: e.status === 'passed' ? 'ok' : e.status === 'rollback-failed' ? 'critical' : 'warn',
      };
    case 'tick':
    case 'experiment':
    case 'baseline':
    case 'fault':
      return null;
  }
}
