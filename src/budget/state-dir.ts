// Where the ledger lives: --state-dir, else GAMEDAY_STATE_DIR, else the XDG state home. Every
// process that shares this directory shares one budget and one emergency stop.
import { accessSync, chmodSync, constants, mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { GamedayError } from '../errors/gameday-error.ts';

export function resolveStateDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  if (env.GAMEDAY_STATE_DIR) return resolve(env.GAMEDAY_STATE_DIR);
  // The XDG spec says a relative XDG_STATE_HOME is invalid and must be ignored.
  const xdg = env.XDG_STATE_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'gameday');
  return join(env.HOME || homedir(), '.local', 'state', 'gameday');
}

/** A state dir that cannot hold the ledger (Ledger.open reports it as a LedgerError). */
export class StateDirError extends GamedayError {
  override name = 'StateDirError';
}

/**
 * mkdir -p with 0700. A directory we create is chmod-ed to 0700 (mkdir's mode is subject to the
 * umask); an existing one keeps its mode, because `--state-dir .` or `--state-dir ~` must not
 * re-mode a directory we do not own the meaning of — the ledger file itself is always 0600.
 */
export function ensureStateDir(dir: string): void {
  let existed = true;
  try {
    const st = statSync(dir);
    if (!st.isDirectory())
      throw new StateDirError(`state dir ${dir} exists but is not a directory; pass another --state-dir (or GAMEDAY_STATE_DIR)`);
  } catch (err) {
    if (err instanceof StateDirError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new StateDirError(`state dir ${dir} cannot be read: ${(err as Error).message}`);
    }
    existed = false;
  }
  if (!existed) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
    } catch (err) {
      throw new StateDirError(`cannot create state dir ${dir}: ${(err as Error).message}; pass another --state-dir (or GAMEDAY_STATE_DIR)`);
    }
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw new StateDirError(`state dir ${dir} is not writable by this user; fix its permissions (chmod 700) or pass another --state-dir`);
  }
}
