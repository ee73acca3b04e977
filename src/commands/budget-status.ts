// gameday budget-status [--json]: a read of the ledger. A state dir without a SQLite ledger is an
// empty status, not an error, and the command does not create one just to read it; a ledger that
// exists but cannot be read is an error (a LedgerError: exit 1), never an empty status.
import { budgetStatusJson, buildBudgetStatus, formatBudgetStatus, type BudgetConfig } from '../budget/budget-status.ts';
import type { LedgerStore } from '../budget/ledger-store.ts';
import { describeTarget, ledgerMayExist, ledgerTarget, openLedger, type LedgerTarget } from '../budget/open-ledger.ts';
import { EXIT, type ExitCode } from '../errors/exit-codes.ts';
import { printError } from '../errors/report.ts';

export async function budgetStatusCommand(opts: {
  stateDir: string;
  /** default: the state dir's SQLite ledger */
  ledger?: LedgerTarget;
  json: boolean;
  /** the config's budget.dailyCapUsd; without it, the cap the latest experiment ran with */
  dailyCapUsd?: number;
  /** the config's budget settings and their sources, shown as they are */
  config?: BudgetConfig;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}): Promise<ExitCode> {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const target = opts.ledger ?? ledgerTarget(opts.stateDir, undefined);
  let ledger: LedgerStore | null = null;
  try {
    if (ledgerMayExist(target)) ledger = await openLedger(target);
    const snapshot = ledger ? await ledger.snapshot({ capUsd: opts.dailyCapUsd }) : null;
    const status = buildBudgetStatus(snapshot, {
      stateDir: opts.stateDir,
      location: ledger ? describeTarget(target) : null,
      backend: target.backend,
      dailyCapUsd: opts.dailyCapUsd,
      config: opts.config,
    });
    // experiment names are whatever the runs were given: redacted (and made printable) on the way out
    out.write(opts.json ? budgetStatusJson(status) : formatBudgetStatus(status));
    return EXIT.ok;
  } catch (e) {
    return printError(e, err);
  } finally {
    await ledger?.close();
  }
}
