// The SQLite ledger (sqlite-ledger.ts) as a LedgerStore. The file is on this machine, so its
// calls are short and local; they are wrapped, not re-done, so the one implementation of the
// money rules on SQLite stays the synchronous one its own tests drive.
import type { Claimant, ExperimentSpec, LedgerStore, SnapshotOptions } from './ledger-store.ts';
import { Ledger, type LedgerOptions } from './sqlite-ledger.ts';

export class SqliteStore implements LedgerStore {
  readonly backend = 'sqlite' as const;

  private constructor(readonly ledger: Ledger) {}

  /** Open (creating and migrating if needed) the ledger of `stateDir`. Throws LedgerError. */
  static open(stateDir: string, opts: LedgerOptions = {}): SqliteStore {
    return new SqliteStore(Ledger.open(stateDir, opts));
  }

  get location(): string {
    return this.ledger.file;
  }

  // one machine: its clock is the ledger's
  clockMs = async () => Date.now();
  registerExperiment = async (spec: ExperimentSpec) => this.ledger.registerExperiment(spec);
  experiment = async (id: string) => this.ledger.experiment(id);
  runningExperiments = async () => this.ledger.runningExperiments();
  recentExperiments = async (limit?: number) => this.ledger.recentExperiments(limit);
  experimentsByStatus = async (dateUtc?: string) => this.ledger.experimentsByStatus(dateUtc);
  dayTotals = async (dateUtc?: string, capUsd?: number) => this.ledger.dayTotals(dateUtc, capUsd);
  snapshot = async (opts?: SnapshotOptions) => this.ledger.snapshot(opts);
  markDead = async (staleMs?: number) => this.ledger.markDead(staleMs);
  awaitingRollback = async () => this.ledger.awaitingRollback();
  claimRollback = async (id: string, leaseMs: number, claimant?: Claimant) => this.ledger.claimRollback(id, leaseMs, claimant);
  releaseRollback = async (id: string, claimant?: Claimant) => this.ledger.releaseRollback(id, claimant);
  markRecovered = async (id: string) => this.ledger.markRecovered(id);
  rollbackClaim = async (id: string) => this.ledger.rollbackClaim(id);
  stopLatch = async () => this.ledger.stopLatch();
  setStopLatch = async (by: string) => this.ledger.setStopLatch(by);
  clearStopLatch = async () => this.ledger.clearStopLatch();
  // Nothing to listen to: emergency-stop signals this machine's controllers, and each reads the latch every tick.
  watchStop = async () => ({ close: async () => {} });
  close = async () => this.ledger.close();
}
