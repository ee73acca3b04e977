// The demo API's own request metrics, as a real service would export them (prom-client, on a port
// of its own), so that a PromQL SLO guard can be tried on a fresh machine against a local Prometheus.
import { Counter, Histogram, Registry } from 'prom-client';
import { serveMetrics, type MetricsServer } from '../telemetry/metrics-server.ts';

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
  private server: MetricsServer | null = null;

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
    try {
      this.server = await serveMetrics({
        host,
        port,
        render: () => this.registry.metrics(),
        contentType: this.registry.contentType,
        name: 'demo',
      });
      return this.server.url;
    } catch {
      return null;
    }
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    await s?.close();
  }
}
