// What a failure means to `run` depends on how far the run got: the one place that decides it.
//   - A ledger that cannot be opened, or fails before the experiment started: a refusal (exit 2),
//     nothing was injected.
//   - A ledger failure once the run started: the fault may have gone in and the run did not end
//     through its own rollback, so exit 6, faults may remain.
//   - The emergency stop latched: a refusal (StopLatchedError's own code).
//   - Anything else keeps its own code (a ConfigError: 1); what is not a GamedayError is a bug.
// Each keeps the cause; the message says which of these it was.
import { LedgerError, StopLatchedError } from '../budget/ledger-error.ts';
import { StateDirError } from '../budget/state-dir.ts';
import { EXIT_CODE } from '../engine/events.ts';
import { GamedayError } from '../errors/gameday-error.ts';

/** A failure to open the ledger, as `run` reports it. */
export function ledgerOpenError(err: unknown): unknown {
  if (!(err instanceof LedgerError || err instanceof StateDirError)) return err;
  return new GamedayError(`refusing to run: ${err.message}`, { exitCode: EXIT_CODE.refused, cause: err });
}

/** A failure from registering the experiment onwards; `started`: the run itself had begun. */
export function runError(err: unknown, started: boolean): unknown {
  const refused = (message: string) => new GamedayError(`refusing to run: ${message}`, { exitCode: EXIT_CODE.refused, cause: err });
  if (err instanceof StopLatchedError) return refused(err.message);
  if (!(err instanceof LedgerError)) return err;
  if (!started) return refused(`ledger error: ${err.message}`);
  return new GamedayError(`ledger error: ${err.message}`, { exitCode: EXIT_CODE['rollback-failed'], cause: err });
}
