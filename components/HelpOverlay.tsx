// The ? overlay: every key and what it does. It takes the place of the panes; the header and the
// key line stay, and every key keeps working while it is open.
import { Text } from 'ink';
import { ACCENT, tone } from './colors.ts';
import { fit } from './format.ts';
import { Pane } from './Pane.tsx';

export interface HelpOverlayProps {
  width: number;
  bordered: boolean;
}

export const HELP_KEYS: ReadonlyArray<readonly [string, string]> = [
  ['x  or  !', 'EMERGENCY STOP — no confirmation: the fault comes out and rollback starts now'],
  ['Ctrl+C', 'emergency stop, then leave once rolled back (press twice to leave at once)'],
  ['r', 'roll back now: end the fault early, verify recovery'],
  ['p', 'pause / resume the fault (traffic and the SLO watch go on)'],
  ['n', 'write a note into the timeline (Enter adds it, Esc cancels)'],
  ['?  or  Esc', 'show / hide this help'],
  ['q', 'quit — asks first while a fault is active; quitting rolls back'],
];

export function HelpOverlay({ width, bordered }: HelpOverlayProps) {
  return (
    <Pane title="Keys" note="? or Esc closes" width={width} bordered={bordered}>
      {HELP_KEYS.map(([key, what], i) => (
        <Text key={key} wrap="truncate-end">
          <Text bold inverse={i === 0} color={tone(i === 0 ? ACCENT.danger : ACCENT.key)}>{fit(key, 11)}</Text>
          <Text> </Text>
          <Text bold={i === 0}>{what}</Text>
        </Text>
      ))}
      <Text> </Text>
      <Text wrap="truncate-end">Rollback is automatic on an SLO breach, a budget limit or the end of the fault window.</Text>
      <Text wrap="truncate-end" dimColor>
        Exit codes: 0 SLOs held · 2 refused · 3 SLO breach · 4 budget · 5 stopped · 6 rollback failed
      </Text>
      <Text wrap="truncate-end" dimColor>
        Colours: green fine · yellow ≥ 50 % of a cap or near an SLO · orange ≥ 80 % · red at the limit
      </Text>
      <Text wrap="truncate-end" dimColor>
        Impact 0–100: 100 means an SLI at its objective; the driver is the SLI closest to it.
      </Text>
      <Text wrap="truncate-end" dimColor>The run's summary stays on screen after the run until q.</Text>
    </Pane>
  );
}
