// The embedded demo: an API (the target) that calls a pricing dependency through the built-in fault
// proxy, with the usual defences — a per-attempt timeout, retries, and optionally a cached fallback.
// A game day against it shows whether those defences absorb the fault. Everything listens on free
// loopback ports and lives in this process.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { FaultProxy } from '../faults/proxy.ts';

export interface DemoOptions {
  /** per-attempt timeout on the dependency call (default 1000) */
  timeoutMs?: number;
  /** extra attempts on 5xx, timeout or reset (default 1) */
  retries?: number;
  /** answer from the last good dependency response when every attempt failed (default false) */
  fallback?: boolean;
  /** default 127.0.0.1 */
  host?: string;
}

export interface DemoStats {
  apiRequests: number;
  primaryRequests: number;
  standbyRequests: number;
  fallbacks: number;
}

export interface Demo {
  /** the API: what traffic hits and the SLOs measure */
  targetUrl: string;
  healthPath: '/healthz';
  /** the dependency's two instances */
  primaryUrl: string;
  standbyUrl: string;
  /** the API reaches its dependency through this proxy (upstream = primary at start) */
  proxy: FaultProxy;
  stats(): DemoStats;
  close(): Promise<void>;
}

/** The API's own work per request. */
const API_PROCESSING_MS = 1;
const DEPENDENCY_MEDIAN_MS = 4;
const DEPENDENCY_SIGMA = 0.3;
const DEPENDENCY_MIN_MS = 2;
const DEPENDENCY_MAX_MS = 8;
/**
 * Requests sent through the whole chain at start: a fresh process is JIT-cold and has no open
 * connections, which would make the first second look slower than the steady state a baseline is
 * meant to capture. It also fills the fallback cache, as a service that has been serving would have.
 */
const WARM_UP_REQUESTS = 40;
const WARM_UP_CONCURRENCY = 8;

/**
 * Dependency latency, lognormal-ish around 4 ms, clamped to 2–8 ms. The normal draw is the sum of
 * three uniforms (Irwin–Hall, sd 0.5): cheap, bounded, close enough to a bell.
 */
export function dependencyLatencyMs(u1: number, u2: number, u3: number): number {
  const z = (u1 + u2 + u3 - 1.5) / 0.5;
  const ms = DEPENDENCY_MEDIAN_MS * Math.exp(DEPENDENCY_SIGMA * z);
  return Math.min(DEPENDENCY_MAX_MS, Math.max(DEPENDENCY_MIN_MS, ms));
}

/** How one attempt at the dependency went. */
type Attempt =
  | { ok: true; body: Buffer }
  | { ok: false; kind: 'timeout' | 'error'; retryable: boolean };

/** 5xx and 429 are worth another try; other 4xx would fail again the same way. */
export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

/** What the API answers when every attempt failed and there is no fallback. */
export function failureStatus(lastKind: 'timeout' | 'error'): 503 | 504 {
  return lastKind === 'timeout' ? 504 : 503;
}

export async function startDemo(opts: DemoOptions = {}): Promise<Demo> {
  const host = opts.host ?? '127.0.0.1';
  const timeoutMs = opts.timeoutMs ?? 1_000;
  const retries = opts.retries ?? 1;
  const fallback = opts.fallback ?? false;
  const counts: DemoStats = { apiRequests: 0, primaryRequests: 0, standbyRequests: 0, fallbacks: 0 };

  const started: { close(): Promise<void> }[] = [];
  const closeAll = async (): Promise<void> => {
    for (const s of started.reverse()) await s.close().catch(() => {});
  };
  try {
    const primary = await listen(dependencyServer('primary', () => counts.primaryRequests++), host);
    started.push(primary);
    const standby = await listen(dependencyServer('standby', () => counts.standbyRequests++), host);
    started.push(standby);
    const proxy = await FaultProxy.start({ listenHost: host, upstreamUrl: primary.url });
    started.push(proxy);
    // Keep-alive to the dependency, as a real service would; no cap on connections so that a held
    // dependency shows up as timeouts, not as queueing inside this pool.
    const pool = new Pool(proxy.url, { keepAliveTimeout: 4_000, connect: { timeout: timeoutMs } });
    started.push({ close: () => pool.destroy() });
    let lastGood: Buffer | null = null;

    const attempt = async (): Promise<Attempt> => {
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), timeoutMs);
      try {
        const res = await pool.request({ path: '/v1/price?sku=sku-1042', method: 'GET', signal: abort.signal });
        const body = Buffer.from(await res.body.arrayBuffer());
        if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true, body };
        return { ok: false, kind: 'error', retryable: retryableStatus(res.statusCode) };
      } catch {
        // aborted by our timer: a timeout; anything else (reset, refused): an error worth a retry
        return { ok: false, kind: abort.signal.aborted ? 'timeout' : 'error', retryable: true };
      } finally {
        clearTimeout(timer);
      }
    };

    const api = http.createServer({ keepAlive: true, noDelay: true }, (req, res) => {
      if (req.url === '/healthz' || req.url?.startsWith('/healthz?')) return sendJson(res, 200, '{"status":"ok"}');
      counts.apiRequests++;
      void (async () => {
        await sleep(API_PROCESSING_MS);
        let result: Attempt = await attempt();
        for (let n = 1; !result.ok && result.retryable && n <= retries; n++) result = await attempt();
        if (result.ok) {
          lastGood = result.body;
          return sendJson(res, 200, `{"ok":true,"quote":${result.body.toString()}}`);
        }
        if (fallback && lastGood !== null) {
          counts.fallbacks++;
          return sendJson(res, 200, `{"ok":true,"cached":true,"quote":${lastGood.toString()}}`, { 'x-gameday-fallback': '1' });
        }
        const status = failureStatus(result.kind);
        sendJson(res, status, JSON.stringify({ ok: false, error: status === 504 ? 'dependency timeout' : 'dependency error' }));
      })().catch(() => res.destroy());
    });
    const apiListener = await listen(api, host);
    started.push(apiListener);
    await warmUp(apiListener.url);
    // The warm-up is not part of anybody's experiment (the proxy's own stats do include it).
    Object.assign(counts, { apiRequests: 0, primaryRequests: 0, standbyRequests: 0, fallbacks: 0 });

    return {
      targetUrl: apiListener.url,
      healthPath: '/healthz',
      primaryUrl: primary.url,
      standbyUrl: standby.url,
      proxy,
      stats: () => ({ ...counts }),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function warmUp(url: string): Promise<void> {
  const pool = new Pool(url, { connections: WARM_UP_CONCURRENCY });
  let sent = 0;
  try {
    await Promise.all(
      Array.from({ length: WARM_UP_CONCURRENCY }, async () => {
        while (sent < WARM_UP_REQUESTS) {
          sent++;
          const res = await pool.request({ path: '/', method: 'GET' }).catch(() => null);
          await res?.body.dump();
        }
      }),
    );
  } finally {
    await pool.destroy();
  }
}

/** One instance of the pricing dependency: JSON after a realistic, slightly variable delay. */
function dependencyServer(instance: 'primary' | 'standby', onRequest: () => void): http.Server {
  let version = 0;
  return http.createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    onRequest();
    const delayMs = dependencyLatencyMs(Math.random(), Math.random(), Math.random());
    setTimeout(() => {
      version++;
      // Price moves a little so cached answers are visibly older than fresh ones.
      const priceCents = 1299 + (version % 7);
      sendJson(res, 200, `{"service":"pricing","instance":"${instance}","sku":"sku-1042","priceCents":${priceCents},"inStock":true,"version":${version}}`);
    }, delayMs);
  });
}

async function listen(server: http.Server, host: string): Promise<{ url: string; close(): Promise<void> }> {
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${hostPart}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sendJson(res: http.ServerResponse, status: number, body: string, extra: http.OutgoingHttpHeaders = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
