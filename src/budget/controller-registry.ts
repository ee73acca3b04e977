// The controllers running on this machine, as files in the state dir (controllers/<pid>.json), so
// that `gameday emergency-stop` can signal them before it has loaded its config or opened the
// ledger: that is most of its start-up, and the ledger may be locked or out of reach just then.
// The ledger's list stays the authority (emergency-stop signals from it too, and waits on it);
// this is a head start. Nothing heavy: the emergency-stop entry point loads it before the CLI.
//
// A pid is signalled only if the process holding it now started when the controller did (Linux:
// /proc/<pid>/stat, field 22, in clock ticks since boot), so a reused pid is never signalled.
// Where there is no /proc, nothing is registered and nothing is signalled early.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../fs/write-atomic.ts';

const DIR = 'controllers';

interface Entry {
  pid: number;
  /** the process's start time, in clock ticks since boot */
  startTicks: string;
  /** which ledger it spends from (ledgerIdentity) */
  ledger: string;
}

/** When the process with this pid started, in clock ticks since boot; null if gone or unknown. */
export function processStartTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count fields after its last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19]; // field 22 of the whole line
    return ticks !== undefined && /^\d+$/.test(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

/**
 * Which ledger, as a string two processes compute alike: the SQLite file's state dir, or a hash of
 * the PostgreSQL URL as given (never the URL: it may hold a password). Two spellings of one
 * database differ here; the early signal then misses, and the ledger's list catches it.
 */
export function ledgerIdentity(stateDir: string, ledgerUrl: string | null | undefined): string {
  if (!ledgerUrl) return `sqlite:${resolve(stateDir)}`;
  return `postgres:${createHash('sha256').update(ledgerUrl.trim()).digest('hex').slice(0, 32)}`;
}

/**
 * Records this process as a controller of `ledger`; returns the function that removes the record
 * (idempotent). Best effort: a state dir that cannot take it costs only the head start.
 */
export function registerController(stateDir: string, ledger: string, pid = process.pid): () => void {
  const startTicks = processStartTicks(pid);
  if (startTicks === null) return () => {};
  const dir = join(stateDir, DIR);
  const file = join(dir, `${pid}.json`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(file, JSON.stringify({ pid, startTicks, ledger } satisfies Entry), 0o600);
  } catch {
    return () => {};
  }
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    rmSync(file, { force: true });
  };
}

function parseEntry(text: string): Entry | null {
  try {
    const e = JSON.parse(text) as Partial<Entry>;
    if (!Number.isSafeInteger(e.pid) || (e.pid as number) <= 1) return null;
    if (typeof e.startTicks !== 'string' || typeof e.ledger !== 'string') return null;
    return e as Entry;
  } catch {
    return null;
  }
}

/**
 * Signals every registered controller of `ledger` whose process is still the one that registered;
 * removes the records of those that are gone. Returns the pids signalled. Never throws.
 */
export function signalRegisteredControllers(
  stateDir: string,
  ledger: string,
  signal: NodeJS.Signals,
  kill: (pid: number, signal: NodeJS.Signals) => void = (pid, sig) => process.kill(pid, sig),
): number[] {
  const dir = join(stateDir, DIR);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^\d+\.json$/.test(n));
  } catch {
    return [];
  }
  const signalled: number[] = [];
  for (const name of names) {
    const file = join(dir, name);
    let entry: Entry | null;
    try {
      entry = parseEntry(readFileSync(file, 'utf8'));
    } catch {
      continue; // removed meanwhile
    }
    if (entry === null || `${entry.pid}.json` !== name) continue;
    const ticks = processStartTicks(entry.pid);
    if (ticks !== entry.startTicks) {
      // the controller is gone (killed: its watchdog and `recover` see to its fault); the pid may be reused
      rmSync(file, { force: true });
      continue;
    }
    if (entry.ledger !== ledger || entry.pid === process.pid) continue;
    try {
      kill(entry.pid, signal);
      signalled.push(entry.pid);
    } catch {
      // exited between the check and the signal
    }
  }
  return signalled;
}
