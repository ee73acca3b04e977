// gameday run: resolve the plan, open the ledger, recover dead experiments, run one experiment with a
// face (the control room, or text/NDJSON when headless), write the journal, exit with its code.
import { thisHost } from '../budget/identity.ts';
// `gameday emergency-stop` signals this host's controllers with EMERGENCY_STOP_SIGNAL, a PostgreSQL
// ledger notifies every host's (watchStop), and each controller also reads the latch every tick.
import { ledgerIdentity, registerController } from '../budget/controller-registry.ts';
import { EMERGENCY_STOP_SIGNAL, type ExperimentHandle, type LedgerStore } from '../budget/ledger-store.ts';
import { ledgerTarget, openLedger } from '../budget/open-ledger.ts';
import { resolveStateDir } from '../budget/state-dir.ts';
import { describePlan, resolveRunPlan, type RunFlags, type RunPlan } from '../config/plan.ts';
import type { ControllerLink } from '../engine/run.ts';
import { ExperimentRun } from '../engine/run.ts';
import { describeClaim, describeOtherHost, recoverDead } from '../engine/recovery.ts';
import { spawnWatchdog } from '../engine/watchdog.ts';
import { checkJournalPath, defaultJournalPath, JournalWriter } from '../headless/journal.ts';
import { ndjsonReporter } from '../headless/ndjson-reporter.ts';
import { makeRedactor, registerSecretsIn } from '../headless/redact.ts';
import { runsHeadless } from '../headless/face-choice.ts';
import { guardedOutput } from '../headless/output.ts';
import { formatSummary, textReporter } from '../headless/text-reporter.ts';
import { createGamedayStore, storeFace, type GamedayStore } from '../state/store.ts';
import type { DeliveryResult } from '../telemetry/alerts.ts';
import { alertmanagerFace, type AlertmanagerNotifier } from '../telemetry/alertmanager.ts';
import { RunMetrics } from '../telemetry/metrics.ts';
import { openAlertsToResolve } from '../telemetry/open-alerts.ts';
import { shownWriter } from './common.ts';
import { ledgerOpenError, runError } from './run-errors.ts';

export interface RunCommandOptions extends RunFlags {
  headless?: boolean;
  output?: string;
  journal?: string;
}

function linkFor(handle: ExperimentHandle, ledger: LedgerStore, stateDir: string, ledgerUrl: string | null): ControllerLink {
  let watchdog: number | undefined;
  return {
    heartbeat: (phase) => handle.heartbeat(phase),
    stopLatched: async () => (await ledger.stopLatch()).latched,
    setRollbackPlan: async (plan) => {
      await handle.setRollbackPlan(plan);
      // The plan is in the ledger; now somebody outside this process must be watching it.
      if (plan && watchdog === undefined) watchdog = spawnWatchdog(stateDir, handle.id, ledgerUrl);
    },
    ackStopped: () => handle.ackStopped(),
  };
}

/**
 * Signals are caught from before the experiment is registered: a stop that arrives early is
 * remembered and handed to the run as soon as it exists.
 */
function catchSignals(): { attach(run: ExperimentRun): void; release(): void } {
  let run: ExperimentRun | null = null;
  let pending: ((r: ExperimentRun) => void) | null = null;
  const deliver = (action: (r: ExperimentRun) => void) => () => {
    if (run) action(run);
    else pending = action;
  };
  const handlers: [NodeJS.Signals, () => void][] = [
    ['SIGINT', deliver((r) => r.signal('SIGINT'))],
    ['SIGTERM', deliver((r) => r.signal('SIGTERM'))],
    ['SIGHUP', deliver((r) => r.signal('SIGHUP'))],
    [EMERGENCY_STOP_SIGNAL, deliver((r) => r.emergencyStop('emergency-stop command'))],
  ];
  for (const [sig, h] of handlers) process.on(sig, h);
  return {
    attach(r) {
      run = r;
      pending?.(r);
    },
    release: () => {
      for (const [sig, h] of handlers) process.off(sig, h);
    },
  };
}

type Writer = { write(text: string): unknown };

/** Dead controllers first: their reservations count as spent, their faults are rolled back. */
async function recoverFirst(ledger: LedgerStore, stderr: Writer): Promise<void> {
  const recovered = await recoverDead(ledger);
  for (const d of recovered.dead) stderr.write(`gameday: a controller died: ${d}; its reservation counts as spent\n`);
  for (const r of recovered.results)
    stderr.write(`gameday: ${r.ok ? 'rolled back' : 'ROLLBACK FAILED for'} dead experiment ${r.name} (${r.id}): ${r.detail}\n`);
  for (const c of recovered.claimedElsewhere) stderr.write(`gameday: dead experiment ${describeClaim(c)}; not run here\n`);
  for (const o of recovered.otherHosts) stderr.write(`gameday: ${describeOtherHost(o)}\n`);
}

interface Faces {
  /** the control room's state, built from the events like every other face's */
  store: GamedayStore | null;
  room: { waitUntilExit(): Promise<void> } | null;
  metrics: RunMetrics | null;
  alerts: AlertmanagerNotifier | null;
}

/** /metrics, then the control room or the headless output: every face subscribes to the events. */
async function attachFaces(
  run: ExperimentRun,
  plan: RunPlan,
  opts: RunCommandOptions,
  redact: (t: string) => string,
  own: { stateDir: string; experimentId: string },
): Promise<Faces> {
  const faces: Faces = { store: null, room: null, metrics: null, alerts: null };
  if (plan.metrics.port !== 0) {
    const metrics = new RunMetrics(plan.slo);
    run.onEvent(metrics.observe);
    if (await metrics.listen(plan.metrics.host, plan.metrics.port)) faces.metrics = metrics;
    else run.addNote(`metrics port ${plan.metrics.host}:${plan.metrics.port} is taken: no /metrics for this run (use --metrics-port)`);
  }
  if (plan.alertmanager) {
    const stderr = shownWriter(process.stderr, redact);
    const count = (r: DeliveryResult) => faces.metrics?.countNotification(r);
    faces.alerts = alertmanagerFace(run, plan.alertmanager, { ...own, experiment: plan.name, redact, stderr, count });
  }
  if (runsHeadless(Boolean(opts.headless))) {
    const sink = guardedOutput(process.stdout, (code) => run.signal(code, `standard output closed (${code}): nobody is watching`));
    run.onEvent(opts.output === 'json' ? ndjsonReporter(sink, redact) : textReporter(sink, redact));
  } else {
    faces.store = createGamedayStore();
    run.onEvent(storeFace(faces.store));
    const { renderControlRoom } = await import('../../components/render-control-room.tsx');
    faces.room = renderControlRoom({ store: faces.store, controls: run });
  }
  return faces;
}

/** Registers the experiment and opens its journal: the run's first listener, so every face sees what it recorded. */
async function prepare(ledger: LedgerStore, plan: RunPlan, opts: RunCommandOptions, stateDir: string, redact: (t: string) => string) {
  const handle = await ledger.registerExperiment({
    // budget-status and emergency-stop print it, maybe in a shell that does not know the secret
    name: redact(plan.name),
    pid: process.pid,
    host: thisHost(),
    operator: redact(plan.operator),
    experimentCapUsd: plan.budget.experimentCapUsd,
    dailyCapUsd: plan.budget.dailyCapUsd,
    costPerRequestUsd: plan.budget.costPerRequestUsd,
  });
  const journalPath = opts.journal ?? defaultJournalPath(stateDir, handle.id);
  const head = { experimentId: handle.id, name: plan.name, startedAt: new Date().toISOString(), plan: describePlan(plan) };
  const journal = JournalWriter.open(journalPath, head, redact, { stateDir, createDir: opts.journal === undefined });
  const run = new ExperimentRun({
    plan,
    experimentId: handle.id,
    budget: handle,
    link: linkFor(handle, ledger, stateDir, plan.ledgerUrl),
    // read when the summary is made: no journal is named once journaling has failed
    journalPath: () => (journal.problem ? null : journalPath),
  });
  run.onEvent((e) => {
    journal.record(e);
    // the faces print a summary that names the journal only if it is whole
    if (e.type === 'summary' && !journal.complete) e.journalPath = null;
  });
  return { handle, journal, journalPath, run };
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
  // Signals are caught before the ledger opens: a stop that comes while it connects is kept for the run.
  const signals = catchSignals();
  let ledger: LedgerStore;
  try {
    ledger = await openLedger(ledgerTarget(stateDir, plan.ledgerUrl ?? undefined));
  } catch (err) {
    signals.release();
    throw ledgerOpenError(err);
  }
  // From here `gameday emergency-stop` on this machine signals us before it opens the ledger. Only
  // now: a run refused for its ledger leaves nothing in the state dir.
  const unregister = registerController(stateDir, ledgerIdentity(stateDir, plan.ledgerUrl));
  const redact = makeRedactor();
  let started = false;
  let stopWatch: { close(): Promise<void> } | null = null;
  try {
    await recoverFirst(ledger, stderr);
    const { handle, journal, journalPath, run } = await prepare(ledger, plan, opts, stateDir, redact);
    // the latch set on any machine stops this run at once (PostgreSQL: NOTIFY); the tick's read of it stays as the fallback
    stopWatch = await ledger.watchStop((by) => run.emergencyStop(`emergency stop (latched by ${by})`));
    const faces = await attachFaces(run, plan, opts, redact, { stateDir, experimentId: handle.id });
    // earlier runs' GamedayRollbackFailed: resolved where nothing is left to roll back
    if (faces.alerts)
      faces.alerts.resolveLeftovers(await openAlertsToResolve(stateDir, new Set((await ledger.awaitingRollback()).map((r) => r.id))));
    signals.attach(run);
    started = true;
    const summary = await run.run();
    if (!journal.complete) {
      journal.close();
      summary.journalPath = null;
      faces.store?.setState({ summary: { ...summary } });
      stderr.write(`gameday: ${journal.problem ?? `journal ${journalPath} has no summary`}\n`);
    }
    try {
      await handle.finish(summary.status, summary.requests);
    } catch (err) {
      // The fault is handled; the ledger keeps this run's reservation, and the next run counts it as spent.
      stderr.write(`gameday: could not record the result in the ledger: ${(err as Error).message}\n`);
    }
    // the resolve of GamedayExperimentActive goes out before the process does (bounded: close() waits ≤ 2.5 s)
    await Promise.all([faces.metrics?.close(), faces.alerts?.close()]);
    if (faces.room) {
      await faces.room.waitUntilExit();
      // The control room is gone from the screen: leave the result where the shell can see it.
      process.stdout.write(redact(formatSummary(summary)) + '\n');
    }
    return summary.exitCode;
  } catch (err) {
    // what it means depends on how far the run got (run-errors.ts); cli.ts prints it
    throw runError(err, started);
  } finally {
    signals.release();
    unregister();
    await stopWatch?.close();
    await ledger.close();
  }
}
