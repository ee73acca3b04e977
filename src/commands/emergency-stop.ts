// gameday emergency-stop [--clear]: signal every live controller of this state dir on this host
// (EMERGENCY_STOP_SIGNAL), latch the stop in the ledger, and wait until each reports rolled back.
// Controllers on other hosts cannot be signalled; they see the latch on their next tick.
// Exit 0: every running experiment reported stopped (or none was running) · 6: some did not report
// in time, or their controller is gone: faults may remain · 1: the ledger cannot be used (or the
// latch could not be set).
import { hostname, userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { EMERGENCY_STOP_SIGNAL, HEARTBEAT_STALE_MS, Ledger, LedgerError, type ExperimentRow, type StopLatch } from '../budget/ledger.ts';
import { EXIT, type ExitCode } from '../errors/exit-codes.ts';
import { printError } from '../errors/report.ts';
import { pidAlive } from '../faults/pid.ts';
import { shownWriter } from './common.ts';

const EMERGENCY_STOP_TIMEOUT_MS = 30_000;

function whoAmI(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): keep $USER
  }
  return `${user}@${hostname()} (pid ${process.pid})`;
}

const describe = (e: ExperimentRow): string => `${e.id}  ${e.name}  (pid ${e.pid} on ${e.host})`;

interface Outcome {
  stopped: boolean;
  text: string;
}

/** Where one experiment stands, or null while we should keep waiting. */
function outcome(e: ExperimentRow | undefined, sentMs: number, nowMs: number, thisHost: string): Outcome | null {
  if (!e) return { stopped: false, text: 'vanished from the ledger' };
  if (e.stopAckedMs !== null) return { stopped: true, text: `rolled back in ${Math.max(0, e.stopAckedMs - sentMs)} ms` };
  if (e.status === 'dead') return { stopped: false, text: 'controller declared dead: its faults may remain; run `gameday recover`' };
  if (e.status !== 'running') return { stopped: true, text: `finished (${e.status}) after ${Math.max(0, nowMs - sentMs)} ms` };
  if (e.host === thisHost && !pidAlive(e.pid))
    return { stopped: false, text: 'controller exited without reporting: its faults may remain; run `gameday recover`' };
  return null;
}

/** The latch matters more than one busy timeout: keep trying while another process holds the ledger. */
function latchWhileBusy(ledger: Ledger, by: string, deadlineMs: number): StopLatch {
  for (;;) {
    try {
      return ledger.setStopLatch(by);
    } catch (e) {
      const code = (e as { cause?: { code?: unknown } }).cause?.code;
      const busy = e instanceof LedgerError && typeof code === 'string' && code.startsWith('SQLITE_BUSY');
      if (!busy || Date.now() >= deadlineMs) throw e;
    }
  }
}

type Writer = { write(text: string): unknown };

/** Signals this host's live controllers, each once; remembers which. */
function signaller(): { signal(experiments: ExperimentRow[]): void; readonly count: number } {
  const thisHost = hostname();
  const signalled = new Set<string>();
  return {
    signal(experiments) {
      for (const e of experiments) {
        // Only a fresh heartbeat vouches that the pid is still our controller and not a reused pid
        // (the signal's default action would kill whatever else holds it).
        if (signalled.has(e.id) || e.host !== thisHost || Date.now() - e.heartbeatMs > HEARTBEAT_STALE_MS) continue;
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

/** Polls the ledger until every target has an outcome or the deadline passes. */
async function awaitOutcomes(
  ledger: Ledger,
  targets: ExperimentRow[],
  sentMs: number,
  deadlineMs: number,
  pollMs: number,
): Promise<Map<string, Outcome>> {
  const thisHost = hostname();
  const results = new Map<string, Outcome>();
  for (;;) {
    const nowMs = Date.now();
    for (const e of targets) {
      if (results.has(e.id)) continue;
      const o = outcome(ledger.experiment(e.id), sentMs, nowMs, thisHost);
      if (o) results.set(e.id, o);
    }
    if (results.size === targets.length || nowMs >= deadlineMs) return results;
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
function latch(ledger: Ledger, deadlineMs: number, out: Writer, err: Writer): LedgerError | null {
  try {
    const l = latchWhileBusy(ledger, whoAmI(), deadlineMs);
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
 * experiments never waits (WAL readers do not block on writers).
 */
async function stopAll(ledger: Ledger, out: Writer, err: Writer, timeoutMs: number, pollMs: number): Promise<ExitCode> {
  const sentMs = Date.now();
  const signals = signaller();
  const first = ledger.runningExperiments();
  signals.signal(first);
  const latchError = latch(ledger, sentMs + timeoutMs, out, err);
  // Whoever registered between the first read and the latch is signalled too; whoever finished
  // meanwhile (the lock held the latch up) is still reported.
  const again = ledger.runningExperiments();
  signals.signal(again);
  const targets = [...first, ...again.filter((e) => !first.some((f) => f.id === e.id))];
  if (targets.length === 0) {
    out.write('no running experiments\n');
    return latchError ? EXIT.failed : EXIT.ok;
  }
  out.write(
    `signalled ${signals.count} of ${targets.length} running experiment${targets.length === 1 ? '' : 's'} (${EMERGENCY_STOP_SIGNAL}); ` +
      `waiting up to ${(timeoutMs / 1000).toFixed(1)} s for each to roll back\n`,
  );
  const results = await awaitOutcomes(ledger, targets, sentMs, sentMs + timeoutMs, pollMs);
  const failures = reportOutcomes(out, targets, results, timeoutMs);
  if (failures > 0) {
    err.write(`gameday: ${failures} of ${targets.length} experiment${targets.length === 1 ? '' : 's'} did not report rolled back\n`);
    return EXIT.faultsMayRemain;
  }
  // Everything stopped, but nothing keeps new experiments from starting: not a success.
  return latchError ? EXIT.failed : EXIT.ok;
}

export async function emergencyStopCommand(opts: {
  stateDir: string;
  clear: boolean;
  timeoutMs?: number;
  pollMs?: number;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}): Promise<ExitCode> {
  // names, hosts and who latched come from the ledger: redacted, control characters shown as escapes
  const out = shownWriter(opts.out ?? process.stdout);
  const err = shownWriter(opts.err ?? process.stderr);
  let ledger: Ledger | undefined;
  try {
    ledger = Ledger.open(opts.stateDir);
    if (opts.clear) {
      const was = ledger.clearStopLatch();
      out.write(was ? 'emergency stop cleared: experiments may start again\n' : 'the emergency stop was not latched\n');
      return EXIT.ok;
    }
    return await stopAll(ledger, out, err, opts.timeoutMs ?? EMERGENCY_STOP_TIMEOUT_MS, opts.pollMs ?? 50);
  } catch (e) {
    return printError(e, err);
  } finally {
    ledger?.close();
  }
}
