// Bits every command shares: where the state dir is, and how user mistakes are printed.
import { ConfigError } from '../config/errors.ts';
import { loadConfig } from '../config/load.ts';
import { resolveStateDir } from '../budget/state-dir.ts';

/** --state-dir, else GAMEDAY_STATE_DIR, else the config file's stateDir, else the XDG default. */
export function stateDirFrom(opts: { stateDir?: string; config?: string }): string {
  if (opts.stateDir) return resolveStateDir(opts.stateDir);
  const config = loadConfig({ configFile: opts.config });
  return resolveStateDir(config.stateDir);
}

export function printConfigError(err: unknown, err_out: NodeJS.WritableStream = process.stderr): boolean {
  if (err instanceof ConfigError) {
    err_out.write(err.format() + '\n');
    return true;
  }
  return false;
}
