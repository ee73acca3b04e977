// The demo's pricing dependency: one HTTP instance (primary or standby) answering JSON after a
// realistic, slightly variable delay. Small on purpose: the pricing process loads only this.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const DEPENDENCY_MEDIAN_MS = 4;
const DEPENDENCY_SIGMA = 0.3;
const DEPENDENCY_MIN_MS = 2;
const DEPENDENCY_MAX_MS = 8;
/**
 * Dependency latency, lognormal-ish around 4 ms, clamped to 2–8 ms. The normal draw is the sum of
 * three uniforms (Irwin–Hall, sd 0.5): cheap, bounded, close enough to a bell.
 */
export function dependencyLatencyMs(u1: number, u2: number, u3: number): number {
  const z = (u1 + u2 + u3 - 1.5) / 0.5;
  const ms = DEPENDENCY_MEDIAN_MS * Math.exp(DEPENDENCY_SIGMA * z);
  return Math.min(DEPENDENCY_MAX_MS, Math.max(DEPENDENCY_MIN_MS, ms));
}

/** One instance of the pricing dependency: JSON after a realistic, slightly variable delay. */
export function dependencyServer(instance: 'primary' | 'standby', onRequest: () => void): http.Server {
  let version = 0;
  return http.createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    onRequest();
    const delayMs = dependencyLatencyMs(Math.random(), Math.random(), Math.random());
    setTimeout(() => {
      version++;
      // Price moves a little so cached answers are visibly older than fresh ones.
      const priceCents = 1299 + (version % 7);
      sendJson(
        res,
        200,
        `{"service":"pricing","instance":"${instance}","sku":"sku-1042","priceCents":${priceCents},"inStock":true,"version":${version}}`,
      );
    }, delayMs);
  });
}

export async function listen(server: http.Server, host: string, port = 0): Promise<{ url: string; close(): Promise<void> }> {
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
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

export function sendJson(res: http.ServerResponse, status: number, body: string, extra: http.OutgoingHttpHeaders = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}
