// gameday watchdog (internal): started by `run` before an external fault goes in. Exit 0: the
// controller finished, or its faults were rolled back · 6: recovery failed, faults may remain ·
// 1: its ledger cannot be opened (a LedgerError, printed by cli.ts into the watchdog's log).
import { openLedger, type LedgerTarget } from '../budget/open-ledger.ts';
import { watchController } from '../engine/watchdog.ts';
import { EXIT, type ExitCode } from '../errors/exit-codes.ts';
import { printable } from '../headless/printable.ts';
import { makeRedactor } from '../headless/redact.ts';

export async function watchdogCommand(opts: { ledger: LedgerTarget; experimentId: string }): Promise<ExitCode> {
  // rollback output may carry a token, or ESC and newlines: the log gets it redacted, one line per entry
  const redact = makeRedactor();
  const log = (line: string) =>
    process.stdout.write(printable(redact(`${new Date().toISOString()} watchdog ${opts.experimentId}: ${line}`)) + '\n');
  // Survive the terminal going away with the controller: only the ledger decides when we stop.
  for (const sig of ['SIGINT', 'SIGHUP'] as const) process.on(sig, () => log(`ignoring ${sig}`));
  const ledger = await openLedger(opts.ledger);
  try {
    log('watching');
    const result = await watchController(ledger, opts.experimentId, { log });
    log(result);
    return result === 'recovery-failed' ? EXIT.faultsMayRemain : EXIT.ok;
  } finally {
    await ledger.close();
  }
}
