// The embedded demo: an API (the target) that calls a pricing dependency through the built-in fault
// proxy, with the usual defences — a per-attempt timeout, retries, and optionally a cached fallback.
// A game day against it shows whether those defences absorb the fault. Everything listens on free
// loopback ports and lives in this process, except for process-kill: then the primary runs as a
// process of its own (pricing-process.ts) that can be killed and restarted.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { describeFailure, runCommand } from '../faults/command-driver.ts';
import { pidAlive } from '../faults/pid.ts';
import { FaultProxy } from '../faults/proxy.ts';
import { DemoMetrics } from './demo-metrics.ts';
import { dependencyServer, listen, sendJson } from './pricing-server.ts';

export interface DemoOptions {
  /** per-attempt timeout on the dependency call (default 1000) */
  timeoutMs?: number;
  /** extra attempts on 5xx, timeout or reset (default 1) */
  retries?: number;
  /** answer from the last good dependency response when every attempt failed (default false) */
  fallback?: boolean;
  /** default 127.0.0.1 */
  host?: string;
  /** run the primary dependency as a process of its own, to be killed and restarted (process-kill) */
  primaryAsProcess?: boolean;
  /** the API's /metrics port (0: a free one; default: none) */
  metricsPort?: number;
}

interface DemoStats {
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
  /** with primaryAsProcess: where its pid is, and the command that (re)starts it on the same port */
  primaryProcess: { pidFile: string; restart: string[] } | null;
  /** the API's own /metrics; null when not asked for, or its port was taken */
  metricsUrl: string | null;
  stats(): DemoStats;
  close(): Promise<void>;
}

/** The API's own work per request. */
const API_PROCESSING_MS = 1;
/**
 * Requests sent through the whole chain at start: a fresh process is JIT-cold and has no open
 * connections, which would make the first second look slower than the steady state a baseline is
 * meant to capture. It also fills the fallback cache, as a service that has been serving would have.
 */
const WARM_UP_REQUESTS = 40;
const WARM_UP_CONCURRENCY = 8;

/** How one attempt at the dependency went. */
type Attempt = { ok: true; body: Buffer } | { ok: false; kind: 'timeout' | 'error'; retryable: boolean };

/** 5xx and 429 are worth another try; other 4xx would fail again the same way. */
function retryableStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

/** What the API answers when every attempt failed and there is no fallback. */
function failureStatus(lastKind: 'timeout' | 'error'): 503 | 504 {
  return lastKind === 'timeout' ? 504 : 503;
}

/** One call to the dependency through the pool, bounded by the API's own timeout. */
function dependencyCaller(pool: Pool, timeoutMs: number): () => Promise<Attempt> {
  return async () => {
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
}

/** The API (the target): a little work, the dependency with its retries, and the cached fallback if on. */
function apiServer(
  attempt: () => Promise<Attempt>,
  o: { retries: number; fallback: boolean; counts: DemoStats; metrics: DemoMetrics | null },
): http.Server {
  let lastGood: Buffer | null = null;
  return http.createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    if (req.url === '/healthz' || req.url?.startsWith('/healthz?')) return sendJson(res, 200, '{"status":"ok"}');
    o.counts.apiRequests++;
    if (o.metrics) {
      const startedMs = performance.now();
      const metrics = o.metrics;
      res.once('finish', () => metrics.observe(res.statusCode, (performance.now() - startedMs) / 1000));
    }
    void (async () => {
      await sleep(API_PROCESSING_MS);
      let result: Attempt = await attempt();
      for (let n = 1; !result.ok && result.retryable && n <= o.retries; n++) result = await attempt();
      if (result.ok) {
        lastGood = result.body;
        return sendJson(res, 200, `{"ok":true,"quote":${result.body.toString()}}`);
      }
      if (o.fallback && lastGood !== null) {
        o.counts.fallbacks++;
        return sendJson(res, 200, `{"ok":true,"cached":true,"quote":${lastGood.toString()}}`, { 'x-gameday-fallback': '1' });
      }
      const status = failureStatus(result.kind);
      sendJson(res, status, JSON.stringify({ ok: false, error: status === 504 ? 'dependency timeout' : 'dependency error' }));
    })().catch(() => res.destroy());
  });
}

export async function startDemo(opts: DemoOptions = {}): Promise<Demo> {
  const host = opts.host ?? '127.0.0.1';
  const timeoutMs = opts.timeoutMs ?? 1_000;
  const retries = opts.retries ?? 1;
  const fallback = opts.fallback ?? false;
  const counts: DemoStats = { apiRequests: 0, primaryRequests: 0, standbyRequests: 0, fallbacks: 0 };

  const started: { close(): Promise<void> }[] = [];
  const closeAll = async (): Promise<void> => {
    for (const s of [...started].reverse()) await s.close().catch(() => {});
  };
  try {
    const primaryProc = opts.primaryAsProcess ? await startPrimaryProcess(host) : null;
    if (primaryProc) started.push(primaryProc);
    const primary =
      primaryProc ??
      (await listen(
        dependencyServer('primary', () => counts.primaryRequests++),
        host,
      ));
    if (!primaryProc) started.push(primary);
    const standby = await listen(
      dependencyServer('standby', () => counts.standbyRequests++),
      host,
    );
    started.push(standby);
    const proxy = await FaultProxy.start({ listenHost: host, upstreamUrl: primary.url });
    started.push(proxy);
    // Keep-alive to the dependency, as a real service would; no cap on connections so that a held
    // dependency shows up as timeouts, not as queueing inside this pool.
    const pool = new Pool(proxy.url, { keepAliveTimeout: 4_000, connect: { timeout: timeoutMs } });
    started.push({ close: () => pool.destroy() });
    const attempt = dependencyCaller(pool, timeoutMs);
    const metrics = opts.metricsPort !== undefined ? new DemoMetrics() : null;
    const metricsUrl = metrics ? await metrics.listen(host, opts.metricsPort!) : null;
    if (metrics) started.push(metrics);
    const api = apiServer(attempt, { retries, fallback, counts, metrics });
    const apiListener = await listen(api, host);
    started.push(apiListener);
    await warmUp(apiListener.url);
    metrics?.reset();
    // The warm-up is not part of anybody's experiment (the proxy's own stats do include it).
    Object.assign(counts, { apiRequests: 0, primaryRequests: 0, standbyRequests: 0, fallbacks: 0 });

    return {
      targetUrl: apiListener.url,
      healthPath: '/healthz',
      primaryUrl: primary.url,
      standbyUrl: standby.url,
      proxy,
      primaryProcess: primaryProc && { pidFile: primaryProc.pidFile, restart: primaryProc.restart },
      metricsUrl,
      stats: () => ({ ...counts }),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * The primary in its own process (src/demo/pricing-process.ts), started by the same command that
 * restarts it. Its requests are not counted in stats(): it is out of reach.
 */
async function startPrimaryProcess(host: string): Promise<{ url: string; pidFile: string; restart: string[]; close(): Promise<void> }> {
  const { pricingStartArgv } = await import('./pricing-process.ts');
  const dir = mkdtempSync(join(tmpdir(), 'gameday-demo-'));
  const pidFile = join(dir, 'pricing-primary.pid');
  const base = { host, pidFile, parentPid: process.pid };
  const first = await runCommand(pricingStartArgv({ ...base, port: 0 }), { timeoutMs: 20_000 });
  let ready: { url?: string } = {};
  try {
    if (first.exitCode === 0) ready = JSON.parse(first.stdout.trim().split('\n').pop() ?? '{}') as { url?: string };
  } catch {
    // not the ready line: reported below as a failed start
  }
  if (!ready.url) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`the demo's pricing process did not start: ${describeFailure(pricingStartArgv({ ...base, port: 0 }), first)}`);
  }
  const port = Number(new URL(ready.url).port);
  return {
    url: ready.url,
    pidFile,
    restart: pricingStartArgv({ ...base, port }),
    close: async () => {
      // whichever process the pid file names now (the first, or the one a restart brought up)
      let pid = NaN;
      try {
        pid = Number(readFileSync(pidFile, 'utf8').trim());
      } catch {
        // killed and never restarted: nothing to stop
      }
      try {
        if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
          process.kill(pid, 'SIGTERM');
          for (let i = 0; i < 50 && pidAlive(pid); i++) await sleep(20);
          if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
        }
      } catch {
        // it exited between the check and the signal
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
