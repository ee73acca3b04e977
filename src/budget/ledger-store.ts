// The ledger as every command and the engine see it: one budget, one emergency stop and the
// experiments' records, whichever database holds them. Two backends keep the same promises (the
// conformance suite, test/conformance/ledger-store.test.ts, runs the same cases over both):
//   - SQLite (sqlite-ledger.ts): a file in the state dir, shared by the processes of one machine;
//     the default, it needs nothing installed.
//   - PostgreSQL (postgres-ledger.ts): one database shared by every machine of a team game day.
// Every call is asynchronous: the database may be busy or across a network, and a controller must
// never stall its event loop (the loop that takes a fault out) waiting for it.
import type { RunStatus } from '../engine/events.ts';
import type { BudgetAccount } from './budget.ts';

/** A running experiment whose heartbeat is older than this is presumed dead (ticks are ~250 ms). */
export const HEARTBEAT_STALE_MS = 5_000;

/**
 * What `gameday emergency-stop` sends to every live controller on its own host (it also sets the
 * latch, which controllers read each tick, and PostgreSQL tells every host's controllers at once).
 * SIGUSR1 is Node's debugger signal, so SIGUSR2. Its default action terminates the process: a
 * controller must install its handler before it registers.
 */
export const EMERGENCY_STOP_SIGNAL = 'SIGUSR2' as const;

/** running | dead (controller stopped heart-beating, reservation counted as spent) | how it finished */
export type ExperimentStatus = 'running' | 'dead' | RunStatus;

/** A controller is identified by host, pid and start time (startedMs, the ledger's clock). */
export interface ExperimentSpec {
  name: string;
  pid?: number; // default: this process
  host?: string; // default: thisHost()
  /** who runs it: --operator, else $USER */
  operator?: string;
  experimentCapUsd: number;
  dailyCapUsd: number;
  costPerRequestUsd: number;
}

export interface ExperimentRow {
  id: string;
  name: string;
  pid: number;
  host: string;
  /** null for experiments recorded before the ledger kept it */
  operator: string | null;
  /** ledger clock (epoch ms) */
  startedMs: number;
  endedMs: number | null;
  phase: string;
  status: ExperimentStatus;
  /** ledger clock (epoch ms) */
  heartbeatMs: number;
  costPerRequestUsd: number;
  experimentCapUsd: number;
  dailyCapUsd: number;
  /** reserved and not (yet) spent; 0 once settled or dead */
  reservedUsd: number;
  /** reported sent × cost; for a dead controller, everything it had reserved */
  spentUsd: number;
  rollbackPlan: unknown;
  stopAckedMs: number | null;
  recoveredMs: number | null;
}

export interface StopLatch {
  latched: boolean;
  atMs?: number;
  by?: string;
}

export interface DayTotals {
  date: string;
  /** spent that day, dead controllers' reservations included */
  spentUsd: number;
  /** held by running experiments, not yet spent */
  reservedUsd: number;
  /** the cap given, else the one the latest experiment registered with; null on an empty ledger */
  capUsd: number | null;
}

/** Who is executing a dead experiment's rollback plan, since when, and until when the claim holds. */
export interface RollbackClaim {
  host: string;
  pid: number;
  sinceMs: number;
  untilMs: number;
}

export type ClaimResult =
  { claimed: true } | { claimed: false; /** null: nothing left to claim (recovered, or no plan) */ holder: RollbackClaim | null };

/** Who claims a rollback plan (default: this process on this host) and, in tests, when. */
export interface Claimant {
  pid?: number;
  host?: string;
  nowMs?: number;
}

/** Why a heartbeat tells the controller to stop: the latch is set, or it was declared dead. */
export type StopReason = 'emergency-stop' | 'not-running';

/** One experiment's account in the ledger; the engine uses it as its BudgetAccount. */
export interface ExperimentHandle extends BudgetAccount {
  readonly id: string;
  /** Each tick. Resolves with why the controller must stop now, or null to carry on. */
  heartbeat(phase: string): Promise<StopReason | null>;
  /** What a watchdog or `recover` runs if this controller dies; written before injecting. */
  setRollbackPlan(plan: unknown): Promise<void>;
  /** Report "rolled back" after an emergency stop; emergency-stop waits for this (or finish). */
  ackStopped(): Promise<void>;
  /** Settle (hand back the unused reservation) and record the final status, atomically. */
  finish(status: RunStatus, sentRequests: number): Promise<void>;
}

export type LedgerBackend = 'sqlite' | 'postgres';

/** Everything budget-status and the exporter show, read as one committed state. */
export interface LedgerSnapshot {
  /** the ledger's clock when it was read (epoch ms): heartbeat ages are measured against it */
  clockMs: number;
  day: DayTotals;
  latch: StopLatch;
  running: ExperimentRow[];
  /** newest first, at most the limit asked for */
  recent: ExperimentRow[];
  /** the day's experiments (started that UTC day) by status */
  byStatus: Record<string, number>;
  /** dead experiments whose rollback plan has not run yet, on every host */
  awaitingRollback: ExperimentRow[];
}

export interface SnapshotOptions {
  /** the config's daily cap; without it, the cap the latest experiment registered with */
  capUsd?: number;
  recentLimit?: number;
}

export interface LedgerStore {
  readonly backend: LedgerBackend;
  /** where it is, fit to print: the SQLite file, or the PostgreSQL URL without its password */
  readonly location: string;
  /** The ledger's clock (epoch ms): liveness is judged by it, never by one machine's own clock. */
  clockMs(): Promise<number>;
  /** Record a new running experiment. Rejects with StopLatchedError while the emergency stop is latched. */
  registerExperiment(spec: ExperimentSpec): Promise<ExperimentHandle>;
  experiment(id: string): Promise<ExperimentRow | undefined>;
  /** Every experiment with status running, whatever its heartbeat, oldest first. */
  runningExperiments(): Promise<ExperimentRow[]>;
  /** Newest first. */
  recentExperiments(limit?: number): Promise<ExperimentRow[]>;
  /** Experiments started on `dateUtc` (a UTC day), counted by status; statuses with none are absent. */
  experimentsByStatus(dateUtc?: string): Promise<Record<string, number>>;
  dayTotals(dateUtc?: string, capUsd?: number): Promise<DayTotals>;
  /** Today's (by the ledger's clock) totals, latch and experiments, from one read transaction. */
  snapshot(opts?: SnapshotOptions): Promise<LedgerSnapshot>;
  /**
   * Declare dead every running experiment whose heartbeat is older than `staleMs` by the ledger's
   * clock, or whose pid is gone on this host: status 'dead', and everything it reserved counts as
   * spent. Returns the newly dead, once each.
   */
  markDead(staleMs?: number): Promise<ExperimentRow[]>;
  /** Dead experiments with a rollback plan nobody has executed yet, on every host. */
  awaitingRollback(): Promise<ExperimentRow[]>;
  /** Claim a dead experiment's rollback plan so that exactly one executor runs it. */
  claimRollback(id: string, leaseMs: number, claimant?: Claimant): Promise<ClaimResult>;
  /** Give up this process's claim (the plan failed): the next recover or watchdog may retry it. */
  releaseRollback(id: string, claimant?: Claimant): Promise<boolean>;
  /** The plan was executed; its claim ends with it. */
  markRecovered(id: string): Promise<void>;
  rollbackClaim(id: string): Promise<RollbackClaim | null>;
  stopLatch(): Promise<StopLatch>;
  /** Latch the emergency stop (the first latch's time and author stand) and tell every listener. */
  setStopLatch(by: string): Promise<StopLatch>;
  /** Returns whether it was latched. */
  clearStopLatch(): Promise<boolean>;
  /**
   * `onStop` is called as soon as the latch is set anywhere, for as long as the subscription
   * lasts. PostgreSQL: LISTEN gameday_stop. SQLite: nothing to listen to (emergency-stop signals
   * this machine's controllers), so it never calls. Either way the heartbeat reads the latch each
   * tick, the fallback for a lost notification.
   */
  watchStop(onStop: (by: string) => void): Promise<{ close(): Promise<void> }>;
  close(): Promise<void>;
}

export const utcDate = (nowMs: number): string => new Date(nowMs).toISOString().slice(0, 10);
