// Timeline: phases, breaches, budget thresholds, rollback steps with their durations, notes.
// Bounded: shows the newest entries that fit, one line each, oldest at the top.
import { Text } from 'ink';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import { formatDurationMs } from '../src/config/duration.ts';
import type { GamedayStore, TimelineEntry, TimelineKind } from '../src/state/store.ts';
import { tone } from './colors.ts';
import { fit, stamp } from './format.ts';
import { innerWidth } from './layout.ts';
import { Pane } from './Pane.tsx';
import { shown } from './shown.ts';

export interface TimelinePaneProps {
  store: GamedayStore;
  width: number;
  bordered: boolean;
  /** the most entries to show (the newest) */
  maxEntries: number;
  flexGrow?: number;
}

const KIND_STYLE: Record<TimelineKind, { icon: string; color: string }> = {
  phase: { icon: '▶', color: 'cyan' },
  breach: { icon: '✖', color: 'red' },
  budget: { icon: '$', color: 'yellow' },
  rollback: { icon: '↺', color: 'magenta' },
  note: { icon: '✎', color: 'blue' },
  stop: { icon: '■', color: 'red' },
  error: { icon: '!', color: 'red' },
  preflight: { icon: '✓', color: 'green' },
};

const SEVERITY_COLOR: Record<NonNullable<TimelineEntry['severity']>, string | undefined> = {
  info: undefined,
  ok: 'green',
  warn: 'yellow',
  critical: 'red',
};

function entryStyle(entry: TimelineEntry): { icon: string; color: string } {
  const base = KIND_STYLE[entry.kind];
  const severity = entry.severity ? SEVERITY_COLOR[entry.severity] : undefined;
  const failed = entry.severity === 'critical' || entry.severity === 'warn';
  const icon = entry.kind === 'preflight' && failed ? '✗' : base.icon;
  return { icon, color: severity ?? base.color };
}

export function TimelinePane({ store, width, bordered, maxEntries, flexGrow }: TimelinePaneProps) {
  const n = Math.max(0, Math.floor(maxEntries));
  const entries = useStore(
    store,
    useShallow((s) => (n > 0 ? s.timeline.slice(-n) : [])),
  );
  const total = useStore(store, (s) => s.timeline.length);
  const startedAtMs = useStore(store, (s) => s.startedAtMs);
  const note = total > entries.length ? `last ${entries.length} of ${total}` : `${total} event${total === 1 ? '' : 's'}`;

  return (
    <Pane title="Timeline" note={note} width={width} bordered={bordered} flexGrow={flexGrow}>
      {entries.length === 0 ? <Text dimColor>nothing yet</Text> : null}
      {entries.map((entry) => {
        const style = entryStyle(entry);
        const color = tone(style.color);
        const loud = entry.kind === 'stop' || entry.severity === 'critical';
        const duration = entry.durationMs !== undefined ? ` (${formatDurationMs(entry.durationMs)})` : '';
        const textWidth = Math.max(1, innerWidth(width, bordered) - 9 - 12 - duration.length);
        const oneLine = shown(entry.text).replace(/\s+/g, ' ');
        const text = [...oneLine].length > textWidth ? fit(oneLine, textWidth) : oneLine;
        return (
          <Text key={entry.id} wrap="truncate-end">
            <Text dimColor>{fit(stamp(entry.tsMs - startedAtMs), 9)}</Text>
            <Text color={color} bold={loud}>{`${style.icon} ${fit(entry.kind, 10)}`}</Text>
            <Text bold={entry.kind === 'note' || loud} inverse={entry.kind === 'stop'}>
              {text}
            </Text>
            {duration ? <Text dimColor>{duration}</Text> : null}
          </Text>
        );
      })}
    </Pane>
  );
}
