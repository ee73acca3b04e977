// A rollback step as the engine runs it: proven possible before the fault goes in (check), run and
// verified when the rollback comes (run), and, when it changes something the run must put back at
// its end (a traffic shift), undone from a record that is plain data. The record is taken BEFORE
// the change (prepare) and written to the ledger first, so that a watchdog in another process can
// put things back even when the controller dies in the middle of the change.

/** What `undo` needs to put things back; JSON, kept in the ledger's rollback plan meanwhile. */
export type UndoRecord =
  | {
      kind: 'haproxy';
      socket: string;
      timeoutMs: number;
      /** each server's state before the shift, as `set server … state` takes it */
      servers: Array<{ backend: string; server: string; state: 'ready' | 'drain' | 'maint' }>;
    }
  | {
      kind: 'nginx';
      upstreamFile: string;
      /** the file's content before the shift; null when there was no file */
      previous: string | null;
      test: string[];
      reload: string[];
      timeoutMs: number;
    };

export interface RollbackAction {
  /** for people and events: "traffic-shift haproxy be_app: primary → standby" */
  readonly name: string;
  /**
   * Preflight: proves the step can run now (the socket answers and knows the servers, the file is
   * writable and the config tests fine, the program exists, kubectl may patch the deployment).
   * Rejects with an Error whose message says why not, in one line.
   */
  check(): Promise<void>;
  /**
   * Before run(), once: how to put back what run() is about to change, read now (the states, the
   * file as it is), or null when it changes nothing that needs putting back. Undoing it is harmless
   * if run() then changed nothing.
   */
  prepare?(): Promise<UndoRecord | null>;
  /** Do it, and resolve only once it is verified (prepare() first, if it has one). */
  run(): Promise<void>;
}

/**
 * The action's run as the engine (and a drill) retries it: prepare() once, before the first attempt
 * changes anything, its record handed to `onRecord` (which may write it to the ledger) before run().
 */
export function undoFirst(action: RollbackAction, onRecord: (record: UndoRecord) => Promise<void> | void): () => Promise<void> {
  let prepared = false;
  return async () => {
    if (!prepared && action.prepare) {
      const record = await action.prepare();
      prepared = true;
      if (record) await onRecord(record);
    }
    await action.run();
  };
}
