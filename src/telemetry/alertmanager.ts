// The Alertmanager notifier: a face like any other, fed by the run's events. Its listener only
// updates the alert book and schedules a post; the posts go out on a later turn of the event loop,
// each bounded by POST_TIMEOUT_MS and awaited by nobody but close(). A rollback never waits for
// Alertmanager, and a dead one is a warning (once per URL), never a failure of the run.
import axios, { type AxiosInstance } from 'axios';
import type { GamedayEvent } from '../engine/events.ts';
import { AlertBook, Delivery, postable, type DeliveryResult, type PostableAlert, type TrackedAlert } from './alerts.ts';
import { forgetOpenAlert, openAlertsToResolve, recordOpenAlert, type OpenAlertFile } from './open-alerts.ts';

/** Per post: the whole exchange, connect to answer. */
export const POST_TIMEOUT_MS = 2_000;
/** close() waits this long at most for what is still to be delivered. */
const CLOSE_WAIT_MS = POST_TIMEOUT_MS + 500;

/** Posts alerts; resolves with the HTTP status (any), rejects on a transport error, a timeout or an abort. */
export type Transport = (endpoint: string, alerts: PostableAlert[], signal: AbortSignal) => Promise<number>;

function axiosTransport(): Transport {
  // No proxy (Alertmanager is usually next door), no redirects; credentials in the URL become basic auth.
  const http: AxiosInstance = axios.create({ proxy: false, maxRedirects: 0, validateStatus: () => true, timeout: POST_TIMEOUT_MS });
  return async (endpoint, alerts, signal) => (await http.post(endpoint, alerts, { signal })).status;
}

export interface NotifierOptions {
  urls: string[];
  resendEveryMs: number;
  redact?: (text: string) => string;
  /** each post's result: gameday_alertmanager_notifications_total{result} */
  count?: (result: DeliveryResult) => void;
  /**
   * What people should hear: a problem with one Alertmanager (once for it), an earlier run's alert
   * resolved. `runEnded`: the summary has gone out (a note would come after it).
   */
  tell?: (text: string, runEnded: boolean) => void;
  /** where GamedayRollbackFailed is recorded for a later recover or run to resolve */
  stateDir?: string;
  /** the experiment's name and id, for the alerts of events that come before its announcement */
  experiment?: { name: string; id: string };
  transport?: Transport;
  now?: () => number;
}

interface Target {
  url: string;
  endpoint: string;
  delivery: Delivery;
  inFlight: Promise<void> | null;
  /** something changed while a post was in flight: post again when it settles */
  again: boolean;
  warned: boolean;
}

/** The base URL's path + /api/v2/alerts (an Alertmanager behind a route prefix keeps its prefix). */
function endpointOf(url: string): string {
  const u = new URL(url);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/api/v2/alerts`;
  return u.toString();
}

/** A URL as it may be shown: no userinfo at all (it may be a password or a token). */
function shownUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname === '/' ? '' : u.pathname}`;
}

function describeFailure(err: unknown): string {
  const e = err as { code?: string; name?: string; message?: string } | null;
  if (e?.code === 'ECONNABORTED' || e?.code === 'ERR_CANCELED' || e?.name === 'CanceledError' || e?.name === 'AbortError')
    return `no answer within ${POST_TIMEOUT_MS}ms`;
  return e?.code ?? e?.message ?? String(err);
}

export class AlertmanagerNotifier {
  readonly book: AlertBook;
  private readonly targets: Target[];
  private readonly transport: Transport;
  private readonly now: () => number;
  private readonly closing = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private scheduled = false;
  private closed = false;
  private readonly writes = new Set<Promise<void>>();
  private readonly recorded = new Set<string>();
  /** alerts of earlier runs being resolved: their files go once every Alertmanager answered */
  private readonly leftovers = new Map<string, OpenAlertFile>();

  constructor(private readonly opts: NotifierOptions) {
    this.book = new AlertBook(opts.redact, opts.experiment);
    this.transport = opts.transport ?? axiosTransport();
    this.now = opts.now ?? Date.now;
    const urls = [...new Set(opts.urls)];
    this.targets = urls.map((url) => ({
      url,
      endpoint: endpointOf(url),
      delivery: new Delivery(),
      inFlight: null,
      again: false,
      warned: false,
    }));
  }

  /** The face: run.onEvent(notifier.listener). Only queues. */
  readonly listener = (e: GamedayEvent): void => {
    if (!this.closed && this.book.observe(e)) this.schedule();
  };

  /** Re-sends every resendEveryMs what is live, and retries what failed. */
  start(): this {
    this.timer ??= setInterval(() => this.pump(true), this.opts.resendEveryMs);
    this.timer.unref();
    return this;
  }

  /** Alerts recorded by earlier runs (open-alerts.ts), to be posted resolved. */
  resolveLeftovers(files: OpenAlertFile[]): void {
    for (const f of files) this.leftovers.set(this.book.resolveRecorded(f.alert, this.now()), f);
    if (files.length) this.schedule();
  }

  /**
   * Stops resending and delivers what is still due (the resolve of GamedayExperimentActive, say),
   * waiting at most CLOSE_WAIT_MS. Never rejects.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.pump(false);
    this.closed = true;
    const deadline = setTimeout(() => this.closing.abort(), CLOSE_WAIT_MS);
    try {
      for (let busy = this.busy(); busy.length; busy = this.busy()) await Promise.all(busy);
      await Promise.all(this.writes);
    } finally {
      clearTimeout(deadline);
    }
  }

  private busy(): Promise<void>[] {
    return this.targets.flatMap((t) => (t.inFlight ? [t.inFlight] : []));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // off the event path: the engine's emit returns before any socket is touched
    setImmediate(() => {
      this.scheduled = false;
      this.pump(false);
    });
  }

  private pump(resend: boolean): void {
    if (this.closed) return;
    this.recordRollbackFailed();
    for (const t of this.targets) this.send(t, resend);
  }

  private send(t: Target, resend: boolean): void {
    if (t.inFlight) {
      t.again = true;
      return;
    }
    if (this.closing.signal.aborted) return;
    const batch = t.delivery.due(this.book.all, this.now(), resend);
    if (!batch.length) return;
    t.inFlight = this.post(t, batch)
      // a broken counter or note must not become an unhandled rejection (that would end the run)
      .catch(() => {})
      .finally(() => {
        t.inFlight = null;
        if (t.again) {
          t.again = false;
          this.send(t, false);
        }
      });
  }

  private async post(t: Target, batch: TrackedAlert[]): Promise<void> {
    const nowMs = this.now();
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), POST_TIMEOUT_MS);
    const onClose = () => timeout.abort();
    this.closing.signal.addEventListener('abort', onClose);
    let result: DeliveryResult;
    let problem = '';
    try {
      const status = await this.transport(
        t.endpoint,
        batch.map((a) => postable(a, nowMs)),
        timeout.signal,
      );
      // 4xx: this request will never be taken; 5xx: Alertmanager's trouble, worth another try
      result = status >= 200 && status < 300 ? 'ok' : status >= 400 && status < 500 ? 'rejected' : 'failed';
      if (result !== 'ok') problem = `HTTP ${status}${result === 'rejected' ? ' (the alerts were refused; not retried)' : ''}`;
    } catch (err) {
      result = 'failed';
      problem = describeFailure(err);
    } finally {
      clearTimeout(timer);
      this.closing.signal.removeEventListener('abort', onClose);
    }
    t.delivery.settle(batch, result);
    this.opts.count?.(result);
    if (problem && !t.warned) {
      t.warned = true;
      this.opts.tell?.(`alertmanager ${shownUrl(t.url)}: ${problem}; alerts may not reach it (the run goes on)`, this.book.ended);
    }
    this.forgetAnsweredLeftovers();
  }

  /** GamedayRollbackFailed outlives the run: recorded for a later recover or run to resolve. */
  private recordRollbackFailed(): void {
    const dir = this.opts.stateDir;
    if (!dir) return;
    for (const a of this.book.all) {
      if (a.kind !== 'rollback-failed' || a.resolved || this.leftovers.has(a.key) || this.recorded.has(`${a.key}@${a.version}`)) continue;
      this.recorded.add(`${a.key}@${a.version}`);
      this.track(recordOpenAlert(dir, postable(a, this.now())));
    }
  }

  private forgetAnsweredLeftovers(): void {
    for (const [key, file] of this.leftovers) {
      const a = this.book.all.find((x) => x.key === key);
      if (!a || !this.targets.every((t) => t.delivery.answered(a))) continue;
      this.leftovers.delete(key);
      this.track(forgetOpenAlert(file));
      const { alertname, experiment, experiment_id } = file.alert.labels;
      this.opts.tell?.(
        `${alertname} of ${experiment} (${experiment_id}) resolved in Alertmanager: nothing left to roll back`,
        this.book.ended,
      );
    }
  }

  private track(write: Promise<void>): void {
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
  }
}

/**
 * The notifier of one run: subscribed to its events, resending, and telling people through the
 * run's notes (on stderr once the summary is out: nothing comes after it).
 */
export function alertmanagerFace(
  run: { onEvent(listener: (e: GamedayEvent) => void): void; addNote(text: string): void },
  config: { urls: string[]; resendEveryMs: number },
  x: {
    stateDir: string;
    experiment: string;
    experimentId: string;
    redact: (text: string) => string;
    stderr: { write(text: string): unknown };
    count?: (r: DeliveryResult) => void;
  },
): AlertmanagerNotifier {
  const notifier = new AlertmanagerNotifier({
    ...config,
    // a budget limit already reached is told before the experiment is announced
    experiment: { name: x.experiment, id: x.experimentId },
    redact: x.redact,
    count: x.count,
    stateDir: x.stateDir,
    tell: (text, runEnded) => (runEnded ? x.stderr.write(`gameday: ${text}\n`) : run.addNote(text)),
  });
  run.onEvent(notifier.listener);
  return notifier.start();
}

/** `gameday recover`: earlier runs' GamedayRollbackFailed posted resolved, where nothing is left to roll back. */
export async function resolveOpenAlerts(
  stateDir: string,
  awaitingRollback: ReadonlySet<string>,
  config: { urls: string[]; resendEveryMs: number },
  x: { redact: (text: string) => string; tell: (text: string) => void },
): Promise<void> {
  const files = await openAlertsToResolve(stateDir, awaitingRollback);
  if (!files.length) return;
  const notifier = new AlertmanagerNotifier({ ...config, redact: x.redact, tell: (text) => x.tell(text) });
  notifier.resolveLeftovers(files);
  await notifier.close();
}
