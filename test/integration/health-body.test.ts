// A health endpoint's body is not read: only the status matters. A real loopback server streams a
// 200 MB or an endless body behind a 200; the probe must pass at the headers, keep its memory,
// and close the connection instead of draining it.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { listenOnLoopback } from '../helpers/loopback.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { HealthProber } from '../../src/engine/health.ts';
import { waitUntil } from '../helpers/wait.ts';

interface BodyServer {
  url: string;
  headersAtMs: number | null;
  closedAtMs: number | null;
  bytesSent: number;
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const CHUNK = Buffer.alloc(64 * 1024, 'x');

/** Serves 200 with `totalBytes` of body (Infinity: chunked, endless), written as fast as the client reads. */
async function startBodyServer(totalBytes: number): Promise<BodyServer> {
  const s = { headersAtMs: null, closedAtMs: null, bytesSent: 0 } as BodyServer;
  const server: Server = createServer((req, res: ServerResponse) => {
    if (req.url === '/small') {
      res.end('ok');
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      ...(Number.isFinite(totalBytes) ? { 'content-length': String(totalBytes) } : {}),
    });
    res.flushHeaders();
    s.headersAtMs = performance.now();
    res.on('close', () => (s.closedAtMs ??= performance.now()));
    const pump = (): void => {
      while (s.bytesSent < totalBytes && !res.destroyed) {
        const chunk = totalBytes - s.bytesSent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, totalBytes - s.bytesSent);
        s.bytesSent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump); // back-pressure: only what the client takes is produced
          return;
        }
      }
      if (s.bytesSent >= totalBytes) res.end();
    };
    pump();
  });
  ({ url: s.url, close: s.close } = await listenOnLoopback(server));
  cleanups.push(() => s.close());
  return s;
}

describe('health probe bodies', () => {
  it('a 200 MB body: the probe passes at the headers, RSS grows by a few MB at most, the socket is closed', async () => {
    const server = await startBodyServer(200 * 1024 * 1024);
    const prober = new HealthProber({ url: `${server.url}/big`, timeoutMs: 20_000 });
    // warm up the code paths (axios, http parser) so their one-time allocations are not counted
    await new HealthProber({ url: `${server.url}/small`, timeoutMs: 5_000 }).probeOnce();
    const rssBefore = process.memoryUsage().rss;
    const result = await prober.probeOnce();
    const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
    expect(result).toMatchObject({ ok: true, status: 200 });
    expect(result.latencyMs).toBeLessThan(1_000);
    expect(rssGrowthMb).toBeLessThan(8);
    await waitUntil(() => server.closedAtMs !== null, 2_000, 'the server to see the socket closed');
    expect(server.closedAtMs! - server.headersAtMs!).toBeLessThan(1_000);
    expect(server.bytesSent).toBeLessThan(32 * 1024 * 1024); // what loopback buffers took, not the body
  });

  it('an endless body: the probe passes quickly, every time, and each socket is closed', async () => {
    const server = await startBodyServer(Infinity);
    const prober = new HealthProber({ url: `${server.url}/endless`, timeoutMs: 3_000 });
    for (let i = 0; i < 3; i++) {
      server.closedAtMs = null;
      const result = await prober.probeOnce();
      expect(result).toMatchObject({ ok: true, status: 200 });
      expect(result.latencyMs).toBeLessThan(1_000);
      await waitUntil(() => server.closedAtMs !== null, 2_000, 'the server to see the socket closed');
    }
  });
});
