// One experiment's view of the money. The traffic generator spends only requests it has reserved
// here; the in-memory account serves tests, the SQLite ledger (ledger.ts) the shared, persistent case.
//
// Every call that writes is asynchronous: a ledger shared with other processes (or, later, a
// database across the network) may be busy, and the controller must never stall its event loop
// waiting for it, since that same loop is what takes a fault out when a stop comes.

export type BudgetScope = 'experiment' | 'day';

/**
 * Why a reservation granted nothing although money may be left: the emergency-stop latch is set,
 * or this experiment is no longer running in the ledger (settled, or declared dead by another
 * gameday process whose view of its heartbeat went stale).
 */
export type ReservationStop = 'emergency-stop' | 'not-running';

export interface ReserveResult {
  /** requests granted (0..asked); each may be sent once */
  grantedRequests: number;
  /** why fewer than asked were granted */
  limitedBy?: BudgetScope | ReservationStop;
}

export interface BudgetTotals {
  costPerRequestUsd: number;
  experimentCapUsd: number;
  /** requests × cost actually sent by this experiment */
  experimentSpentUsd: number;
  /** reserved by this experiment, not yet spent */
  experimentReservedUsd: number;
  dayCapUsd: number;
  /** the day's spend, this experiment included, dead controllers' reservations counted as spent */
  daySpentUsd: number;
  /** what other running experiments hold */
  dayReservedUsd: number;
}

export interface BudgetAccount {
  readonly costPerRequestUsd: number;
  /** Reserve up to `requests` requests' worth of money, atomically against both caps. */
  reserve(requests: number): Promise<ReserveResult>;
  /** Report the cumulative number of requests sent (for the live spend others see). */
  report(sentRequests: number): Promise<void>;
  /** Final: record `sentRequests` as spent and hand back the unused reservation. Idempotent. */
  settle(sentRequests: number): Promise<void>;
  /** The latest totals this account knows; never waits (a busy ledger gives the last ones read). */
  totals(): BudgetTotals;
}

/** Money as integer micro-dollars, so that spend = requests × cost is exact. */
export const toMicros = (usd: number): number => Math.round(usd * 1_000_000);
export const fromMicros = (micros: number): number => micros / 1_000_000;

/**
 * How many of `askedRequests` both caps allow, given what is already held against each (integer
 * micro-dollars), and which cap stopped it short. The one rule, for every account.
 */
export function grantRequests(x: {
  askedRequests: number;
  costMicros: number;
  experimentCapMicros: number;
  experimentHeldMicros: number;
  dayCapMicros: number;
  dayHeldMicros: number;
}): ReserveResult {
  const byExperiment = Math.floor((x.experimentCapMicros - x.experimentHeldMicros) / x.costMicros);
  const byDay = Math.floor((x.dayCapMicros - x.dayHeldMicros) / x.costMicros);
  const granted = Math.max(0, Math.min(x.askedRequests, byExperiment, byDay));
  if (granted >= x.askedRequests) return { grantedRequests: granted };
  return { grantedRequests: granted, limitedBy: byDay < byExperiment ? 'day' : 'experiment' };
}

/** An in-process account: one experiment, a day cap it shares with nobody. */
export class MemoryBudget implements BudgetAccount {
  readonly costPerRequestUsd: number;
  private readonly costMicros: number;
  private readonly experimentCapMicros: number;
  private readonly dayCapMicros: number;
  private readonly daySpentBeforeMicros: number;
  private reservedRequests = 0;
  private sentRequests = 0;
  private settled = false;

  constructor(opts: { costPerRequestUsd: number; experimentCapUsd: number; dayCapUsd: number; daySpentUsd?: number }) {
    this.costPerRequestUsd = opts.costPerRequestUsd;
    this.costMicros = toMicros(opts.costPerRequestUsd);
    this.experimentCapMicros = toMicros(opts.experimentCapUsd);
    this.dayCapMicros = toMicros(opts.dayCapUsd);
    this.daySpentBeforeMicros = toMicros(opts.daySpentUsd ?? 0);
  }

  async reserve(requests: number): Promise<ReserveResult> {
    if (this.settled) return { grantedRequests: 0, limitedBy: 'not-running' };
    const heldMicros = this.reservedRequests * this.costMicros;
    const result = grantRequests({
      askedRequests: requests,
      costMicros: this.costMicros,
      experimentCapMicros: this.experimentCapMicros,
      experimentHeldMicros: heldMicros,
      dayCapMicros: this.dayCapMicros,
      dayHeldMicros: this.daySpentBeforeMicros + heldMicros,
    });
    this.reservedRequests += result.grantedRequests;
    return result;
  }

  async report(sentRequests: number): Promise<void> {
    this.reportNow(sentRequests);
  }

  private reportNow(sentRequests: number): void {
    if (sentRequests > this.reservedRequests)
      throw new Error(`budget invariant broken: sent ${sentRequests} > reserved ${this.reservedRequests}`);
    this.sentRequests = sentRequests;
  }

  async settle(sentRequests: number): Promise<void> {
    if (this.settled) return;
    this.reportNow(sentRequests);
    this.reservedRequests = sentRequests;
    this.settled = true;
  }

  totals(): BudgetTotals {
    const spent = this.sentRequests * this.costMicros;
    const held = this.reservedRequests * this.costMicros;
    return {
      costPerRequestUsd: this.costPerRequestUsd,
      experimentCapUsd: fromMicros(this.experimentCapMicros),
      experimentSpentUsd: fromMicros(spent),
      experimentReservedUsd: fromMicros(held - spent),
      dayCapUsd: fromMicros(this.dayCapMicros),
      daySpentUsd: fromMicros(this.daySpentBeforeMicros + spent),
      dayReservedUsd: 0,
    };
  }
}
