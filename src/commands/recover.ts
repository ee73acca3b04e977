// gameday recover: roll back experiments whose controller died.
// Exit 0: nothing left to roll back · 6: a rollback failed, faults may remain · 1: the ledger
// cannot be used (a LedgerError).
import type { LedgerStore } from '../budget/ledger-store.ts';
import { ledgerMayExist, ledgerTarget, openLedger, type LedgerTarget } from '../budget/open-ledger.ts';
import { describeClaim, describeOtherHost, recoverDead } from '../engine/recovery.ts';
import { EXIT, type ExitCode } from '../errors/exit-codes.ts';
import { printError } from '../errors/report.ts';
import { printable } from '../headless/printable.ts';
import { makeRedactor } from '../headless/redact.ts';
import { loadConfig } from '../config/load.ts';
import { resolveOpenAlerts } from '../telemetry/alertmanager.ts';

export async function recoverCommand(
  // alertmanager: the config's (undefined: read from the environment, GAMEDAY_ALERTMANAGER_URL)
  opts: { stateDir: string; ledger?: LedgerTarget; alertmanager?: { urls: string[]; resendEveryMs: number } | null },
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<ExitCode> {
  // a rollback command's output may carry a token, and names and stderr may hold ESC or newlines:
  // people see it redacted, one line each
  const redact = makeRedactor();
  const say = (line: string) => out.write(printable(redact(line)) + '\n');
  const target = opts.ledger ?? ledgerTarget(opts.stateDir, undefined);
  let ledger: LedgerStore;
  try {
    if (!ledgerMayExist(target)) {
      say(`no ledger in ${opts.stateDir}: nothing to recover`);
      return EXIT.ok;
    }
    ledger = await openLedger(target);
  } catch (e) {
    return printError(e, err);
  }
  try {
    const { dead, results, claimedElsewhere, otherHosts } = await recoverDead(ledger);
    for (const d of dead) say(`marked dead: ${d} — its reservation counts as spent`);
    for (const r of results) say(`${r.ok ? 'rolled back' : 'ROLLBACK FAILED'}: ${r.name} (${r.id}) — ${r.detail}`);
    // not a failure here: its executor reports the outcome, and releases the claim if it fails
    for (const c of claimedElsewhere) say(`not run here: ${describeClaim(c)}`);
    // not run from here (its commands act on the machine that injected the fault), and not this command's failure
    for (const o of otherHosts) say(`not run here: ${describeOtherHost(o)}`);
    if (!dead.length && !results.length && !claimedElsewhere.length && !otherHosts.length) say('nothing to recover');
    // earlier runs' GamedayRollbackFailed, for experiments with nothing left to roll back
    const am = opts.alertmanager === undefined ? alertmanagerFromEnv() : opts.alertmanager;
    if (am) await resolveOpenAlerts(opts.stateDir, new Set((await ledger.awaitingRollback()).map((r) => r.id)), am, { redact, tell: say });
    return results.every((r) => r.ok) ? EXIT.ok : EXIT.faultsMayRemain;
  } catch (e) {
    return printError(e, err);
  } finally {
    await ledger.close();
  }
}

function alertmanagerFromEnv(): { urls: string[]; resendEveryMs: number } | null {
  const am = loadConfig().alertmanager;
  return am ? { urls: am.urls, resendEveryMs: am.resendEvery } : null;
}
