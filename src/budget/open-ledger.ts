// Which ledger a command uses, and opening it. The SQLite file in the state dir is the default;
// a PostgreSQL URL (--ledger, GAMEDAY_LEDGER_URL or the config's ledger.url) makes it the team's.
import { join } from 'node:path';
import type { LedgerStore } from './ledger-store.ts';
import { SqliteStore } from './sqlite-store.ts';
import { Ledger, LEDGER_FILE } from './sqlite-ledger.ts';

export type LedgerTarget = { backend: 'sqlite'; stateDir: string } | { backend: 'postgres'; url: string };

export const ledgerTarget = (stateDir: string, url: string | undefined): LedgerTarget =>
  url ? { backend: 'postgres', url } : { backend: 'sqlite', stateDir };

/** Where the target is, fit to print (the password is left out of a URL). */
export function describeTarget(target: LedgerTarget): string {
  if (target.backend === 'sqlite') return join(target.stateDir, LEDGER_FILE);
  const u = new URL(target.url);
  u.password = '';
  return u.toString();
}

/**
 * Whether there may be a ledger to read: a read-only command (budget-status, recover) does not
 * create a SQLite file just to find it empty. A database is always asked.
 */
export const ledgerMayExist = (target: LedgerTarget): boolean => target.backend === 'postgres' || Ledger.exists(target.stateDir);

/** Open (creating and migrating if needed). Throws LedgerError; PostgreSQL's client loads only when asked for. */
export async function openLedger(target: LedgerTarget): Promise<LedgerStore> {
  if (target.backend === 'sqlite') return SqliteStore.open(target.stateDir);
  const { PostgresLedger } = await import('./postgres-ledger.ts');
  return PostgresLedger.open(target.url);
}
