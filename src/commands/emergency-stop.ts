// gameday emergency-stop [--clear]: signal every live controller of this ledger on this host
// (EMERGENCY_STOP_SIGNAL), latch the stop in the ledger, and wait until each reports rolled back.
// Controllers on other hosts cannot be signalled: a PostgreSQL ledger notifies them in the latch's
// own transaction (NOTIFY gameday_stop), and every controller also reads the latch each tick.
// Exit 0: every running experiment reported stopped (or none was running) · 6: some did not report
// in time, or their controller is gone: faults may remain · 1: the ledger cannot be used (or the
// latch could not be set).
import { setTimeout as sleep } from 'node:timers/promises';
import { operatorName, thisHost } from '../budget/identity.ts';
import { LedgerError } from '../budget/ledger-error.ts';
import { EMERGENCY_STOP_SIGNAL, HEARTBEAT_STALE_MS, type ExperimentRow, type LedgerStore, type StopLatch } from '../budget/ledger-store.ts';
import { openLedger, type LedgerTarget } from '../budget/open-ledger.ts';
import { EXIT, type ExitCode } from '../errors/exit-codes.ts';
import { printError } from '../errors/report.ts';
import { pidAlive } from '../faults/pid.ts';
import { shownWriter } from './common.ts';

const EMERGENCY_STOP_TIMEOUT_MS = 30_000;

const whoAmI = (operator?: string): string => `${operatorName(operator)}@${thisHost()} (pid ${process.pid})`;

const describe = (e: ExperimentRow): string => `${e.id}  ${e.name}  (pid ${e.pid} on ${e.host}${e.operator ? `, ${e.operator}` : ''})`;

interface Outcome {
  stopped: boolean;
  text: string;
}

/** Where one experiment stands, or null while we should keep waiting. Times by the ledger's clock. */
function outcome(e: ExperimentRow | undefined, sentMs: number, nowMs: number, here: string): Outcome | null {
  if (!e) return { stopped: false, text: 'vanished from the ledger' };
  if (e.stopAckedMs !== null) return { stopped: true, text: `rolled back in ${Math.max(0, e.stopAckedMs - sentMs)} ms` };
  if (e.status === 'dead') return { stopped: false, text: 'controller declared dead: its faults may remain; run `gameday recover`' };
  if (e.status !== 'running') return { stopped: true, text: `finished (${e.status}) after ${Math.max(0, nowMs - sentMs)} ms` };
  if (e.host === here && !pidAlive(e.pid))
    return { stopped: false, text: 'controller exited without reporting: its faults may remain; run `gameday recover`' };
  return null;
}

/**
 * The latch matters more than one failed try: keep trying while another process holds the ledger
 * locked, or the database is briefly out of reach (a restart), until the deadline.
 */
async function latchWhileBusy(ledger: LedgerStore, by: string, deadlineMs: number): Promise<StopLatch> {
  for (;;) {
    try {
      return await ledger.setStopLatch(by);
    } catch (e) {
      if (!(e instanceof LedgerError) || Date.now() >= deadlineMs) throw e;
      await sleep(50);
    }
  }
}

type Writer = { write(text: string): unknown };

/** Signals this host's live controllers, each once; remembers which. `clockMs`: the ledger's clock now. */
function signaller(): { signal(experiments: ExperimentRow[], clockMs: number): void; readonly count: number } {
  const here = thisHost();
  const signalled = new Set<string>();
  return {
    signal(experiments, clockMs) {
      for (const e of experiments) {
        // Only a fresh heartbeat vouches that the pid is still our controller and not a reused pid
        // (the signal's default action would kill whatever else holds it).
        if (signalled.has(e.id) || e.host !== here || clockMs - e.heartbeatMs > HEARTBEAT_STALE_MS) continue;
        try {
          process.kill(e.pid, EMERGENCY_STOP_SIGNAL);
          signalled.add(e.id);
        } catch {
          // gone already: outcome() reports it
        }
      }
    },
    get count() {
      return signalled.size;
    },
  };
}

/**
 * Polls the ledger until every target has an outcome or the deadline passes. `clock` maps this
 * machine's time to the ledger's, so that acknowledgement times compare with when the stop was sent.
 */
async function awaitOutcomes(
  ledger: LedgerStore,
  targets: ExperimentRow[],
  clock: { sentMs: number; ledgerMs(): number },
  deadlineMs: number,
  pollMs: number,
): Promise<Map<string, Outcome>> {
  const here = thisHost();
  const results = new Map<string, Outcome>();
  for (;;) {
    for (const e of targets) {
      if (results.has(e.id)) continue;
      const o = outcome(await ledger.experiment(e.id), clock.sentMs, clock.ledgerMs(), here);
      if (o) results.set(e.id, o);
    }
    if (results.size === targets.length || Date.now() >= deadlineMs) return results;
    await sleep(pollMs);
  }
}

/** One line per experiment; how many did not report rolled back. */
function reportOutcomes(out: Writer, targets: ExperimentRow[], results: Map<string, Outcome>, timeoutMs: number): number {
  let failures = 0;
  for (const e of targets) {
    const o = results.get(e.id);
    if (o?.stopped) {
      out.write(`stopped       ${describe(e)}: ${o.text}\n`);
      continue;
    }
    failures++;
    const why =
      o?.text ?? `did not report within ${(timeoutMs / 1000).toFixed(1)} s: its faults may remain; check it, then run \`gameday recover\``;
    out.write(`NOT STOPPED   ${describe(e)}: ${why}\n`);
  }
  return failures;
}

/** The latch, said; a LedgerError (it could not be set) is told loudly and returned. */
async function latch(ledger: LedgerStore, by: string, deadlineMs: number, out: Writer, err: Writer): Promise<LedgerError | null> {
  try {
    const l = await latchWhileBusy(ledger, by, deadlineMs);
    out.write(
      `emergency stop latched (since ${new Date(l.atMs ?? Date.now()).toISOString()}, by ${l.by}): no experiment starts until \`gameday emergency-stop --clear\`\n`,
    );
    return null;
  } catch (e) {
    if (!(e instanceof LedgerError)) throw e;
    err.write(`gameday: THE EMERGENCY STOP IS NOT LATCHED: ${e.message}\n`);
    return e;
  }
}

/**
 * Signal first, latch second: the controllers on this host stop on the signal alone, and the latch
 * is a write that waits while another process holds the ledger locked. Reading the list of running
 * experiments never waits (WAL readers do not block on writers; PostgreSQL's readers neither).
 */
async function stopAll(ledger: LedgerStore, by: string, out: Writer, err: Writer, timing: { timeoutMs: number; pollMs: number }) {
  const { timeoutMs, pollMs } = timing;
  const localSentMs = Date.now();
  const sentMs = await ledger.clockMs();
  const clock = { sentMs, ledgerMs: () => sentMs + (Date.now() - localSentMs) };
  const signals = signaller();
  const first = await ledger.runningExperiments();
  signals.signal(first, clock.ledgerMs());
  const latchError = await latch(ledger, by, localSentMs + timeoutMs, out, err);
  // Whoever registered between the first read and the latch is signalled too; whoever finished
  // meanwhile (the lock held the latch up) is still reported.
  const again = await ledger.runningExperiments();
  signals.signal(again, clock.ledgerMs());
  const targets = [...first, ...again.filter((e) => !first.some((f) => f.id === e.id))];
  if (targets.length === 0) {
    out.write('no running experiments\n');
    return latchError ? EXIT.failed : EXIT.ok;
  }
  const notified = ledger.backend === 'postgres' ? ', and notified every host (NOTIFY gameday_stop)' : '';
  out.write(
    `signalled ${signals.count} of ${targets.length} running experiment${targets.length === 1 ? '' : 's'} (${EMERGENCY_STOP_SIGNAL})${notified}; ` +
      `waiting up to ${(timeoutMs / 1000).toFixed(1)} s for each to roll back\n`,
  );
  const results = await awaitOutcomes(ledger, targets, clock, localSentMs + timeoutMs, pollMs);
  const failures = reportOutcomes(out, targets, results, timeoutMs);
  if (failures > 0) {
    err.write(`gameday: ${failures} of ${targets.length} experiment${targets.length === 1 ? '' : 's'} did not report rolled back\n`);
    return EXIT.faultsMayRemain;
  }
  // Everything stopped, but nothing keeps new experiments from starting: not a success.
  return latchError ? EXIT.failed : EXIT.ok;
}

export async function emergencyStopCommand(opts: {
  ledger: LedgerTarget;
  clear: boolean;
  /** who stops them (default $USER), recorded with the latch */
  operator?: string;
  timeoutMs?: number;
  pollMs?: number;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}): Promise<ExitCode> {
  // names, hosts and who latched come from the ledger: redacted, control characters shown as escapes
  const out = shownWriter(opts.out ?? process.stdout);
  const err = shownWriter(opts.err ?? process.stderr);
  let ledger: LedgerStore | undefined;
  try {
    ledger = await openLedger(opts.ledger);
    if (opts.clear) {
      const was = await ledger.clearStopLatch();
      out.write(was ? 'emergency stop cleared: experiments may start again\n' : 'the emergency stop was not latched\n');
      return EXIT.ok;
    }
    const timing = { timeoutMs: opts.timeoutMs ?? EMERGENCY_STOP_TIMEOUT_MS, pollMs: opts.pollMs ?? 50 };
    return await stopAll(ledger, whoAmI(opts.operator), out, err, timing);
  } catch (e) {
    return printError(e, err);
  } finally {
    await ledger?.close();
  }
}
