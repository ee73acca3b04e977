// gameday drill FILE: an experiment's rollback steps alone — no fault, no traffic, no money — so a
// team proves its way back in staging before the game day. Each step is checked, then run (with
// the run's retries), and what a step changed (a traffic shift) is put back at the end, newest
// first: a drill leaves the system as it found it. Exit 0: every step worked · 6: one did not
// (or could not be put back) · 1: the file is not valid.
import { resolveRunPlan } from '../config/plan.ts';
import { EXIT, type ExitCode } from '../errors/exit-codes.ts';
import { runWithRetries, type RollbackPolicy } from '../engine/rollback.ts';
import { printable } from '../headless/printable.ts';
import { makeRedactor, redactedJson, registerSecretsIn } from '../headless/redact.ts';
import { undoFirst, type UndoRecord } from '../rollback/action.ts';
import { rollbackAction } from '../rollback/steps.ts';
import { describeUndo, undo } from '../rollback/undo.ts';

interface StageResult {
  ok: boolean;
  durationMs: number;
  attempts?: number;
  error?: string;
}

/** What `drill --json` prints: stable for scripts, fields only ever added. */
interface DrillReport {
  experiment: string;
  ok: boolean;
  steps: Array<{ name: string; check: StageResult; run: StageResult | null }>;
  undo: Array<{ name: string } & StageResult>;
}

async function timed(fn: () => Promise<unknown>): Promise<StageResult> {
  const startedMs = performance.now();
  try {
    await fn();
    return { ok: true, durationMs: Math.round(performance.now() - startedMs) };
  } catch (err) {
    return { ok: false, durationMs: Math.round(performance.now() - startedMs), error: (err as Error).message };
  }
}

async function drill(name: string, steps: ReturnType<typeof rollbackAction>[], policy: RollbackPolicy): Promise<DrillReport> {
  const report: DrillReport = { experiment: name, ok: true, steps: [], undo: [] };
  const records: UndoRecord[] = [];
  for (const action of steps) {
    const check = await timed(() => action.check());
    let run: StageResult | null = null;
    if (check.ok) {
      const step = { name: action.name, critical: false, run: undoFirst(action, (r) => void records.push(r)) };
      const o = await runWithRetries(step, policy, () => {});
      run = { ok: o.ok, durationMs: Math.round(o.durationMs), attempts: o.attempts, ...(o.error ? { error: o.error } : {}) };
    }
    report.steps.push({ name: action.name, check, run });
  }
  for (const record of records.reverse()) {
    const o = await runWithRetries({ name: describeUndo(record), critical: true, run: () => undo(record) }, policy, () => {});
    report.undo.push({
      name: o.name,
      ok: o.ok,
      durationMs: Math.round(o.durationMs),
      attempts: o.attempts,
      ...(o.error ? { error: o.error } : {}),
    });
  }
  report.ok = report.steps.every((s) => s.check.ok && s.run?.ok) && report.undo.every((u) => u.ok);
  return report;
}

const stage = (label: string, name: string, r: StageResult): string =>
  `  ${label.padEnd(6)}${r.ok ? 'ok    ' : 'FAILED'}  ${String(r.durationMs).padStart(6)} ms  ${name}${r.attempts && r.attempts > 1 ? ` (${r.attempts} attempts)` : ''}${r.error ? `: ${r.error}` : ''}`;

function formatDrill(r: DrillReport): string {
  const lines = [`drill "${r.experiment}": ${r.steps.length} rollback step${r.steps.length === 1 ? '' : 's'}, no fault, no traffic`];
  for (const s of r.steps) {
    lines.push(stage('check', s.name, s.check));
    if (s.run) lines.push(stage('run', s.name, s.run));
  }
  for (const u of r.undo) lines.push(stage('undo', u.name, u));
  const failed = r.steps.filter((s) => !s.check.ok || !s.run?.ok).length + r.undo.filter((u) => !u.ok).length;
  lines.push(r.ok ? 'drill: every step worked' : `drill: ${failed} step${failed === 1 ? '' : 's'} FAILED: this rollback would not work`);
  return lines.join('\n') + '\n';
}

export async function drillCommand(
  file: string,
  opts: { config?: string; json?: boolean },
  out: NodeJS.WritableStream = process.stdout,
): Promise<ExitCode> {
  // every problem by field path: a ConfigError, printed by cli.ts (exit 1)
  const plan = resolveRunPlan({ experiment: file, config: opts.config });
  registerSecretsIn(plan);
  if (plan.rollback.length === 0) {
    out.write(
      printable(
        makeRedactor()(
          `${file}: no rollback steps to drill (rollback: [] — only the fault's own restore, which a drill cannot run without injecting)`,
        ),
      ) + '\n',
    );
    return EXIT.ok;
  }
  const report = await drill(
    plan.name,
    plan.rollback.map((s) => rollbackAction(s, null)),
    plan.rollbackPolicy,
  );
  const redact = makeRedactor();
  out.write(opts.json ? redactedJson(report, redact, 2) + '\n' : printable(redact(formatDrill(report)), { lines: true }));
  return report.ok ? EXIT.ok : EXIT.faultsMayRemain;
}
