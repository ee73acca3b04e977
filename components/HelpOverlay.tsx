// The ? overlay: every key and what it does, from the key map. It takes the place of the panes; the
// header and the key line stay, and every key keeps working while it is open.
import { Text } from 'ink';
import { ACCENT, tone } from './colors.ts';
import { fit } from './format.ts';
import { binding, helpRows, keyLabels, keyOf } from './keymap.ts';
import { Pane } from './Pane.tsx';

export interface HelpOverlayProps {
  width: number;
  bordered: boolean;
}

const ROWS = helpRows();
// "? or Esc closes"
const CLOSES = `${[...keyLabels(binding('help')), ...keyLabels(binding('close-help'))].join(' or ')} closes`;

export function HelpOverlay({ width, bordered }: HelpOverlayProps) {
  return (
    <Pane title="Keys" note={CLOSES} width={width} bordered={bordered}>
      {ROWS.map((row) => (
        <Text key={row.text} wrap="truncate-end">
          <Text bold inverse={row.danger} color={tone(row.danger ? ACCENT.danger : ACCENT.key)}>
            {fit(row.keys.join('  or  '), 11)}
          </Text>
          <Text> </Text>
          <Text bold={row.danger}>{row.text}</Text>
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
      <Text wrap="truncate-end" dimColor>{`The run's summary stays on screen after the run until ${keyOf('leave')}.`}</Text>
    </Pane>
  );
}
