// Text that reaches a terminal must not steer it. A user string (an experiment name, a note, a URL, a
// command's stderr) holding ESC could move the cursor, clear the screen, retitle the window or forge
// a line of output; C1 controls (U+0080–U+009F) do the same on terminals that obey 8-bit CSI; a
// newline in a one-line field forges a whole line. So every face shows such characters as visible
// escapes instead of sending them.

// C0, DEL and C1: the characters a terminal may act on.

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(ch: string): string {
  return NAMED[ch] ?? `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
}

/**
 * `text` with every control character shown as an escape: ESC as the four characters `\x1b`, a
 * newline as `\n`. With `lines`, newlines stay (for a face that writes several lines of its own,
 * such as a stack trace); everything else is still escaped.
 */
export function printable(text: string, opts: { lines?: boolean } = {}): string {
  return text.replace(opts.lines ? CONTROL_BUT_NEWLINE : CONTROL, escape);
}
