// Rollback: the fault comes out first, then the experiment's own steps in order, each retried; a
// step that still fails is escalated. What a step changed that must be put back (a traffic shift)
// goes into the ledger's rollback plan at once, for a watchdog should this controller die, and is
// undone at the end of the run (restore). Then the ledger's rollback plan is cleared.
import { undoFirst, type RollbackAction, type UndoRecord } from '../../rollback/action.ts';
import { describeUndo, undo } from '../../rollback/undo.ts';
import type { RunContext } from '../context.ts';
import type { RollbackReport, Trigger } from '../outcome.ts';
import { runRollback, type RollbackStepRun, type StepListener } from '../rollback.ts';

/** The plan a watchdog runs if this controller dies now: what is still to be undone. */
async function recordUndo(ctx: RunContext, records: UndoRecord[]): Promise<void> {
  try {
    await ctx.deps.link?.setRollbackPlan(records.length ? { commands: [], undo: records } : null);
  } catch (err) {
    // The run undoes it itself at its end; only a watchdog would miss it.
    ctx.emit({ type: 'error', message: `recording the rollback plan in the ledger: ${(err as Error).message}` });
  }
}

/**
 * The undo record is taken and written to the ledger before the step changes anything (once, not
 * per attempt): a controller that dies during the shift leaves its watchdog what to put back.
 */
function stepRun(ctx: RunContext, action: RollbackAction): RollbackStepRun {
  const run = undoFirst(action, async (record) => {
    ctx.undoRecords.push(record);
    await recordUndo(ctx, ctx.undoRecords);
  });
  return { name: action.name, critical: false, run };
}

const listener =
  (ctx: RunContext, trigger?: Trigger): StepListener =>
  (e) =>
    ctx.emit({ type: 'rollback', ...e, trigger: trigger && e.result === 'started' && e.attempt === 1 ? trigger.trigger : undefined });

const failuresOf = (report: { steps: Array<{ ok: boolean; name: string; error?: string }> }): string =>
  report.steps
    .filter((s) => !s.ok)
    .map((s) => `${s.name}: ${s.error}`)
    .join('; ');

export async function rollback(ctx: RunContext, trigger: Trigger): Promise<RollbackReport> {
  ctx.setPhase('rollback', trigger.reason);
  const topo = ctx.topology!;
  const steps: RollbackStepRun[] = [
    { name: 'remove-fault', critical: true, run: () => ctx.removeFault() },
    ...ctx.rollbackActions.map((a) => stepRun(ctx, a)),
  ];
  const report = await runRollback(steps, ctx.plan.rollbackPolicy, listener(ctx, trigger), ctx.deps.clock);
  // the fault is out: what remains for a watchdog is only what the steps changed
  if (report.faultRemoved && topo.rollbackPlan && ctx.undoRecords.length === 0) await recordUndo(ctx, []);
  if (!report.faultRemoved) {
    ctx.emit({
      type: 'error',
      fatal: true,
      message: `ROLLBACK FAILED: the fault may still be in place (${topo.driver.label}). Remove it by hand.`,
    });
  }
  return { ok: report.ok, faultRemoved: report.faultRemoved, failures: failuresOf(report) };
}

/**
 * The end of the run: what the rollback changed is put back (the primary serves again), newest
 * first, each retried; then the ledger has nothing left for a watchdog. A failure is reported
 * like a failed rollback step (exit 6): the system is not as the run found it.
 */
export async function restore(ctx: RunContext): Promise<{ ok: boolean; failures: string } | null> {
  if (ctx.undoRecords.length === 0) return null;
  ctx.setPhase('restore', `${ctx.undoRecords.length} change${ctx.undoRecords.length === 1 ? '' : 's'} to put back`);
  const records = [...ctx.undoRecords].reverse();
  const steps = records.map((r) => ({ name: describeUndo(r), critical: false, run: () => undo(r) }));
  const report = await runRollback(steps, ctx.plan.rollbackPolicy, listener(ctx), ctx.deps.clock);
  const left = records.filter((_, i) => !report.steps[i].ok).reverse();
  ctx.undoRecords = left;
  await recordUndo(ctx, left);
  if (!report.ok) ctx.emit({ type: 'error', fatal: true, message: `RESTORE FAILED: ${failuresOf(report)}; put it back by hand` });
  return { ok: report.ok, failures: failuresOf(report) };
}
