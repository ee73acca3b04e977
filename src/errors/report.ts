// The one place where whatever ended a command becomes what the user reads and the exit code.
// Messages echo input (a --target with its password, a name with ESC in it, a command's stderr), so
// everything printed is redacted and its control characters are shown as escapes.
import { CommanderError } from 'commander';
import { printable } from '../headless/printable.ts';
import { makeRedactor } from '../headless/redact.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';
import { GamedayError } from './gameday-error.ts';

type Redact = (text: string) => string;
type Sink = { write(text: string): unknown };

/**
 * A GamedayError printed on `sink` (no stack: the message says what to do), its exit code returned.
 * Anything else is rethrown: a bug, for cli.ts to report. Commands that print on a stream of their
 * own (their tests hand one in) catch with this; the rest just throw.
 */
export function printError(err: unknown, sink: Sink, redact: Redact = makeRedactor()): ExitCode {
  if (!(err instanceof GamedayError)) throw err;
  const show = (text: string) => printable(redact(text));
  // a line a write: a one-line writer (shownWriter) must not take a list's newlines for forged ones
  for (const line of err.lines(show)) sink.write(show(line) + '\n');
  return err.exitCode;
}

/** cli.ts's one answer to anything a command threw: printed on `stderr` as the user needs it, and the exit code. */
export function exitCodeFor(err: unknown, stderr: Sink, redact: Redact = makeRedactor()): ExitCode {
  // commander has printed its message (or the help) already; --help and --version end here too
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.failed;
  if (err instanceof GamedayError) return printError(err, stderr, redact);
  // a bug: the stack keeps its own lines, anything else in it is shown, not obeyed
  const text = `gameday: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
  stderr.write(printable(redact(text), { lines: true }) + '\n');
  return EXIT.internal;
}
