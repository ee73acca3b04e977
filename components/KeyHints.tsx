// The key line at the bottom. Keys that would do nothing right now are dimmed.
import { Text } from 'ink';
import { ACCENT, tone } from './colors.ts';

export interface KeyHintsProps {
  faultActive: boolean;
  faultPaused: boolean;
  /** the run is over and its summary is on screen */
  finished: boolean;
  exitCode?: number;
  /** input is not available (no raw mode): say so instead of offering keys */
  inputless?: boolean;
}

function Hint({ k, label, active = true }: { k: string; label: string; active?: boolean }) {
  return (
    <Text dimColor={!active}>
      <Text bold color={tone(active ? ACCENT.key : undefined)}>{k}</Text>
      <Text>{` ${label}  `}</Text>
    </Text>
  );
}

export function KeyHints({ faultActive, faultPaused, finished, exitCode, inputless }: KeyHintsProps) {
  if (inputless) return <Text dimColor wrap="truncate-end">keyboard unavailable (no raw mode): use `gameday emergency-stop` from another terminal</Text>;
  if (finished) {
    return (
      <Text wrap="truncate-end">
        <Hint k="q" label="quit" />
        <Hint k="?" label="help" />
        {exitCode !== undefined ? <Text dimColor>{`exit code ${exitCode}`}</Text> : null}
      </Text>
    );
  }
  return (
    <Text wrap="truncate-end">
      <Text bold inverse color={tone(ACCENT.danger)}> x/! EMERGENCY STOP </Text>
      <Text>{'  '}</Text>
      <Hint k="r" label="roll back" active={faultActive} />
      <Hint k="p" label={faultPaused ? 'resume' : 'pause'} active={faultActive} />
      <Hint k="n" label="note" />
      <Hint k="?" label="help" />
      <Hint k="q" label="quit" />
    </Text>
  );
}
