// The note line: what has been typed so far. App owns the text; this only draws it.
import { Text } from 'ink';
import { ACCENT, tone } from './colors.ts';
import { noteHint } from './keymap.ts';
import { shown } from './shown.ts';

export interface NoteInputProps {
  value: string;
  width: number;
}

const HINT = `  ${noteHint()}`;
const PROMPT = '✎ note › ';

export function NoteInput({ value, width }: NoteInputProps) {
  const room = Math.max(1, width - PROMPT.length - HINT.length - 1);
  const chars = [...shown(value)];
  const visible = chars.length > room ? '…' + chars.slice(chars.length - room + 1).join('') : chars.join('');
  return (
    <Text wrap="truncate-end">
      <Text bold color={tone(ACCENT.note)}>
        {PROMPT}
      </Text>
      <Text>{visible}</Text>
      <Text inverse> </Text>
      <Text dimColor>{HINT}</Text>
    </Text>
  );
}
