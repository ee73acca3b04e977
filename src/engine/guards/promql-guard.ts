// A PromQL SLO guard: the team's own SLO, from the Prometheus that watches the real service. It asks
// every queryEvery, never two at a time, with the time pinned and the timeout sent to Prometheus
// and held on the client too. Every answer is ok, breach or inconclusive; and a guard that cannot
// see fails closed: inconclusiveLimit inconclusive answers in a row make it blind, and a blind guard
// rolls the fault back. Missing data never passes for good data here.
import axios, { type AxiosInstance } from 'axios';
import type { PromqlGuardSpec } from '../../config/schema.ts';
import type { Clock } from '../clock.ts';
import type { GuardView } from '../events.ts';
import type { GuardVerdict, SloGuard } from './slo-guard.ts';

export interface PromqlGuardOptions {
  spec: PromqlGuardSpec;
  prometheus: { url: string; timeoutMs: number };
  queryEveryMs: number;
  inconclusiveLimit: number;
  clock: Clock;
  /** GAMEDAY_PROMETHEUS_TOKEN: sent as a bearer token, never written anywhere */
  token?: string;
}

/** One answer: a number, or why there is none. */
export type QueryAnswer = { value: number } | { inconclusive: string };

interface PromResponse {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

const finite = (text: unknown): number | null => {
  const n = typeof text === 'string' ? Number(text) : NaN;
  return Number.isFinite(n) ? n : null;
};

/**
 * What a /api/v1/query answer means for a guard. Inconclusive: `status: error`, a range vector or a
 * string, an empty vector, NaN or ±Inf, or more than one series unless `reduce` says which to take.
 */
export function readAnswer(body: PromResponse, reduce?: 'max' | 'min'): QueryAnswer {
  if (body.status !== 'success')
    return { inconclusive: `Prometheus said ${body.errorType ?? 'error'}: ${body.error ?? 'no reason given'}` };
  const { resultType, result } = body.data ?? {};
  if (resultType === 'scalar') {
    const v = finite((result as [number, string] | undefined)?.[1]);
    return v === null ? { inconclusive: 'the value is not a finite number (NaN or ±Inf)' } : { value: v };
  }
  if (resultType !== 'vector' || !Array.isArray(result))
    return { inconclusive: `a ${resultType ?? 'missing'} result: the query must give one number` };
  if (result.length === 0) return { inconclusive: 'no data: the query returned an empty vector' };
  if (result.length > 1 && !reduce)
    return { inconclusive: `${result.length} series: aggregate the query (sum, max …) or set reduce: max|min` };
  const values = (result as Array<{ value?: [number, string] }>).map((s) => finite(s.value?.[1]));
  if (values.some((v) => v === null)) return { inconclusive: 'the value is not a finite number (NaN or ±Inf)' };
  const numbers = values as number[];
  return { value: reduce === 'min' ? Math.min(...numbers) : Math.max(...numbers) };
}

/** Why a request got no answer: for people, without the URL (it may carry credentials). */
function transportProblem(err: unknown, timeoutMs: number): string {
  if (axios.isAxiosError(err)) {
    if (err.response) {
      const body = err.response.data as PromResponse | undefined;
      return `HTTP ${err.response.status}${body?.error ? `: ${body.error}` : ''}`;
    }
    if (err.code === 'ECONNABORTED' || err.code === 'ERR_CANCELED' || err.code === 'ETIMEDOUT') return `no answer within ${timeoutMs}ms`;
    return `cannot reach Prometheus: ${err.code ?? err.message}`;
  }
  return `cannot reach Prometheus: ${(err as Error)?.message ?? String(err)}`;
}

export class PromqlGuard implements SloGuard {
  readonly name: string;
  private readonly http: AxiosInstance;
  private readonly bound: number;
  private readonly kind: 'max' | 'min';
  private last: QueryAnswer | null = null;
  private lastValue: number | null = null;
  private breachStreak = 0;
  private inconclusiveStreak = 0;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** bumped by reset: an answer to a query asked before it describes the time before it */
  private generation = 0;

  constructor(private readonly opts: PromqlGuardOptions) {
    this.name = opts.spec.name;
    this.kind = opts.spec.max !== undefined ? 'max' : 'min';
    this.bound = (opts.spec.max ?? opts.spec.min)!;
    const url = new URL(opts.prometheus.url);
    const auth = url.username ? { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : undefined;
    url.username = '';
    url.password = '';
    this.http = axios.create({
      baseURL: url.href.replace(/\/+$/, ''),
      proxy: false,
      timeout: opts.prometheus.timeoutMs,
      maxRedirects: 0,
      auth,
      headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : undefined,
      // a body of a few KB is an answer; megabytes are a mistake in the query
      maxContentLength: 1024 * 1024,
    });
  }

  start(): void {
    if (this.timer) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.opts.queryEveryMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  /** After the rollback, only answers about the recovered service count. */
  reset(): void {
    this.generation++;
    this.last = null;
    this.breachStreak = 0;
    this.inconclusiveStreak = 0;
  }

  evaluate(): GuardVerdict {
    const view: GuardView = { name: this.name, value: this.lastValue, bound: this.bound, kind: this.kind, state: 'inconclusive' };
    const blind =
      this.inconclusiveStreak >= this.opts.inconclusiveLimit
        ? `${this.name} cannot see: ${this.inconclusiveStreak} inconclusive answers in a row (last: ${this.lastReason()})`
        : undefined;
    if (this.breachStreak >= this.opts.spec.breachFor && this.lastValue !== null) {
      view.state = 'breach';
      const breach = { guard: this.name, value: this.lastValue, threshold: this.bound, bound: this.kind };
      return { status: 'breach', breaches: [breach], values: {}, view, blind };
    }
    if (this.last === null || 'inconclusive' in this.last) {
      view.reason = this.lastReason();
      return { status: 'inconclusive', breaches: [], values: {}, reason: `${this.name}: ${view.reason}`, view, blind };
    }
    view.state = 'ok';
    return { status: 'ok', breaches: [], values: {}, view };
  }

  /** Applies one answer: a value moves the breach streak; an inconclusive one neither resets nor adds to it. */
  record(answer: QueryAnswer): void {
    this.last = answer;
    if ('inconclusive' in answer) {
      this.inconclusiveStreak++;
      return;
    }
    this.inconclusiveStreak = 0;
    this.lastValue = answer.value;
    const breaching = this.kind === 'max' ? answer.value > this.bound : answer.value < this.bound;
    this.breachStreak = breaching ? this.breachStreak + 1 : 0;
  }

  private lastReason(): string {
    return this.last && 'inconclusive' in this.last ? this.last.inconclusive : 'no answer yet';
  }

  private tick(): void {
    // Queries never overlap: one still out when the next is due counts as a skipped, inconclusive answer.
    if (this.inFlight) {
      this.record({ inconclusive: `skipped: the previous query has not answered (timeout ${this.opts.prometheus.timeoutMs}ms)` });
      return;
    }
    const generation = this.generation;
    const apply = (answer: QueryAnswer): void => {
      if (generation === this.generation) this.record(answer);
    };
    this.inFlight = this.ask().then(apply, (err: unknown) => apply({ inconclusive: `query failed: ${(err as Error).message}` }));
    void this.inFlight.finally(() => (this.inFlight = null));
  }

  /** One instant query, its time pinned to now, the timeout told to Prometheus and held here too. */
  async ask(): Promise<QueryAnswer> {
    const { timeoutMs } = this.opts.prometheus;
    try {
      const res = await this.http.get<PromResponse>('/api/v1/query', {
        params: { query: this.opts.spec.query, time: (this.opts.clock() / 1000).toFixed(3), timeout: `${timeoutMs / 1000}s` },
        signal: AbortSignal.timeout(timeoutMs),
      });
      return readAnswer(res.data, this.opts.spec.reduce);
    } catch (err) {
      return { inconclusive: transportProblem(err, timeoutMs) };
    }
  }
}
