// One /metrics endpoint over HTTP, for a run, the demo and the exporter alike: the registry's text at
// /metrics (the query string ignored), 404 for anything else; closing does not wait for the
// scraper's kept-alive connection.
import { createServer } from 'node:http';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  host: string;
  /** 0: a free port */
  port: number;
  render: () => Promise<string>;
  contentType: string;
  /** after each scrape is answered */
  onScrape?: () => void;
  /** a server error once listening (accept failing for want of file descriptors): said, not fatal */
  onError?: (err: Error) => void;
  /** the 404's text */
  name?: string;
}

/** Listens; rejects with the listen error (EADDRINUSE …) for the caller to judge. */
export async function serveMetrics(o: ServeOptions): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    // (not new URL(): a malformed absolute-form request target would throw out of the handler)
    if ((req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`${o.name ?? 'gameday'}: see /metrics\n`);
      return;
    }
    o.render().then(
      (text) => {
        res.writeHead(200, { 'content-type': o.contentType }).end(text);
        o.onScrape?.();
      },
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${o.name ?? 'gameday'}: ${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  server.on('error', (err) => o.onError?.(err));
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : o.port;
  return {
    url: `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}/metrics`,
    close: async () => {
      server.closeAllConnections(); // Prometheus keeps its scrape connection alive
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
