// Every code gameday exits with, in one table (after k6's errext/exitcodes). Scripts branch on these
// numbers (README is the contract), so a code never changes its meaning; a new meaning gets a new code.
// `run` uses 0–6, one per RunStatus (EXIT_CODE in engine/events.ts); the other commands reuse the
// codes whose meaning fits theirs, as listed below.
export const EXIT = {
  /** run: finished, the SLOs held. Every other command: done (validate: the file is valid). */
  ok: 0,
  /**
   * Nothing was done. Any command: bad usage (commander's own errors too), a bad config or input;
   * run: nothing injected, nothing spent. validate: the file has problems. report: not a journal.
   * budget-status, recover, emergency-stop, watchdog: the ledger cannot be used. emergency-stop:
   * the latch could not be set (the stop was still signalled).
   */
  failed: 1,
  /** run: preflight refused (latch, budget, target, steady state, an unreadable ledger); nothing injected. */
  refused: 2,
  /** run: an SLO was breached; rolled back and recovered. */
  breach: 3,
  /** run: a budget limit was reached; stopped and rolled back. */
  budget: 4,
  /** run: an emergency stop, a signal, a failed ledger or output, or an engine error; rolled back. */
  stopped: 5,
  /**
   * Faults may remain: the loudest alert. run: a rollback failed or recovery was not verified.
   * emergency-stop: an experiment did not report rolled back. recover: a rollback failed.
   * watchdog: it could not recover the experiment it watched.
   */
  faultsMayRemain: 6,
  /** A bug in gameday (EX_SOFTWARE of sysexits.h): printed with its stack, please report it. */
  internal: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
