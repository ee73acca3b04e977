// The key line at the bottom, drawn from the key map: the keys on offer (dimmed where they would do
// nothing right now), or the note being typed, the quit question, or the last key's notice. A replay
// offers its own keys and says that it is read only.
import { Text } from 'ink';
import { ACCENT, tone } from './colors.ts';
import type { KeyState } from './key-reducer.ts';
import { QUIT_QUESTION, binding, hintBindings, hintKeys, hintLabel, keyOf, type Binding, type HintState } from './keymap.ts';
import { NoteInput } from './NoteInput.tsx';

export interface KeyHintsProps {
  faultActive: boolean;
  faultPaused: boolean;
  /** the run is over and its summary is on screen */
  finished: boolean;
  exitCode?: number;
  /** input is not available (no raw mode): say so instead of offering keys */
  inputless?: boolean;
  /** a journal played back, and whether it is paused */
  replay?: { paused: boolean };
}

export const READ_ONLY_HINT = 'replay: read only';

function Hint({ b, s }: { b: Binding; s: HintState }) {
  if (b.danger) {
    return (
      <>
        <Text bold inverse color={tone(ACCENT.danger)}>{` ${hintKeys(b)} ${hintLabel(b, s)} `}</Text>
        <Text>{'  '}</Text>
      </>
    );
  }
  const active = b.hint?.active?.(s) ?? true;
  return (
    <Text dimColor={!active}>
      <Text bold color={tone(active ? ACCENT.key : undefined)}>
        {hintKeys(b)}
      </Text>
      <Text>{` ${hintLabel(b, s)}  `}</Text>
    </Text>
  );
}

export function KeyHints({ faultActive, faultPaused, finished, exitCode, inputless, replay }: KeyHintsProps) {
  if (inputless)
    return (
      <Text dimColor wrap="truncate-end">
        keyboard unavailable (no raw mode): use `gameday emergency-stop` from another terminal
      </Text>
    );
  if (replay) {
    const s = { faultActive, faultPaused, replayPaused: replay.paused };
    return (
      <Text wrap="truncate-end">
        {hintBindings('replay').map((b) => (
          <Hint key={b.action} b={b} s={s} />
        ))}
        <Text dimColor>{READ_ONLY_HINT}</Text>
      </Text>
    );
  }
  const s = { faultActive, faultPaused };
  return (
    <Text wrap="truncate-end">
      {hintBindings(finished ? 'finished' : 'live').map((b) => (
        <Hint key={b.action} b={b} s={s} />
      ))}
      {finished && exitCode !== undefined ? <Text dimColor>{`exit code ${exitCode}`}</Text> : null}
    </Text>
  );
}

/** Beside a notice, the keys that matter most: "x/! stop · ? help", or "q quit" after the run. */
function noticeHints(finished: boolean, replay: boolean): string {
  const actions = replay ? (['replay-leave', 'help'] as const) : finished ? (['leave'] as const) : (['stop', 'help'] as const);
  return actions
    .map((a) => binding(a))
    .map((b) => `${hintKeys(b)} ${b.hint?.short ?? hintLabel(b)}`)
    .join(' · ');
}

export interface KeyLineProps extends KeyHintsProps {
  keys: Pick<KeyState, 'mode' | 'note' | 'notice'>;
  width: number;
}

export function KeyLine({ keys, width, ...run }: KeyLineProps) {
  if (run.inputless) return <KeyHints {...run} />;
  if (keys.mode === 'note') return <NoteInput value={keys.note} width={width} />;
  if (keys.mode === 'confirm-quit' && !run.finished) {
    return (
      <Text wrap="truncate-end">
        <Text bold inverse color={tone('yellow')}>{` ${QUIT_QUESTION} `}</Text>
        <Text dimColor>{`  ${keyOf('stop')} stops at once`}</Text>
      </Text>
    );
  }
  if (keys.notice) {
    return (
      <Text wrap="truncate-end">
        <Text bold color={tone(keys.notice.color)}>
          {keys.notice.text}
        </Text>
        <Text dimColor>{`  · ${noticeHints(run.finished, run.replay !== undefined)}`}</Text>
      </Text>
    );
  }
  return <KeyHints {...run} />;
}
