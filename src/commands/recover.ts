// gameday recover: roll back experiments whose controller died.
import { Ledger } from '../budget/ledger.ts';
import { ledgerErrorExit } from './common.ts';
import { describeClaim, recoverDead } from '../engine/recovery.ts';
import { printable } from '../headless/printable.ts';
import { makeRedactor } from '../headless/redact.ts';

export async function recoverCommand(opts: { stateDir: string }, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  // a rollback command's output may carry a token, and names and stderr may hold ESC or newlines:
  // people see it redacted, one line each
  const redact = makeRedactor();
  const say = (line: string) => out.write(printable(redact(line)) + '\n');
  let ledger: Ledger;
  try {
    if (!Ledger.exists(opts.stateDir)) {
      say(`no ledger in ${opts.stateDir}: nothing to recover`);
      return 0;
    }
    ledger = Ledger.open(opts.stateDir);
  } catch (e) {
    return ledgerErrorExit(e, err);
  }
  try {
    const { dead, results, claimedElsewhere } = await recoverDead(ledger);
    for (const d of dead) say(`marked dead: ${d} — its reservation counts as spent`);
    for (const r of results) say(`${r.ok ? 'rolled back' : 'ROLLBACK FAILED'}: ${r.name} (${r.id}) — ${r.detail}`);
    // not a failure here: its executor reports the outcome, and releases the claim if it fails
    for (const c of claimedElsewhere) say(`not run here: ${describeClaim(c)}`);
    if (!dead.length && !results.length && !claimedElsewhere.length) say('nothing to recover');
    return results.every((r) => r.ok) ? 0 : 6;
  } catch (e) {
    return ledgerErrorExit(e, err);
  } finally {
    ledger.close();
  }
}
