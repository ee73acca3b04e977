// Bits every command shares: where the state dir is, and how user mistakes are printed.
import { ConfigError } from '../config/errors.ts';
import { LedgerError } from '../budget/ledger-error.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { resolveStateDir } from '../budget/state-dir.ts';
import { printable } from '../headless/printable.ts';
import { makeRedactor } from '../headless/redact.ts';

type Redact = (text: string) => string;
type Sink = { write(text: string): unknown };

/**
 * The config and state dir a command works with: --state-dir, else GAMEDAY_STATE_DIR, else the
 * config file's stateDir, else the XDG default (loadConfig layers env over the file).
 */
export function commandContext(opts: { stateDir?: string; config?: string }): { config: Config; stateDir: string } {
  const config = loadConfig({ configFile: opts.config, flags: opts.stateDir ? { stateDir: opts.stateDir } : undefined });
  return { config, stateDir: resolveStateDir(config.stateDir) };
}

/**
 * A stream for one-line messages: every write redacted, its control characters shown as escapes
 * (messages echo input, such as a --target with its password or a name with ESC in it, and a
 * command's stderr). A write's final newline is the one newline kept: a message cannot forge another line.
 */
export function shownWriter(stream: Sink, redact: Redact = makeRedactor()): { write(text: string): boolean } {
  return {
    write: (text: string) => {
      const line = text.endsWith('\n') ? text.slice(0, -1) : text;
      stream.write(printable(redact(line)) + (line === text ? '' : '\n'));
      return true;
    },
  };
}

/** A ConfigError as printed: each problem redacted, one line each (a newline in echoed input is shown, not obeyed). */
export function formatConfigError(err: ConfigError, redact: Redact = makeRedactor()): string {
  const line = (text: string) => printable(redact(text));
  return new ConfigError(err.problems.map(line), err.source === undefined ? undefined : line(err.source)).format();
}

export function printConfigError(err: unknown, err_out: Sink = process.stderr, redact: Redact = makeRedactor()): boolean {
  if (err instanceof ConfigError) {
    // a line a write: a one-line writer (shownWriter) must not take the list's newlines for forged ones
    for (const line of formatConfigError(err, redact).split('\n')) err_out.write(line + '\n');
    return true;
  }
  return false;
}

/** The ledger commands' one answer to an unreadable ledger: said plainly, exit 1. Anything else is a bug. */
export function ledgerErrorExit(e: unknown, err: Sink = process.stderr): number {
  if (!(e instanceof LedgerError)) throw e;
  err.write(`gameday: ${printable(makeRedactor()(e.message))}\n`);
  return 1;
}
