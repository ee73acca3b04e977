// Bits every command shares: where the state dir is, and a stream for one-line messages. Errors are
// printed in one place, src/errors/report.ts.
import { ledgerUrl } from '../config/bounds.ts';
import { loadConfigWithSources, parseTextFlag } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { BudgetSources } from '../config/sources.ts';
import { resolveStateDir } from '../budget/state-dir.ts';
import { printable } from '../headless/printable.ts';
import { makeRedactor, registerSecretsIn } from '../headless/redact.ts';
import { ledgerTarget, type LedgerTarget } from '../budget/open-ledger.ts';

type Redact = (text: string) => string;
type Sink = { write(text: string): unknown };

/**
 * The config and state dir a command works with: --state-dir, else GAMEDAY_STATE_DIR, else the
 * config file's stateDir, else the XDG default (loadConfig layers env over the file).
 */
export function commandContext(
  opts: { stateDir?: string; config?: string; ledger?: string },
  /** a command that spends nothing (emergency-stop, recover): budget variables' problems are warned about, not fatal */
  spendsNothing?: string,
): {
  config: Config;
  /** which layer set each budget field */
  budgetSources: BudgetSources;
  stateDir: string;
  ledger: LedgerTarget;
} {
  const flags: Record<string, unknown> = {};
  if (opts.stateDir) flags.stateDir = opts.stateDir;
  if (opts.ledger !== undefined) flags.ledger = { url: parseTextFlag('--ledger', opts.ledger, ledgerUrl) };
  const budgetProblems = spendsNothing ? (problems: string[]) => warnIgnored(spendsNothing, problems) : undefined;
  const { config, budgetSources } = loadConfigWithSources({ configFile: opts.config, flags, budgetProblems });
  // a password written in the config file is a secret like one on the command line
  registerSecretsIn(config.ledger);
  const stateDir = resolveStateDir(config.stateDir);
  return { config, budgetSources, stateDir, ledger: ledgerTarget(stateDir, config.ledger?.url) };
}

/**
 * Stopping or rolling back must not fail on a cap it never reads: the problems are named (they
 * still fail every command that spends or shows the budget) and the command goes on.
 */
function warnIgnored(command: string, problems: string[]): void {
  const err = shownWriter(process.stderr);
  for (const p of problems) err.write(`gameday: warning: ${p} (ignored: ${command} spends nothing and reads no cap)\n`);
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
