// gameday recover: roll back experiments whose controller died.
import { Ledger } from '../budget/ledger.ts';
import { ledgerErrorExit } from './common.ts';
import { recoverDead } from '../engine/recovery.ts';

export async function recoverCommand(opts: { stateDir: string }, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  if (!Ledger.exists(opts.stateDir)) {
    out.write(`no ledger in ${opts.stateDir}: nothing to recover\n`);
    return 0;
  }
  let ledger: Ledger;
  try {
    ledger = Ledger.open(opts.stateDir);
  } catch (e) {
    return ledgerErrorExit(e, err);
  }
  try {
    const { dead, results } = await recoverDead(ledger);
    for (const d of dead) out.write(`marked dead: ${d} — its reservation counts as spent\n`);
    for (const r of results) out.write(`${r.ok ? 'rolled back' : 'ROLLBACK FAILED'}: ${r.name} (${r.id}) — ${r.detail}\n`);
    if (!dead.length && !results.length) out.write('nothing to recover\n');
    return results.every((r) => r.ok) ? 0 : 6;
  } finally {
    ledger.close();
  }
}
