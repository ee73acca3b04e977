// Preflight checklist: each safety check as it passes or fails, before anything is injected.
import { Text } from 'ink';
import { useStore } from 'zustand';
import type { GamedayStore, PreflightCheck } from '../src/state/store.ts';
import { tone } from './colors.ts';
import { fit } from './format.ts';
import { Pane } from './Pane.tsx';
import { shown } from './shown.ts';

export interface PreflightPaneProps {
  store: GamedayStore;
  width: number;
  bordered: boolean;
  /** the most lines to use; when the checks do not fit, the earliest are summarised in one line */
  maxLines: number;
}

const ICON: Record<PreflightCheck['status'], { icon: string; color: string }> = {
  pass: { icon: '✓', color: 'green' },
  fail: { icon: '✗', color: 'red' },
  pending: { icon: '○', color: 'yellow' },
};

function preflightCounts(checks: readonly PreflightCheck[]): { pass: number; fail: number; pending: number } {
  const counts = { pass: 0, fail: 0, pending: 0 };
  for (const c of checks) counts[c.status]++;
  return counts;
}

export function PreflightPane({ store, width, bordered, maxLines }: PreflightPaneProps) {
  const checks = useStore(store, (s) => s.preflight);
  const counts = preflightCounts(checks);
  const lines = Math.max(1, Math.floor(maxLines));
  const note = counts.fail
    ? `REFUSED · ${counts.fail} failed`
    : `${counts.pass}/${checks.length} passed${counts.pending ? ` · ${counts.pending} running` : ''}`;
  const nameWidth = Math.min(26, Math.max(8, ...checks.map((c) => shown(c.name).length))) + 2;

  let visible: readonly PreflightCheck[] = checks;
  let hidden: PreflightCheck[] = [];
  if (checks.length > lines) {
    const keep = lines - 1;
    hidden = checks.slice(0, checks.length - keep);
    visible = keep > 0 ? checks.slice(checks.length - keep) : [];
  }
  const hiddenCounts = preflightCounts(hidden);

  return (
    <Pane title="Preflight" note={note} width={width} bordered={bordered} color={counts.fail ? 'red' : undefined}>
      {checks.length === 0 ? <Text dimColor>running safety checks…</Text> : null}
      {hidden.length > 0 ? (
        <Text wrap="truncate-end" color={tone(hiddenCounts.fail ? 'red' : undefined)} dimColor={!hiddenCounts.fail}>
          {`… ${hidden.length} more: ${hiddenCounts.pass} passed` +
            (hiddenCounts.fail ? `, ${hiddenCounts.fail} failed` : '') +
            (hiddenCounts.pending ? `, ${hiddenCounts.pending} running` : '')}
        </Text>
      ) : null}
      {visible.map((check, i) => {
        const style = ICON[check.status];
        return (
          <Text key={`${check.name}-${i}`} wrap="truncate-end">
            <Text bold color={tone(style.color)}>
              {style.icon}{' '}
            </Text>
            <Text bold={check.status === 'fail'} color={tone(check.status === 'fail' ? 'red' : undefined)}>
              {fit(shown(check.name), nameWidth)}
            </Text>
            <Text dimColor={check.status !== 'fail'}>{shown(check.detail).replace(/\s+/g, ' ')}</Text>
          </Text>
        );
      })}
    </Pane>
  );
}
