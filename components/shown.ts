// A user string as the control room shows it. The experiment name, the target URL, notes, preflight
// details and a command's stderr in the timeline come as the user or the service wrote them: a
// password must not be drawn, and an ESC or a newline must not steer the terminal or break the frame.
import { printable } from '../src/headless/printable.ts';
import { makeRedactor } from '../src/headless/redact.ts';

// this process's redactor: the environment, the command line and the plan the run registered
const redact = makeRedactor();

/** Redacted, on one line, control characters shown as escapes (ESC as `\x1b`, a newline as `\n`). */
export function shown(text: string): string {
  return printable(redact(text));
}
