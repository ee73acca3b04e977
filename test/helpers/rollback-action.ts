// A rollback action run as the engine runs it: prepare() (the undo record, read before anything
// changes), then run(). Resolves with the record, for the test to undo.
import type { RollbackAction, UndoRecord } from '../../src/rollback/action.ts';

export async function shifted(action: RollbackAction): Promise<UndoRecord> {
  const record = await action.prepare?.();
  await action.run();
  if (!record) throw new Error(`${action.name}: no undo record`);
  return record;
}
