// The ? overlay: every key and what it does, from the key map. It takes the place of the panes; the
// header and the key line stay, and every key keeps working while it is open. A replay lists its own keys.
import { Text } from 'ink';
import { ACCENT, tone } from './colors.ts';
import { fit } from './format.ts';
import { binding, helpRows, keyLabels, keyOf, type HelpRow } from './keymap.ts';
import { Pane } from './Pane.tsx';

export interface HelpOverlayProps {
  width: number;
  bordered: boolean;
  /** the help of a replay (gameday replay) */
  replay?: boolean;
}

const ROWS = helpRows();
const REPLAY_ROWS = helpRows(undefined, ['replay']);
const KEYS_WIDTH = 11;

/** "? or Esc"; keys that do not fit that way are listed with spaces. */
function keysText(row: HelpRow): string {
  const text = row.keys.join('  or  ');
  return text.length <= KEYS_WIDTH ? text : row.keys.join(' ');
}

function Rows({ rows }: { rows: HelpRow[] }) {
  return rows.map((row) => (
    <Text key={row.text} wrap="truncate-end">
      <Text bold inverse={row.danger} color={tone(row.danger ? ACCENT.danger : ACCENT.key)}>
        {fit(keysText(row), KEYS_WIDTH)}
      </Text>
      <Text> </Text>
      <Text bold={row.danger}>{row.text}</Text>
    </Text>
  ));
}

const REPLAY_EXIT = `gameday replay exits 0 when left with ${keyOf('replay-leave')}, whatever the run's outcome.`;
// "? or Esc closes"
const CLOSES = `${[...keyLabels(binding('help')), ...keyLabels(binding('close-help'))].join(' or ')} closes`;

export function HelpOverlay({ width, bordered, replay }: HelpOverlayProps) {
  if (replay) {
    return (
      <Pane title="Keys — replay" note={CLOSES} width={width} bordered={bordered}>
        <Rows rows={REPLAY_ROWS} />
        <Text> </Text>
        <Text wrap="truncate-end">A replay plays a journal&apos;s events into the same screen; the journal&apos;s clock is its clock.</Text>
        <Text wrap="truncate-end" dimColor>
          Nothing is injected, stopped or spent, and no ledger is opened: the run is over.
        </Text>
        <Text wrap="truncate-end" dimColor>
          {REPLAY_EXIT}
        </Text>
      </Pane>
    );
  }
  return (
    <Pane title="Keys" note={CLOSES} width={width} bordered={bordered}>
      <Rows rows={ROWS} />
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
