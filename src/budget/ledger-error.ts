// Failing closed: anything wrong with the ledger (corrupt, not a database, unreadable, locked for
// too long, written by a newer gameday) is a LedgerError that names the file and what to do. The
// ledger is never deleted or reset to get past one — that would forget money already spent.
// Its exit code is the ledger commands' (1: the ledger cannot be used); `run` maps it to a refusal
// or, once the fault may be in, to 6 (commands/run-errors.ts).
import Database from 'better-sqlite3';
import { EXIT } from '../errors/exit-codes.ts';
import { GamedayError } from '../errors/gameday-error.ts';

export class LedgerError extends GamedayError {
  override name = 'LedgerError';
  constructor(
    readonly file: string,
    problem: string,
    // part of the message (one line, as scripts and the tests read it), so not a separate hint
    advice: string,
    options?: { cause?: unknown },
  ) {
    super(`budget ledger ${file}: ${problem}. ${advice}`, { exitCode: EXIT.failed, cause: options?.cause });
  }
}

/** No new experiment while the emergency stop is latched (run exits 2). */
export class StopLatchedError extends GamedayError {
  override name = 'StopLatchedError';
  constructor(
    readonly atMs: number,
    readonly by: string,
  ) {
    super(
      `the emergency stop is latched (since ${new Date(atMs).toISOString()}, by ${by}); ` +
        'no experiment starts until `gameday emergency-stop --clear`',
      { exitCode: EXIT.refused },
    );
  }
}

export const corruptAdvice = (file: string): string =>
  `The file is left as it is. Keep it for inspection and move it aside (mv ${file} ${file}.corrupt) to start ` +
  "a new, empty ledger — which forgets today's spend — or point --state-dir elsewhere";

/** Translate a SQLite failure into what the user should do about it. */
export function ledgerErrorFrom(file: string, err: unknown, doing: string): LedgerError {
  const code = err instanceof Database.SqliteError ? err.code : ((err as NodeJS.ErrnoException)?.code ?? '');
  const message = (err as Error)?.message ?? String(err);
  const problem = `${doing} failed: ${message}${code ? ` (${code})` : ''}`;
  let advice = 'Check the file and its directory, then retry';
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') advice = corruptAdvice(file);
  else if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
    advice = 'Another process held the ledger locked for too long; retry';
  else if (
    code.startsWith('SQLITE_READONLY') ||
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_PERM') ||
    code.startsWith('SQLITE_AUTH') ||
    code === 'EACCES' ||
    code === 'EPERM'
  )
    advice = `Check that the file and its directory belong to you and are writable (chmod 600 ${file}; chmod 700 on the directory)`;
  else if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_FULL' || code === 'ENOSPC')
    advice = 'Check the disk (space, errors) under the state dir, then retry';
  return new LedgerError(file, problem, advice, { cause: err });
}
