// Health probes: GET the target's health endpoint every interval; a 2xx passes, anything else
// (other status, timeout, connection error) fails. The SLI is the count of consecutive failures.
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { ClientRequest } from 'node:http';
import type { Readable } from 'node:stream';
import { nowMs, type Clock } from './clock.ts';

/** Backstop: more of a probe's body than this is never taken in (nothing reads it today). */
const MAX_BODY_BYTES = 4 * 1024;

export interface ProbeResult {
  ok: boolean;
  status?: number;
  error?: string;
  latencyMs: number;
}

export type HealthProberOptions = ({ /** the full health URL */ url: string } | { targetUrl: string; healthPath: string }) & {
  /** default 1000 */
  intervalMs?: number;
  /** default 1000 */
  timeoutMs?: number;
  /** called after every scheduled probe (not for probeOnce); what it throws is ignored */
  onProbe?: (result: ProbeResult) => void;
  /** the run's clock (latencies and the interval); default: the monotonic one */
  clock?: Clock;
};

/** targetUrl + healthPath, with exactly one slash between them. */
export function joinUrl(targetUrl: string, path: string): string {
  return targetUrl.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`);
}

export class HealthProber {
  readonly url: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  private readonly onProbe?: (result: ProbeResult) => void;
  private readonly clock: Clock;
  private readonly http: AxiosInstance;
  private failures = 0;
  private error: string | null = null;
  private last: ProbeResult | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private inProgress: Promise<unknown> | null = null;

  constructor(opts: HealthProberOptions) {
    this.url = 'url' in opts ? opts.url : joinUrl(opts.targetUrl, opts.healthPath);
    this.intervalMs = opts.intervalMs ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.onProbe = opts.onProbe;
    this.clock = opts.clock ?? nowMs;
    // No proxies (a game day talks to the target directly), every status is an answer. The body is
    // never read: it comes as a stream that probeOnce closes at the headers (a buffered 200 MB body
    // once cost ~1 GB and the whole download). maxContentLength bounds anything that would read it.
    this.http = axios.create({
      proxy: false,
      validateStatus: () => true,
      timeout: this.timeoutMs,
      maxRedirects: 0,
      responseType: 'stream',
      decompress: false,
      maxContentLength: MAX_BODY_BYTES,
      transitional: { clarifyTimeoutError: true },
    });
  }

  /** Consecutive failed scheduled probes (0 after a pass). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Why the last failed scheduled probe failed; null after a pass. */
  get lastError(): string | null {
    return this.error;
  }

  get lastResult(): ProbeResult | null {
    return this.last;
  }

  /** Probes every intervalMs, the first one now. Probes never overlap. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop();
  }

  /** Stops probing; resolves once a probe in progress (bounded by timeoutMs) has settled. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.inProgress;
  }

  /** One probe. Does not touch the consecutive-failure count (preflight uses it on its own). */
  async probeOnce(): Promise<ProbeResult> {
    const startedMs = this.clock();
    try {
      // The axios timeout is per socket inactivity; the signal bounds the whole exchange.
      const res = await this.http.get(this.url, { signal: AbortSignal.timeout(this.timeoutMs) });
      discardBody(res);
      const latencyMs = this.clock() - startedMs;
      const ok = res.status >= 200 && res.status < 300;
      return ok ? { ok, status: res.status, latencyMs } : { ok, status: res.status, error: `HTTP ${res.status}`, latencyMs };
    } catch (err) {
      return { ok: false, error: describeError(err, this.timeoutMs), latencyMs: this.clock() - startedMs };
    }
  }

  private loop(): void {
    const startedMs = this.clock();
    const probe = this.probeOnce().then((result) => {
      if (!this.running) return;
      this.apply(result);
      try {
        this.onProbe?.(result);
      } catch {
        // A listener's bug must not stop the probing (the SLI would freeze at its last value).
      }
      // Next probe one interval after this one started, or at once if it took longer.
      const waitMs = Math.max(0, this.intervalMs - (this.clock() - startedMs));
      this.timer = setTimeout(() => this.loop(), waitMs);
    });
    this.inProgress = probe;
  }

  private apply(result: ProbeResult): void {
    this.last = result;
    if (result.ok) {
      this.failures = 0;
      this.error = null;
    } else {
      this.failures++;
      this.error = result.error ?? 'failed';
    }
  }
}

/**
 * Closes the connection under a response whose body is not wanted. Destroying the request destroys
 * its socket: the body stream axios hands over may be a wrapper whose destroy leaves the socket
 * open, and a socket left unread stays stuck with the server's unsent body (and is never reused).
 */
function discardBody(res: AxiosResponse): void {
  const body = res.data as Readable | undefined;
  body?.on('error', () => {}); // closing it unread may surface as a reset: not a probe failure
  body?.destroy();
  (res.request as ClientRequest | undefined)?.destroy();
}

function describeError(err: unknown, timeoutMs: number): string {
  const e = err as { code?: string; message?: string; name?: string } | null;
  const code = e?.code;
  if (
    code === 'ETIMEDOUT' ||
    code === 'ECONNABORTED' ||
    code === 'ERR_CANCELED' ||
    e?.name === 'TimeoutError' ||
    e?.name === 'CanceledError'
  ) {
    return `timeout after ${timeoutMs}ms`;
  }
  if (code) return `${code}${e?.message && !e.message.includes(code) ? `: ${e.message}` : ''}`;
  return e?.message ?? String(err);
}
