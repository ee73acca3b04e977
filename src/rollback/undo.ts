// Putting back what a rollback step changed (a traffic shift), from its record alone: at the end
// of the run that made it, at the end of a drill, or in a watchdog or `recover` when that run died.
import type { UndoRecord } from './action.ts';
import { undoHaproxy } from './haproxy.ts';
import { undoNginx } from './nginx.ts';

export function describeUndo(r: UndoRecord): string {
  switch (r.kind) {
    case 'haproxy':
      return `undo traffic-shift haproxy: ${r.servers.map((s) => `${s.backend}/${s.server} → ${s.state}`).join(', ')}`;
    case 'nginx':
      return `undo traffic-shift nginx: ${r.upstreamFile} ${r.previous === null ? 'removed' : 'restored'}`;
  }
}

/** Undo one record; rejects when it could not be put back. Idempotent. */
export async function undo(r: UndoRecord): Promise<void> {
  switch (r.kind) {
    case 'haproxy':
      return undoHaproxy(r);
    case 'nginx':
      return undoNginx(r);
  }
}
