// One experiment's view of the money. The traffic generator spends only requests it has reserved
// here; the in-memory account serves tests, the SQLite ledger (ledger.ts) the shared, persistent case.

export type BudgetScope = 'experiment' | 'day';

export interface ReserveResult {
  /** requests granted (0..asked); each may be sent once */
  grantedRequests: number;
  /** why fewer than asked were granted */
  limitedBy?: BudgetScope | 'stopped';
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
  reserve(requests: number): ReserveResult;
  /** Report the cumulative number of requests sent (for the live spend others see). */
  report(sentRequests: number): void;
  /** Final: record `sentRequests` as spent and hand back the unused reservation. Idempotent. */
  settle(sentRequests: number): void;
  totals(): BudgetTotals;
}

/** Money as integer micro-dollars, so that spend = requests × cost is exact. */
export const toMicros = (usd: number): number => Math.round(usd * 1_000_000);
export const fromMicros = (micros: number): number => micros / 1_000_000;

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

  reserve(requests: number): ReserveResult {
    if (this.settled) return { grantedRequests: 0, limitedBy: 'stopped' };
    const heldMicros = this.reservedRequests * this.costMicros;
    const byExperiment = Math.floor((this.experimentCapMicros - heldMicros) / this.costMicros);
    const byDay = Math.floor((this.dayCapMicros - this.daySpentBeforeMicros - heldMicros) / this.costMicros);
    const granted = Math.max(0, Math.min(requests, byExperiment, byDay));
    this.reservedRequests += granted;
    if (granted >= requests) return { grantedRequests: granted };
    return { grantedRequests: granted, limitedBy: byDay < byExperiment ? 'day' : 'experiment' };
  }

  report(sentRequests: number): void {
    if (sentRequests > this.reservedRequests) throw new Error(`budget invariant broken: sent ${sentRequests} > reserved ${this.reservedRequests}`);
    this.sentRequests = sentRequests;
  }

  settle(sentRequests: number): void {
    if (this.settled) return;
    this.report(sentRequests);
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
