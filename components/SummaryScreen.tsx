// After the run: status, detection and recovery times, spend, peak impact, the journal. Stays until q.
import { Text } from 'ink';
import { useStore } from 'zustand';
import { formatDurationMs } from '../src/config/duration.ts';
import type { Summary } from '../src/engine/events.ts';
import type { GamedayStore } from '../src/state/store.ts';
import { tone } from './colors.ts';
import { fit, int, usd } from './format.ts';
import { innerWidth } from './layout.ts';
import { Pane } from './Pane.tsx';
import { shown } from './shown.ts';
import { STATUS_HEADLINE } from './status.ts';

export interface SummaryScreenProps {
  store: GamedayStore;
  width: number;
  bordered: boolean;
}

const KEY = 14;

function ms(value: number | null): string {
  return value === null ? '—' : formatDurationMs(value);
}

function yesNo(value: boolean | null, none = 'not checked'): string {
  return value === null ? none : value ? 'yes' : 'NO';
}

export function SummaryScreen({ store, width, bordered }: SummaryScreenProps) {
  const summary = useStore(store, (s) => s.summary);
  if (!summary) return null;
  return <SummaryBody summary={summary} width={width} bordered={bordered} />;
}

function SummaryBody({ summary, width, bordered }: { summary: Summary; width: number; bordered: boolean }) {
  const journalPath = summary.journalPath === null ? null : shown(summary.journalPath);
  const experimentId = shown(summary.experimentId);
  const head = STATUS_HEADLINE[summary.status];
  const color = tone(head.color);
  const inner = innerWidth(width, bordered);
  const failed = summary.status === 'rollback-failed';
  const exit = `exit code ${summary.exitCode}`;
  const banner = fit(` ${head.icon} ${head.text}`, Math.max(1, inner - exit.length - 2)) + ' ' + exit + ' ';
  const row = (key: string, value: string, valueColor?: string, bold = false) => (
    <Text wrap="truncate-end">
      <Text dimColor>{fit(key, KEY)}</Text>
      <Text bold={bold} color={tone(valueColor)}>
        {shown(value).replace(/\s+/g, ' ')}
      </Text>
    </Text>
  );
  return (
    <Pane title="Result" note={experimentId} width={width} bordered={bordered} color={failed ? 'red' : head.color}>
      <Text bold inverse color={color} wrap="truncate-end">
        {banner}
      </Text>
      {row('experiment', `${summary.experiment} (${summary.experimentId}) · ran ${formatDurationMs(summary.durationMs)}`)}
      {row('reason', summary.reason || '—')}
      {row('trigger', summary.trigger ?? '—')}
      {row('detection', `${ms(summary.detectionMs)} · recovery ${ms(summary.recoveryMs)}`, undefined, true)}
      {row('spent', `${usd(summary.spentUsd)} · ${int(summary.requests)} requests`, undefined, true)}
      {row('peak impact', `${Math.round(summary.peakImpact)}/100`, undefined, true)}
      {row(
        'fault removed',
        `${yesNo(summary.faultRemoved)} · recovery verified ${yesNo(summary.recoveryVerified)}`,
        !summary.faultRemoved || summary.recoveryVerified === false ? 'red' : 'green',
        !summary.faultRemoved || summary.recoveryVerified === false,
      )}
      {row('journal', journalPath ?? '—')}
      {failed ? (
        <Text bold color={tone('red')} wrap="truncate-end">
          ‼ Faults may still be in place: run `gameday recover`, then check the dependency by hand.
        </Text>
      ) : (
        <Text dimColor wrap="truncate-end">
          {journalPath ? `report: gameday report ${journalPath}` : 'press q to leave'}
        </Text>
      )}
    </Pane>
  );
}
