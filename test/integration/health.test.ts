// Health probes against a real loopback server: pass, fail, recover, and each way of failing.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { listenOnLoopback } from '../helpers/loopback.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthProber, joinUrl } from '../../src/engine/health.ts';
import { waitUntil } from '../helpers/wait.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface HealthServer {
  url: string;
  status: number;
  /** when true, health requests are never answered */
  hang: boolean;
  paths: string[];
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startHealthServer(): Promise<HealthServer> {
  const held: ServerResponse[] = [];
  const s = { status: 200, hang: false, paths: [] as string[] } as HealthServer;
  const server: Server = createServer((req, res) => {
    s.paths.push(req.url ?? '');
    if (s.hang) {
      held.push(res);
      return;
    }
    res.statusCode = s.status;
    res.end('{}');
  });
  ({ url: s.url, close: s.close } = await listenOnLoopback(server));
  cleanups.push(() => s.close());
  return s;
}

function prober(opts: ConstructorParameters<typeof HealthProber>[0]): HealthProber {
  const p = new HealthProber(opts);
  cleanups.push(() => p.stop());
  return p;
}

describe('HealthProber', () => {
  it('joins target URL and health path with one slash', () => {
    expect(joinUrl('http://h:1/', '/healthz')).toBe('http://h:1/healthz');
    expect(joinUrl('http://h:1/api', 'healthz')).toBe('http://h:1/api/healthz');
  });

  it('probeOnce: a 2xx passes, anything else fails, with status and latency', async () => {
    const server = await startHealthServer();
    const p = prober({ targetUrl: server.url, healthPath: '/healthz' });
    const pass = await p.probeOnce();
    expect(pass).toMatchObject({ ok: true, status: 200 });
    expect(pass.latencyMs).toBeGreaterThan(0);
    expect(pass.latencyMs).toBeLessThan(1000);
    expect(server.paths).toEqual(['/healthz']);

    server.status = 204;
    expect((await p.probeOnce()).ok).toBe(true);
    server.status = 503;
    expect(await p.probeOnce()).toMatchObject({ ok: false, status: 503, error: 'HTTP 503' });
    server.status = 302;
    expect(await p.probeOnce()).toMatchObject({ ok: false, status: 302 });
    // probeOnce is for preflight: it leaves the consecutive-failure count alone
    expect(p.consecutiveFailures).toBe(0);
  });

  it('probeOnce: a closed port fails with the connection error', async () => {
    const server = await startHealthServer();
    await server.close();
    const r = await prober({ url: `${server.url}/healthz` }).probeOnce();
    expect(r.ok).toBe(false);
    expect(r.status).toBeUndefined();
    expect(r.error).toMatch(/ECONNREFUSED/);
  });

  it('probeOnce: a hanging endpoint fails at the timeout', async () => {
    const server = await startHealthServer();
    server.hang = true;
    const r = await prober({ url: `${server.url}/healthz`, timeoutMs: 200 }).probeOnce();
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/timeout/);
    expect(r.latencyMs).toBeGreaterThanOrEqual(190);
    expect(r.latencyMs).toBeLessThan(600);
  });

  it('counts consecutive failures while probing, and resets on a pass', async () => {
    const server = await startHealthServer();
    const results: boolean[] = [];
    const p = prober({ targetUrl: server.url, healthPath: '/healthz', intervalMs: 50, timeoutMs: 200, onProbe: (r) => results.push(r.ok) });
    const startedAt = performance.now();
    p.start();
    await waitUntil(() => results.length >= 3, 3000);
    // the first probe runs at start, then one per interval
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(95);
    expect(p.consecutiveFailures).toBe(0);
    expect(p.lastError).toBeNull();

    server.status = 500;
    await waitUntil(() => p.consecutiveFailures >= 3, 3000);
    expect(p.lastError).toBe('HTTP 500');
    expect(p.lastResult?.status).toBe(500);
    expect(results.slice(-3)).toEqual([false, false, false]);

    server.status = 200;
    await waitUntil(() => p.consecutiveFailures === 0, 3000);
    expect(p.lastError).toBeNull();

    await p.stop();
    const count = results.length;
    await sleep(150);
    expect(results.length).toBe(count); // no probes after stop
  });

  it('probes do not overlap when the target hangs, and stop() waits for the one in progress', async () => {
    const server = await startHealthServer();
    server.hang = true;
    const p = prober({ targetUrl: server.url, healthPath: '/healthz', intervalMs: 20, timeoutMs: 150 });
    p.start();
    await sleep(400);
    // each probe takes the 150 ms timeout, so about 3, not 20
    expect(server.paths.length).toBeGreaterThanOrEqual(2);
    expect(server.paths.length).toBeLessThanOrEqual(4);
    expect(p.consecutiveFailures).toBeGreaterThanOrEqual(2);
    expect(p.lastError).toMatch(/timeout/);
    const stopAt = performance.now();
    await p.stop();
    expect(performance.now() - stopAt).toBeLessThan(250);
  });
});
