// The open-loop load generator. Requests leave at their scheduled times whatever the target does;
// latency is measured from the scheduled time (no coordinated omission); and no request leaves
// before the money for it has been reserved from the budget. Money is reserved ahead, in chunks of
// about a second of what the generator really sends, so that sending never waits on the ledger
// and a controller that dies leaves little reserved-but-unsent money behind (it counts as spent).
import { performance } from 'node:perf_hooks';
import { Client } from 'undici';
import type { Dispatcher } from 'undici';
import type { BudgetAccount, ReserveResult } from '../budget/budget.ts';
import { adjustInFlightLimit, createInFlightLimit, SAMPLE_EVERY_MS, type InFlightLimit } from './in-flight-limit.ts';
import { nextChunkRequests } from './reservation-size.ts';
import { createSchedule, dueTotal, scheduledAtMs, type Schedule } from './scheduler.ts';
import type { SloWindow } from './slo-window.ts';
import { OUTCOMES, type Outcome } from './slis.ts';

export interface TrafficOptions {
  targetUrl: string;
  path: string;
  method?: 'GET' | 'HEAD' | 'POST';
  rps: number;
  timeoutMs: number;
  maxInFlight: number;
  /** reserved from ahead of sending, in chunks of about a second of what is really sent (nextChunkRequests) */
  budget: BudgetAccount;
  /** every finished request is recorded here, latency measured from its scheduled send time */
  window: SloWindow;
  /**
   * Called once (asynchronously) when no more money can be had: a reservation refused with no
   * tokens left (the cap that stopped it, or why the ledger stopped it), or one that failed
   * ('ledger-error'; see budgetError).
   */
  onBudgetExhausted?: (limitedBy: BudgetExhaustion) => void;
  /** ms clock; default performance.timeOrigin + performance.now() */
  now?: () => number;
  /**
   * Most connections (undici Clients, one request at a time each); default rps × timeout + 1, at
   * most 1024 and maxInFlight. A hard cap on requests in flight: within it, an adaptive limit sized
   * from the observed latency (in-flight-limit.ts) decides. Requests wait in the generator's
   * backlog, never in undici's queues.
   */
  connections?: number;
}

export type BudgetExhaustion = NonNullable<ReserveResult['limitedBy']> | 'ledger-error';

export interface TrafficStats {
  /** requests handed to the HTTP client, each paid for */
  sent: number;
  /** requests with a known outcome (answered, failed, timed out, or dropped from the backlog) */
  completed: number;
  inFlight: number;
  backlog: number;
  byOutcome: Record<Outcome, number>;
  /** due requests not sent because no reserved money was at hand (refused, or still being reserved) */
  budgetDenied: number;
  /** reservations asked for, and the largest chunk asked (requests) */
  reservations: number;
  largestChunk: number;
  /** due requests that waited (in the backlog, or for a held-up loop) past the timeout: recorded as timeouts, never sent */
  droppedBacklog: number;
}

/** Longest sleep of the timer loop: bounds timeout and backlog-expiry lag at low rates. */
const MAX_TICK_MS = 5;
/** How often the cumulative sent count is reported to the budget (live spend). */
const REPORT_EVERY_MS = 250;
/** Hard bound on the backlog; the natural bound is rps × timeout, as older entries are dropped. */
const MAX_BACKLOG = 100_000;
/** Default cap on connections, to stay well inside the file-descriptor limit. */
const MAX_DEFAULT_CONNECTIONS = 1024;

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
const TIMEOUT_ERRORS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

const outcomeOfStatus = (status: number): Outcome => (status >= 500 ? 'error' : 'ok');

/** Maps a transport error to an outcome: could not connect → refused, timer → timeout, else reset. */
export function outcomeOfError(err: unknown): Outcome {
  const e = err as { code?: string; errors?: Array<{ code?: string }>; cause?: { code?: string } } | null;
  // Node's happy-eyeballs connect reports an AggregateError whose members carry the codes.
  const code = e?.code ?? e?.errors?.[0]?.code ?? e?.cause?.code;
  if (code !== undefined && CONNECT_ERRORS.has(code)) return 'refused';
  if (code !== undefined && TIMEOUT_ERRORS.has(code)) return 'timeout';
  return 'reset';
}

/**
 * Both queues are an array and the index of their oldest live entry (O(1) dequeue). The consumed
 * head is dropped once the queue is empty, or once it is most of a large array: amortised O(1).
 * Null when nothing needs to change (the common case: no allocation).
 */
function compacted<T>(items: T[], head: number): [T[], number] | null {
  if (head === 0) return null;
  if (head === items.length) return [[], 0];
  return head > 1024 && head * 2 > items.length ? [items.slice(head), 0] : null;
}

/** The hard cap on connections: every request that can be in flight at once (rps × timeout), within the fd budget. */
function defaultConnections(rps: number, timeoutMs: number, maxInFlight: number): number {
  const concurrency = Math.ceil((Math.max(rps, 1) * timeoutMs) / 1000) + 1;
  return Math.max(1, Math.min(maxInFlight, concurrency, MAX_DEFAULT_CONNECTIONS));
}

/**
 * One request handed to undici. Uses the callback handler API, which undici passes through as is
 * (the newer API wraps every request and parses every response's headers).
 */
class InFlightRequest implements Dispatcher.DispatchHandler {
  status = 0;
  /** the deadline passed: outcome already recorded as a timeout */
  timedOut = false;
  done = false;

  constructor(
    private readonly gen: TrafficGenerator,
    readonly scheduledMs: number,
    /** when it was handed to undici: the target's share of its latency starts here (the limit is sized from it) */
    readonly sentMs: number,
    /** the connection it runs on; back to the idle stack when done */
    readonly client: Client,
    /** the first on a new connection: its latency includes the connection's set-up */
    readonly fresh: boolean,
  ) {}

  onConnect(): void {
    /* not aborted at the deadline: see TrafficGenerator.expire */
  }
  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }
  onData(): boolean {
    return true; // body discarded: read to the end so the socket is reused
  }
  onComplete(): void {
    this.gen.requestDone(this, outcomeOfStatus(this.status), true);
  }
  onError(err: Error): void {
    this.gen.requestDone(this, outcomeOfError(err), false);
  }
}

export class TrafficGenerator {
  private readonly opts: TrafficOptions;
  /**
   * Connections, opened on demand. Not an undici Pool: a Pool scans all its clients for a free one
   * on every request, which at hundreds of connections costs more than the request. Here idle
   * clients are a stack (most recently used first, so few stay warm): O(1) per request.
   */
  private readonly clients: Client[] = [];
  private readonly idleClients: Client[] = [];
  private readonly origin: string;
  private readonly dispatchOpts: Dispatcher.DispatchOptions;
  private readonly clock: () => number;
  /** requests handed to undici at most: adapts up to min(maxInFlight, connections) */
  private readonly limit: InFlightLimit;
  private limitCheckedAtMs = -Infinity;
  /**
   * Answers since the limiter's last sample, and their summed time from send to answer: that of
   * answers on connections already in use, and of the first ones on new connections (which include
   * the connection's set-up, at the target too: they would make a target look slower).
   */
  private answered = 0;
  private warmAnswered = 0;
  private warmAnsweredMs = 0;
  private freshAnsweredMs = 0;
  private readonly tickBound = (): void => this.tick();
  private readonly drainBound = (): void => {
    this.drainScheduled = false;
    if (!this.stopping) this.drainBacklog(this.clock());
  };
  private drainScheduled = false;

  private readonly rps: number;
  private schedule: Schedule | null = null;
  /** global index of the next request to issue (send or backlog) */
  private nextIndex = 0;

  /** requests reserved and not yet sent */
  private tokens = 0;
  /** the reservation under way, if any (one at a time) */
  private reserving: Promise<void> | null = null;
  /** the account granted less than asked: ask once more only when the tokens are gone */
  private refusedBy: NonNullable<ReserveResult['limitedBy']> | null = null;
  private lastChunk = 0;
  private lastReserveAtMs: number | null = null;
  private sentAtLastReserve = 0;
  private reservations = 0;
  private largestChunk = 0;
  private reporting = false;
  private sent = 0;
  private completed = 0;
  private inFlight = 0;
  /** in flight past their deadline (already recorded as timeouts) */
  private lateInFlight = 0;
  private budgetDenied = 0;
  private droppedBacklog = 0;
  private readonly byOutcome: Record<Outcome, number>;
  private exhausted = false;
  private reportedSent = 0;
  private lastReportMs = -Infinity;
  private lastBudgetError: Error | null = null;

  /** in send order, so oldest first (sends happen in schedule order); done entries popped lazily */
  private inFlightQueue: InFlightRequest[] = [];
  private inFlightHead = 0;
  /** scheduled times of due requests waiting for a free slot, oldest first */
  private backlog: number[] = [];
  private backlogHead = 0;

  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  /** connections destroyed: late callbacks are not recorded */
  private closed = false;
  private stopPromise: Promise<void> | null = null;
  private onIdle: (() => void) | null = null;

  constructor(opts: TrafficOptions) {
    if (!(opts.rps >= 0) || !Number.isFinite(opts.rps)) throw new Error(`rps must be a finite number ≥ 0, got ${opts.rps}`);
    if (!(opts.timeoutMs > 0)) throw new Error(`timeoutMs must be > 0, got ${opts.timeoutMs}`);
    if (!(opts.maxInFlight >= 1)) throw new Error(`maxInFlight must be ≥ 1, got ${opts.maxInFlight}`);
    this.opts = opts;
    this.rps = opts.rps;
    this.clock = opts.now ?? (() => performance.timeOrigin + performance.now());
    this.byOutcome = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;

    const url = new URL(opts.targetUrl);
    const basePath = url.pathname.replace(/\/+$/, '');
    const path = opts.path.startsWith('/') ? opts.path : `/${opts.path}`;
    this.dispatchOpts = { path: basePath + path, method: opts.method ?? 'GET' };
    this.origin = url.origin;
    const connections = Math.max(1, opts.connections ?? defaultConnections(opts.rps, opts.timeoutMs, opts.maxInFlight));
    // One request per connection and none queued inside undici: a request that goes stale waiting
    // for a connection is dropped from our backlog, unsent and for free.
    this.limit = createInFlightLimit(Math.max(1, Math.min(opts.maxInFlight, connections)), this.clock());
  }

  get sentCount(): number {
    return this.sent;
  }

  /** The last error thrown by the budget (reserve fails closed: no tokens, nothing sent). */
  get budgetError(): Error | null {
    return this.lastBudgetError;
  }

  /** Reserves the first chunk, then starts the schedule: the first requests never wait for money. */
  async start(): Promise<void> {
    if (this.schedule !== null || this.stopping) return;
    this.askForMoney(this.clock());
    await this.reserving;
    if (this.schedule !== null || this.stopping) return;
    this.schedule = createSchedule(this.clock(), this.rps);
    this.tick();
  }

  /**
   * Stops scheduling, drops the backlog (never sent, not recorded), waits until every in-flight
   * request has an outcome (an answer, or its deadline: at most timeoutMs), then closes the
   * connections, aborting requests already counted as timeouts. Settles nothing in the budget:
   * the caller settles with stats().sent.
   */
  stop(): Promise<void> {
    this.stopPromise ??= this.shutdown();
    return this.stopPromise;
  }

  /** Ages (ms) of in-flight and backlogged requests older than `thresholdMs`, oldest first. */
  slowInFlightAges(nowMs: number, thresholdMs: number): number[] {
    const ages: number[] = [];
    const q = this.inFlightQueue;
    for (let i = this.inFlightHead; i < q.length; i++) {
      const r = q[i];
      if (r.done || r.timedOut) continue;
      const ageMs = nowMs - r.scheduledMs;
      // Both queues are in schedule order, and backlogged requests are younger than sent ones.
      if (ageMs <= thresholdMs) return ages;
      ages.push(ageMs);
    }
    const b = this.backlog;
    for (let i = this.backlogHead; i < b.length; i++) {
      const ageMs = nowMs - b[i];
      if (ageMs <= thresholdMs) break;
      ages.push(ageMs);
    }
    return ages;
  }

  stats(): TrafficStats {
    return {
      sent: this.sent,
      completed: this.completed,
      inFlight: this.inFlight,
      backlog: this.backlog.length - this.backlogHead,
      byOutcome: { ...this.byOutcome },
      budgetDenied: this.budgetDenied,
      droppedBacklog: this.droppedBacklog,
      reservations: this.reservations,
      largestChunk: this.largestChunk,
    };
  }

  /** @internal called by a request's handler when undici is done with it; `answered`: a response came */
  requestDone(r: InFlightRequest, outcome: Outcome, answered: boolean): void {
    if (r.done) return;
    r.done = true;
    this.inFlight--;
    if (r.timedOut) this.lateInFlight--;
    this.idleClients.push(r.client);
    const nowMs = this.clock();
    if (answered) {
      this.answered++;
      if (r.fresh) this.freshAnsweredMs += nowMs - r.sentMs;
      else {
        this.warmAnswered++;
        this.warmAnsweredMs += nowMs - r.sentMs;
      }
    }
    if (!r.timedOut && !this.closed) this.recordOutcome(outcome, nowMs - r.scheduledMs, nowMs);
    if (this.backlog.length > this.backlogHead && !this.drainScheduled) {
      // Not from inside undici's callback: its connection is only free once the callback returns.
      this.drainScheduled = true;
      queueMicrotask(this.drainBound);
    }
    if (this.inFlight === this.lateInFlight) this.onIdle?.();
  }

  private tick(): void {
    this.timer = null;
    if (this.stopping || this.schedule === null) return;
    const nowMs = this.clock();
    this.expire(nowMs);
    this.pump(nowMs);
    this.maybeReport(nowMs);
    if (nowMs - this.limitCheckedAtMs >= SAMPLE_EVERY_MS) this.adjustLimit(nowMs);
    // Sleep until the next request is due, within [1, MAX_TICK_MS] ms; a late wake-up catches up.
    let delayMs = MAX_TICK_MS;
    if (!this.exhausted && this.schedule.rps > 0) {
      const untilNextMs = scheduledAtMs(this.schedule, this.nextIndex) - this.clock();
      delayMs = Math.min(MAX_TICK_MS, Math.max(1, Math.floor(untilNextMs)));
    }
    this.timer = setTimeout(this.tickBound, delayMs);
  }

  /** Issues every request due by `nowMs`: sent if a slot is free, else backlogged. */
  private pump(nowMs: number): void {
    const schedule = this.schedule;
    if (schedule === null) return;
    const due = dueTotal(schedule, nowMs);
    if (this.backlog.length > this.backlogHead) this.drainBacklog(nowMs);
    while (this.nextIndex < due) {
      if (this.exhausted) {
        this.budgetDenied += due - this.nextIndex;
        this.nextIndex = due;
        return;
      }
      const scheduledMs = scheduledAtMs(schedule, this.nextIndex);
      this.nextIndex++;
      if (nowMs - scheduledMs >= this.opts.timeoutMs) {
        // Already past its timeout (the loop was held up): it could only time out, so not sent.
        this.droppedBacklog++;
        this.recordOutcome('timeout', nowMs - scheduledMs, nowMs);
      } else if (this.inFlight >= this.limit.limit || this.backlog.length > this.backlogHead) {
        this.pushBacklog(scheduledMs, nowMs);
      } else if (!this.send(scheduledMs, nowMs)) {
        this.budgetDenied++;
      }
    }
  }

  /** Sends one request if a token is at hand; asks for the next chunk while half of this one is left. */
  private send(scheduledMs: number, nowMs: number): boolean {
    if (this.tokens === 0) {
      this.askForMoney(this.clock());
      return false;
    }
    this.tokens--;
    if (this.tokens * 2 <= this.lastChunk && this.refusedBy === null) this.askForMoney(this.clock());
    this.sent++;
    this.inFlight++;
    const idle = this.idleClients.pop();
    const r = new InFlightRequest(this, scheduledMs, nowMs, idle ?? this.newClient(), idle === undefined);
    this.inFlightQueue.push(r);
    r.client.dispatch(this.dispatchOpts, r);
    return true;
  }

  /** Called when every open connection is busy and fewer than maxInFlight (≤ connections) are. */
  private newClient(): Client {
    const client = new Client(this.origin, {
      pipelining: 1,
      connectTimeout: this.opts.timeoutMs,
      // Backstops: the generator records a timeout at the deadline from the scheduled time; these
      // end a late request (timeoutMs after it was written) so that it frees its connection.
      headersTimeout: this.opts.timeoutMs,
      bodyTimeout: this.opts.timeoutMs,
    });
    this.clients.push(client);
    return client;
  }

  /**
   * Asks the budget for the next chunk, unless a reservation is under way or no more can be had.
   * Never waits: the answer adds tokens when it comes. Fails closed: a budget that throws grants
   * nothing, and ends the sending.
   */
  private askForMoney(nowMs: number): void {
    if (this.reserving !== null || this.exhausted || this.stopping) return;
    // Refused before: ask once more when the tokens are gone (others may have handed money back).
    if (this.refusedBy !== null && this.tokens > 0) return;
    const asked = nextChunkRequests({
      rps: this.rps,
      lastChunk: this.lastChunk,
      sentSinceLast: this.sent - this.sentAtLastReserve,
      sinceLastMs: this.lastReserveAtMs === null ? null : nowMs - this.lastReserveAtMs,
      firstChunk: this.limit.limit,
    });
    this.lastChunk = asked;
    this.lastReserveAtMs = nowMs;
    this.sentAtLastReserve = this.sent;
    this.reservations++;
    this.largestChunk = Math.max(this.largestChunk, asked);
    const done = (): void => {
      this.reserving = null;
    };
    let reservation: Promise<ReserveResult>;
    try {
      reservation = this.opts.budget.reserve(asked);
    } catch (err) {
      // an account that throws at once fails closed all the same
      reservation = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.reserving = reservation.then(
      (result) => {
        done();
        this.granted(result, asked);
      },
      (err: unknown) => {
        done();
        this.lastBudgetError = err instanceof Error ? err : new Error(String(err));
        this.exhaust('ledger-error');
      },
    );
  }

  private granted(result: ReserveResult, asked: number): void {
    this.tokens += result.grantedRequests;
    if (result.grantedRequests < asked) this.refusedBy = result.limitedBy ?? 'experiment';
    else this.refusedBy = null;
    if (this.tokens === 0 && this.refusedBy !== null) this.exhaust(this.refusedBy);
  }

  private exhaust(limitedBy: BudgetExhaustion): void {
    if (this.exhausted || this.stopping) return;
    this.exhausted = true;
    const callback = this.opts.onBudgetExhausted;
    // Not from inside the send path: the callback may well stop this generator.
    if (callback) queueMicrotask(() => callback(limitedBy));
  }

  private pushBacklog(scheduledMs: number, nowMs: number): void {
    if (this.backlog.length - this.backlogHead >= MAX_BACKLOG) {
      this.dropBacklogHead(nowMs);
    }
    this.backlog.push(scheduledMs);
  }

  /** Sends backlogged requests while slots are free; drops those already past the timeout. */
  private drainBacklog(nowMs: number): void {
    const b = this.backlog;
    while (this.backlogHead < b.length && this.inFlight < this.limit.limit && !this.stopping) {
      const scheduledMs = b[this.backlogHead];
      if (nowMs - scheduledMs >= this.opts.timeoutMs) {
        this.dropBacklogHead(nowMs);
        continue;
      }
      this.backlogHead++;
      if (!this.send(scheduledMs, nowMs)) {
        // Budget gone: nothing else in the backlog can be paid for either.
        this.budgetDenied += 1 + b.length - this.backlogHead;
        this.clearBacklog();
        return;
      }
    }
    this.compactBacklog();
  }

  private dropBacklogHead(nowMs: number): void {
    const scheduledMs = this.backlog[this.backlogHead++];
    this.droppedBacklog++;
    this.recordOutcome('timeout', nowMs - scheduledMs, nowMs);
  }

  /**
   * Deadlines. Backlogged requests past the timeout are dropped. In-flight ones are recorded as
   * timeouts but not aborted: an HTTP/1.1 abort destroys the connection, and under load the
   * reconnections snowball (more requests late, more aborts) until hardly anything gets through.
   * A late request keeps its slot until it ends or undici's own timeouts (timeoutMs after it was
   * written) end it, so slots are held at most about twice timeoutMs.
   */
  private expire(nowMs: number): void {
    const timeoutMs = this.opts.timeoutMs;
    const b = this.backlog;
    while (this.backlogHead < b.length && nowMs - b[this.backlogHead] >= timeoutMs) this.dropBacklogHead(nowMs);
    this.compactBacklog();

    const q = this.inFlightQueue;
    while (this.inFlightHead < q.length) {
      const r = q[this.inFlightHead];
      if (!r.done) {
        if (nowMs - r.scheduledMs < timeoutMs) break;
        if (!r.timedOut) {
          r.timedOut = true;
          this.lateInFlight++;
          this.recordOutcome('timeout', nowMs - r.scheduledMs, nowMs);
        }
      }
      this.inFlightHead++;
    }
    const inFlight = compacted(q, this.inFlightHead);
    if (inFlight) [this.inFlightQueue, this.inFlightHead] = inFlight;
  }

  private adjustLimit(nowMs: number): void {
    this.limitCheckedAtMs = nowMs;
    const before = this.limit.limit;
    adjustInFlightLimit(this.limit, {
      nowMs,
      rps: this.rps,
      inFlight: this.inFlight,
      backlog: this.backlog.length - this.backlogHead,
      answered: this.answered,
      // the warm answers' mean stands for all, when there are any
      answeredMs: this.warmAnswered > 0 ? (this.warmAnsweredMs * this.answered) / this.warmAnswered : this.freshAnsweredMs,
    });
    this.answered = 0;
    this.warmAnswered = 0;
    this.warmAnsweredMs = 0;
    this.freshAnsweredMs = 0;
    if (this.limit.limit > before) this.drainBacklog(nowMs);
  }

  private recordOutcome(outcome: Outcome, latencyMs: number, nowMs: number): void {
    this.byOutcome[outcome]++;
    this.completed++;
    this.opts.window.record(outcome, latencyMs > 0 ? latencyMs : 0, nowMs);
  }

  /** The live spend others see; one report at a time (the next one carries the newer count). */
  private maybeReport(nowMs: number): void {
    if (this.reporting || this.sent === this.reportedSent || nowMs - this.lastReportMs < REPORT_EVERY_MS) return;
    this.lastReportMs = nowMs;
    const sent = this.sent;
    this.reporting = true;
    this.opts.budget.report(sent).then(
      () => {
        this.reporting = false;
        this.reportedSent = sent;
      },
      (err: unknown) => {
        // The caller's settle() is what counts, but a ledger that cannot take a report fails the run closed.
        this.reporting = false;
        this.lastBudgetError = err instanceof Error ? err : new Error(String(err));
      },
    );
  }

  private clearBacklog(): void {
    this.backlog = [];
    this.backlogHead = 0;
  }

  private compactBacklog(): void {
    const backlog = compacted(this.backlog, this.backlogHead);
    if (backlog) [this.backlog, this.backlogHead] = backlog;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.clearBacklog();
    // No last report: the caller settles with the final count, and stopping needs no ledger call.
    if (this.inFlight > this.lateInFlight) {
      // Every in-flight request's deadline is at most timeoutMs away; keep enforcing them.
      const giveUpAtMs = this.clock() + this.opts.timeoutMs;
      let reaper: NodeJS.Timeout | null = null;
      await new Promise<void>((resolve) => {
        this.onIdle = resolve;
        const reap = (): void => {
          const nowMs = this.clock();
          this.expire(nowMs);
          if (this.inFlight === this.lateInFlight || nowMs >= giveUpAtMs) resolve();
          else reaper = setTimeout(reap, MAX_TICK_MS);
        };
        reap();
      });
      if (reaper !== null) clearTimeout(reaper);
      this.onIdle = null;
    }
    this.closed = true;
    await Promise.all(this.clients.map((c) => c.destroy().catch(() => undefined)));
  }
}
