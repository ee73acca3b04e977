// gameday run: resolve the plan, open the ledger, recover dead experiments, run one experiment with a
// face (the control room, or text/NDJSON when headless), write the journal, exit with its code.
import { hostname } from 'node:os';
// `gameday emergency-stop` signals live controllers with EMERGENCY_STOP_SIGNAL; they also read the latch each tick.
import { EMERGENCY_STOP_SIGNAL, Ledger, type ExperimentHandle } from '../budget/ledger.ts';
import { resolveStateDir } from '../budget/state-dir.ts';
import { describePlan, resolveRunPlan, type RunFlags } from '../config/plan.ts';
import type { ControllerLink } from '../engine/run.ts';
import { ExperimentRun } from '../engine/run.ts';
import { describeClaim, recoverDead } from '../engine/recovery.ts';
import { spawnWatchdog } from '../engine/watchdog.ts';
import { checkJournalPath, defaultJournalPath, JournalWriter } from '../headless/journal.ts';
import { ndjsonReporter } from '../headless/ndjson-reporter.ts';
import { makeRedactor, registerSecretsIn } from '../headless/redact.ts';
import { runsHeadless } from '../headless/face-choice.ts';
import { guardedOutput } from '../headless/output.ts';
import { formatSummary, textReporter } from '../headless/text-reporter.ts';
import { createGamedayStore, storeFace, type GamedayStore } from '../state/store.ts';
import { RunMetrics } from '../telemetry/metrics.ts';
import { shownWriter } from './common.ts';
import { ledgerOpenError, runError } from './run-errors.ts';

export interface RunCommandOptions extends RunFlags {
  headless?: boolean;
  output?: string;
  journal?: string;
}

function linkFor(handle: ExperimentHandle, ledger: Ledger, stateDir: string): ControllerLink {
  let watchdog: number | undefined;
  return {
    heartbeat: (phase) => handle.heartbeat(phase),
    stopLatched: () => ledger.stopLatch().latched,
    setRollbackPlan: async (plan) => {
      await handle.setRollbackPlan(plan);
      // The plan is in the ledger; now somebody outside this process must be watching it.
      if (plan && watchdog === undefined) watchdog = spawnWatchdog(stateDir, handle.id);
    },
    ackStopped: () => handle.ackStopped(),
  };
}

export async function runExperimentCommand(opts: RunCommandOptions): Promise<number> {
  // every message below may echo a URL, a name or a command's stderr: redacted, control characters shown
  const stderr = shownWriter(process.stderr);
  // A ConfigError here goes up to cli.ts (exit 1): nothing is touched yet.
  const plan = resolveRunPlan(opts);
  // Before the ledger is opened: a journal that cannot be written, or is the ledger, costs nothing.
  checkJournalPath(opts.journal, resolveStateDir(plan.stateDir));
  // the experiment file's URLs too (the command line and environment are registered already)
  registerSecretsIn(plan);

  // Fail closed: without a readable ledger there is no budget, so nothing runs.
  const stateDir = resolveStateDir(plan.stateDir);
  let ledger: Ledger;
  try {
    ledger = Ledger.open(stateDir);
  } catch (err) {
    throw ledgerOpenError(err);
  }

  // Signals are caught from here on, before the experiment is registered: a stop that arrives
  // early is remembered and handed to the run as soon as it exists.
  let run: ExperimentRun | null = null;
  let pending: (() => void) | null = null;
  const deliver = (action: (r: ExperimentRun) => void) => () => {
    if (run) action(run);
    else pending = () => action(run!);
  };
  const handlers: [NodeJS.Signals, () => void][] = [
    ['SIGINT', deliver((r) => r.signal('SIGINT'))],
    ['SIGTERM', deliver((r) => r.signal('SIGTERM'))],
    ['SIGHUP', deliver((r) => r.signal('SIGHUP'))],
    [EMERGENCY_STOP_SIGNAL, deliver((r) => r.emergencyStop('emergency-stop command'))],
  ];
  for (const [sig, h] of handlers) process.on(sig, h);

  const redact = makeRedactor();
  const headless = runsHeadless(Boolean(opts.headless));
  const out = process.stdout;
  let started = false;
  try {
    const recovered = await recoverDead(ledger);
    for (const d of recovered.dead) stderr.write(`gameday: a controller died: ${d}; its reservation counts as spent\n`);
    // a rollback command's output may carry a token
    for (const r of recovered.results) stderr.write(redact(`gameday: ${r.ok ? 'rolled back' : 'ROLLBACK FAILED for'} dead experiment ${r.name} (${r.id}): ${r.detail}`) + '\n');
    for (const c of recovered.claimedElsewhere) stderr.write(redact(`gameday: dead experiment ${describeClaim(c)}; not run here`) + '\n');

    const handle = ledger.registerExperiment({
      // budget-status and emergency-stop print it, maybe in a shell that does not know the secret
      name: redact(plan.name),
      pid: process.pid,
      host: hostname(),
      experimentCapUsd: plan.budget.experimentCapUsd,
      dailyCapUsd: plan.budget.dailyCapUsd,
      costPerRequestUsd: plan.budget.costPerRequestUsd,
    });
    const journalPath = opts.journal ?? defaultJournalPath(stateDir, handle.id);
    const journal = JournalWriter.open(journalPath, { experimentId: handle.id, name: plan.name, startedAt: new Date().toISOString(), plan: describePlan(plan) }, redact, {
      stateDir,
      createDir: opts.journal === undefined,
    });
    const experiment = new ExperimentRun({
      plan,
      experimentId: handle.id,
      budget: handle,
      link: linkFor(handle, ledger, stateDir),
      // read when the summary is made: no journal is named once journaling has failed
      journalPath: () => (journal.problem ? null : journalPath),
    });
    run = experiment;
    // First listener, so the faces print a summary that names the journal only if it is whole.
    run.onEvent((e) => {
      journal.record(e);
      if (e.type === 'summary' && !journal.complete) e.journalPath = null;
    });

    let metrics: RunMetrics | null = null;
    if (plan.metrics.port !== 0) {
      metrics = new RunMetrics(plan.slo);
      run.onEvent(metrics.observe);
      const addr = await metrics.listen(plan.metrics.host, plan.metrics.port);
      if (!addr) {
        run.addNote(`metrics port ${plan.metrics.host}:${plan.metrics.port} is taken: no /metrics for this run (use --metrics-port)`);
        metrics = null;
      }
    }

    let face: { waitUntilExit(): Promise<void>; unmount(): void } | null = null;
    // the control room's state, built from the events like every other face's
    let store: GamedayStore | null = null;
    if (headless) {
      const sink = guardedOutput(out, (code) => experiment.signal(code, `standard output closed (${code}): nobody is watching`));
      run.onEvent(opts.output === 'json' ? ndjsonReporter(sink, redact) : textReporter(sink, redact));
    } else {
      store = createGamedayStore();
      run.onEvent(storeFace(store));
      const { renderControlRoom } = await import('../../components/render-control-room.tsx');
      face = renderControlRoom({ store, controls: run });
    }

    (pending as (() => void) | null)?.();
    started = true;
    const summary = await run.run();
    if (!journal.complete) {
      journal.close();
      summary.journalPath = null;
      store?.setState({ summary: { ...summary } });
      stderr.write(redact(`gameday: ${journal.problem ?? `journal ${journalPath} has no summary`}`) + '\n');
    }
    try {
      await handle.finish(summary.status, summary.requests);
    } catch (err) {
      // The fault is handled; the ledger keeps this run's reservation, and the next run counts it as spent.
      stderr.write(`gameday: could not record the result in the ledger: ${(err as Error).message}\n`);
    }
    await metrics?.close();
    if (face) {
      await face.waitUntilExit();
      // The control room is gone from the screen: leave the result where the shell can see it.
      out.write(redact(formatSummary(summary)) + '\n');
    }
    return summary.exitCode;
  } catch (err) {
    // what it means depends on how far the run got (run-errors.ts); cli.ts prints it
    throw runError(err, started);
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
    ledger.close();
  }
}
