// GamedayRollbackFailed outlives its run: it is recorded in the state dir (alerts/<experiment id>.json,
// 0600, its strings already redacted, no Alertmanager URL in it) and resolved by a later `recover`
// or `run` once its experiment has nothing left to roll back. One file per experiment: two runs
// never write the same file, and two resolvers at once only post the same resolve twice.
import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PostableAlert } from './alerts.ts';

export interface OpenAlertFile {
  path: string;
  alert: PostableAlert;
}

const dirOf = (stateDir: string): string => join(stateDir, 'alerts');
/** An experiment id as a file name: ids are uuids; anything else is made safe. */
const fileName = (id: string): string => `${id.replace(/[^A-Za-z0-9_-]/g, '_') || 'experiment'}.json`;

export async function recordOpenAlert(stateDir: string, alert: PostableAlert): Promise<void> {
  try {
    await mkdir(dirOf(stateDir), { recursive: true, mode: 0o700 });
    await writeFile(join(dirOf(stateDir), fileName(alert.labels.experiment_id ?? '')), JSON.stringify(alert) + '\n', { mode: 0o600 });
  } catch {
    // The alert went out all the same; it only cannot be resolved by a later run (it lapses by itself).
  }
}

function isAlert(v: unknown): v is PostableAlert {
  const a = v as PostableAlert | null;
  return (
    typeof a === 'object' &&
    a !== null &&
    typeof a.labels === 'object' &&
    typeof a.annotations === 'object' &&
    typeof a.startsAt === 'string'
  );
}

/** The recorded alerts whose experiment is not in `awaitingRollback`; unreadable files are left alone. */
export async function openAlertsToResolve(stateDir: string, awaitingRollback: ReadonlySet<string>): Promise<OpenAlertFile[]> {
  let names: string[];
  try {
    names = (await readdir(dirOf(stateDir))).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: OpenAlertFile[] = [];
  for (const name of names) {
    const path = join(dirOf(stateDir), name);
    try {
      const alert: unknown = JSON.parse(await readFile(path, 'utf8'));
      if (isAlert(alert) && !awaitingRollback.has(alert.labels.experiment_id ?? '')) out.push({ path, alert });
    } catch {
      // torn or foreign: not ours to resolve
    }
  }
  return out;
}

export async function forgetOpenAlert(file: OpenAlertFile): Promise<void> {
  try {
    await unlink(file.path);
  } catch {
    // another resolver got there first
  }
}
