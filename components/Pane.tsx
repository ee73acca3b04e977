// A pane: a rounded box whose top border carries the title (roomy layout), or a title line over
// bare content (compact layout, one line of chrome instead of two).
import type { ReactNode } from 'react';
import { Box, Text } from 'ink';
import { ACCENT, tone } from './colors.ts';
import { fit } from './format.ts';

export interface PaneProps {
  title: string;
  /** short text at the right end of the title line */
  note?: string;
  width: number;
  bordered: boolean;
  /** colour of the title and border (default: the accent) */
  color?: string;
  flexGrow?: number;
  children?: ReactNode;
}

export function Pane({ title, note, width, bordered, color, flexGrow, children }: PaneProps) {
  const titleColor = tone(color ?? ACCENT.title);
  const borderColor = tone(color ?? ACCENT.border);
  const label = ` ${title} `;
  // the note gives way to the title: cut it to what is left of the line, or drop it
  const noteRoom = width - label.length - (bordered ? 7 : 3);
  const noteText = note && noteRoom >= 6 ? ` ${note.length > noteRoom ? fit(note, noteRoom) : note} ` : '';
  if (!bordered) {
    const rule = Math.max(0, width - label.length - noteText.length - 1);
    return (
      <Box flexDirection="column" width={width} flexGrow={flexGrow}>
        <Text wrap="truncate-end">
          <Text bold inverse color={titleColor}>
            {label}
          </Text>
          <Text color={borderColor} dimColor>
            {' ' + '─'.repeat(rule)}
          </Text>
          {noteText ? <Text dimColor>{noteText}</Text> : null}
        </Text>
        <Box flexDirection="column" flexGrow={flexGrow}>
          {children}
        </Box>
      </Box>
    );
  }
  // ╭─ Title ───────── note ─╮
  const fill = Math.max(0, width - label.length - noteText.length - (noteText ? 4 : 3));
  return (
    <Box flexDirection="column" width={width} flexGrow={flexGrow}>
      <Text wrap="truncate-end">
        <Text color={borderColor}>╭─</Text>
        <Text bold color={titleColor}>
          {label}
        </Text>
        <Text color={borderColor}>{'─'.repeat(fill)}</Text>
        {noteText ? <Text dimColor>{noteText}</Text> : null}
        <Text color={borderColor}>{noteText ? '─╮' : '╮'}</Text>
      </Text>
      <Box flexDirection="column" borderStyle="round" borderTop={false} borderColor={borderColor} paddingX={1} flexGrow={flexGrow ?? 1}>
        {children}
      </Box>
    </Box>
  );
}
