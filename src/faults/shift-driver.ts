// A traffic shift as the fault itself ("what if the primary goes?"): inject shifts traffic through
// HAProxy or nginx, remove puts it back from the undo record taken before the shift. The record is
// the watchdog's plan too, written before injecting like every external fault's.
import type { RollbackAction, UndoRecord } from '../rollback/action.ts';
import { undo } from '../rollback/undo.ts';
import type { FaultDriver } from './driver.ts';

export class ShiftFaultDriver implements FaultDriver {
  readonly label: string;
  private injected = false;

  /** `record`: the action's prepare(), taken when the topology was built, before anything changed */
  constructor(
    private readonly action: RollbackAction,
    private readonly record: UndoRecord,
  ) {
    this.label = action.name;
  }

  async inject(): Promise<void> {
    this.injected = true; // a half-done shift is put back too (undo is harmless when nothing changed)
    await this.action.run();
  }

  async remove(): Promise<void> {
    if (!this.injected) return;
    await undo(this.record);
    this.injected = false;
  }

  async close(): Promise<void> {}
}
