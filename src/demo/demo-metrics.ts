// The demo API's own request metrics, as a real service would export them (prom-client, on a port
// of its own), so that a PromQL SLO guard can be tried on a fresh machine against a local Prometheus.
import { createServer, type Server } from 'node:http';
import { Counter, Histogram, Registry } from 'prom-client';

/** Seconds: from a fast answer to the demo's 1 s dependency timeout × retries, and past it. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 5];

export class DemoMetrics {
  private readonly registry = new Registry();
  private readonly duration = new Histogram({
    name: 'demo_http_request_duration_seconds',
    help: 'Time the demo API took to answer a request, by status code',
    labelNames: ['code'],
    buckets: BUCKETS,
    registers: [this.registry],
  });
  private readonly requests = new Counter({
    name: 'demo_http_requests_total',
    help: 'Requests the demo API answered, by status code',
    labelNames: ['code'],
    registers: [this.registry],
  });
  private server: Server | null = null;

  observe(statusCode: number, seconds: number): void {
    const code = String(statusCode);
    this.duration.observe({ code }, seconds);
    this.requests.inc({ code });
  }

  /** The warm-up is not the service's traffic. */
  reset(): void {
    this.registry.resetMetrics();
  }

  /** Serves /metrics; the URL, or null when the port is taken (a warning, not a failure). */
  async listen(host: string, port: number): Promise<string | null> {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end('see /metrics\n');
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    });
    return new Promise((resolve) => {
      server.once('error', () => resolve(null));
      server.listen(port, host, () => {
        this.server = server;
        const a = server.address();
        resolve(typeof a === 'object' && a ? `http://${host}:${a.port}/metrics` : null);
      });
    });
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
