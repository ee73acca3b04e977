// Bits every command shares: where the state dir is, and how user mistakes are printed.
import { ConfigError } from '../config/errors.ts';
import { LedgerError } from '../budget/ledger-error.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { resolveStateDir } from '../budget/state-dir.ts';

/**
 * The config and state dir a command works with: --state-dir, else GAMEDAY_STATE_DIR, else the
 * config file's stateDir, else the XDG default (loadConfig layers env over the file).
 */
export function commandContext(opts: { stateDir?: string; config?: string }): { config: Config; stateDir: string } {
  const config = loadConfig({ configFile: opts.config, flags: opts.stateDir ? { stateDir: opts.stateDir } : undefined });
  return { config, stateDir: resolveStateDir(config.stateDir) };
}

export function printConfigError(err: unknown, err_out: NodeJS.WritableStream = process.stderr): boolean {
  if (err instanceof ConfigError) {
    err_out.write(err.format() + '\n');
    return true;
  }
  return false;
}

/** The ledger commands' one answer to an unreadable ledger: said plainly, exit 1. Anything else is a bug. */
export function ledgerErrorExit(e: unknown, err: NodeJS.WritableStream = process.stderr): number {
  if (!(e instanceof LedgerError)) throw e;
  err.write(`gameday: ${e.message}\n`);
  return 1;
}
