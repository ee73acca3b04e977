// The journal: one JSON file per experiment with the resolved plan, every event and the summary,
// for `gameday report` and for the post-mortem. Written atomically (temp file + rename), mode 0600.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GamedayEvent, Summary } from '../engine/events.ts';
import { ConfigError } from '../config/errors.ts';
import { redactedJson } from './redact.ts';

export const JOURNAL_VERSION = 1;

export interface Journal {
  version: number;
  experimentId: string;
  name: string;
  startedAt: string;
  plan: Record<string, unknown>;
  events: GamedayEvent[];
  summary: Summary | null;
}

export function defaultJournalPath(stateDir: string, experimentId: string): string {
  return join(stateDir, 'journals', `${experimentId}.json`);
}

export class JournalWriter {
  private readonly events: GamedayEvent[] = [];
  constructor(
    readonly path: string,
    private readonly head: Omit<Journal, 'events' | 'summary' | 'version'>,
    private readonly redact: (text: string) => string,
  ) {}

  record = (event: GamedayEvent): void => {
    this.events.push(event);
  };

  write(summary: Summary | null): void {
    const journal: Journal = { version: JOURNAL_VERSION, ...this.head, events: this.events, summary };
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, redactedJson(journal, this.redact, 1) + '\n', { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}

export function readJournal(path: string): Journal {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([code === 'ENOENT' ? 'file not found' : code ? `cannot read (${code})` : `not a JSON journal (${(err as Error).message})`], path);
  }
  const j = data as Partial<Journal>;
  if (typeof j !== 'object' || j === null || j.version !== JOURNAL_VERSION || !Array.isArray(j.events)) {
    throw new ConfigError([`not a gameday journal (version ${JOURNAL_VERSION} with events expected)`], path);
  }
  return j as Journal;
}
