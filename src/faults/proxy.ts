// The built-in fault proxy, in Toxiproxy's model but over HTTP: it listens on an address, forwards
// every request to the upstream (the real dependency) and applies the current fault on the way.
// The fault is read per request, so switching it on, changing it or taking it out takes effect for
// the next request; changing it also releases requests it is holding or delaying, so removing a
// fault never leaves requests stuck behind it.
//
// Two paths. While no fault is set, a new connection goes through a Tunnel (tunnel.ts): bytes
// passed across to an upstream connection of its own, only request heads looked at, several times
// cheaper than parsing every request. A connection opened while a fault is set, or whose next
// request arrives after one was set (or after the upstream moved), goes to Node's HTTP server and
// the undici pool: the fault path, where every request is parsed and the fault applied.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { ProxyFault } from './driver.ts';
import { Tunnel, type Route, type TunnelHost } from './tunnel.ts';

export interface FaultProxyOptions {
  /** default 127.0.0.1 */
  listenHost?: string;
  /** 0 (default) = a free port */
  listenPort?: number;
  upstreamUrl: string;
}

export interface FaultProxyStats {
  /** requests sent on to the upstream (including released and throttled ones) */
  forwarded: number;
  /** requests a fault was applied to */
  faulted: number;
  /** requests being held or delayed right now (blackhole, latency) */
  held: number;
}

// Headers that describe one connection, not the message: never passed across the proxy. `host` is
// set by undici for the upstream; `expect` is answered by Node's server, and undici refuses it.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  'http2-settings',
  'host',
  'expect',
]);

/** Closing: how long in-flight forwarded requests get to finish before their sockets are cut. */
const CLOSE_GRACE_MS = 500;

/** Whether a fault with this probability hits a request, given a uniform draw in [0, 1). */
function faultHits(probability: number, draw: number): boolean {
  return probability >= 1 || draw < probability;
}

/** latencyMs ± uniform jitterMs (draw in [0, 1)), never negative. */
function latencyDelayMs(latencyMs: number, jitterMs: number, draw: number): number {
  return Math.max(0, latencyMs + (draw * 2 - 1) * jitterMs);
}

/** Bandwidth throttling sends pieces of about 20 ms of data: smooth, without a timer per byte. */
function throttleChunkBytes(rateKbps: number): number {
  const bytesPerMs = rateKbps / 8; // 1 kbps = 1 bit/ms
  return Math.min(16_384, Math.max(1, Math.round(bytesPerMs * 20)));
}

/** When a link of rateKbps that started at startMs has finished carrying `bytes`. */
function linkDoneAtMs(startMs: number, bytes: number, rateKbps: number): number {
  return startMs + (bytes * 8) / rateKbps;
}

/** Request headers to pass upstream, as undici's flat [name, value, …] list. */
function forwardHeaders(rawHeaders: readonly string[]): string[] {
  const listed = connectionListed(rawHeaders);
  const out: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    out.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return out;
}

/** Response headers to pass back to the client. */
function backwardHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const connection = headers.connection;
  const listed = connection === undefined ? null : tokens([connection].flat().join(','));
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function connectionListed(rawHeaders: readonly string[]): Set<string> | null {
  let listed: Set<string> | null = null;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() !== 'connection') continue;
    listed ??= new Set();
    for (const t of tokens(rawHeaders[i + 1])) listed.add(t);
  }
  return listed;
}

function tokens(value: string): Set<string> {
  return new Set(
    value
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}

function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** A real RST where the platform can, so the client sees ECONNRESET rather than a clean close. */
function resetSocket(socket: Socket): void {
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

interface Upstream {
  url: string;
  origin: string;
  pathPrefix: string;
  /** where pass-through goes; null for https (TLS upstreams take the fault path only) */
  route: Route | null;
}

function parseUpstream(url: string): Upstream {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`invalid upstream URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`upstream must be http(s): ${url}`);
  const pathPrefix = parsed.pathname.replace(/\/+$/, '');
  const route =
    parsed.protocol === 'http:'
      ? { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(parsed.port || 80), hostHeader: parsed.host, pathPrefix }
      : null;
  return { url, origin: parsed.origin, pathPrefix, route };
}

function makePool(origin: string): Pool {
  // Keep-alive to the upstream: this is the hot path. The upstream's own slowness must show through
  // unchanged, so no proxy-side timeouts shorter than a client would use.
  return new Pool(origin, { connections: 512, pipelining: 1, keepAliveTimeout: 4_000, connect: { timeout: 5_000 } });
}

type HoldOutcome = 'elapsed' | 'released' | 'gone';

export class FaultProxy {
  readonly url: string;
  readonly port: number;

  private current: ProxyFault | null = null;
  private upstream: Upstream & { pool: Pool };
  private readonly retiredPools = new Set<Pool>();
  private readonly tunnels = new Set<Tunnel>();
  private readonly tunnelHost: TunnelHost = {
    passes: (route) => this.current === null && !this.closing && this.upstream.route === route,
    forwarded: () => void this.counts.forwarded++,
    toHttp: (socket) => this.httpConnection.call(this.server, socket),
    gone: (tunnel) => void this.tunnels.delete(tunnel),
  };
  /** callbacks that release held / delayed / throttled requests */
  private waiters = new Set<() => void>();
  /** bumped on every fault change: throttled streams started under an older fault run free */
  private faultGeneration = 0;
  private counts = { forwarded: 0, faulted: 0, held: 0 };
  private closing = false;
  private closed: Promise<void> | null = null;

  private constructor(
    private readonly server: http.Server,
    /** Node's own handler of a new connection: the HTTP server's side of `server` */
    private readonly httpConnection: (this: http.Server, socket: Socket) => void,
    upstreamUrl: string,
  ) {
    const address = server.address() as AddressInfo;
    this.port = address.port;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.url = `http://${host}:${this.port}`;
    const upstream = parseUpstream(upstreamUrl);
    this.upstream = { ...upstream, pool: makePool(upstream.origin) };
  }

  static async start(opts: FaultProxyOptions): Promise<FaultProxy> {
    parseUpstream(opts.upstreamUrl); // fail before listening
    const server = http.createServer({ keepAlive: true, noDelay: true });
    server.keepAliveTimeout = 5_000;
    // Blackholed requests are held on purpose; only the client decides when to give up.
    server.requestTimeout = 0;
    // Each new connection is the proxy's to route: a tunnel, or Node's HTTP handling of it.
    const [httpConnection, ...others] = server.listeners('connection') as ((this: http.Server, socket: Socket) => void)[];
    if (httpConnection === undefined || others.length > 0) throw new Error("unexpected http.Server: not one 'connection' listener");
    server.off('connection', httpConnection);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.listenPort ?? 0, opts.listenHost ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const proxy = new FaultProxy(server, httpConnection, opts.upstreamUrl);
    server.on('connection', (socket: Socket) => proxy.accept(socket));
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      // A bug here must cost one request, never the process.
      proxy.handle(req, res).catch(() => res.destroy());
    });
    return proxy;
  }

  get upstreamUrl(): string {
    return this.upstream.url;
  }

  /** Send the following requests to another upstream (the "traffic-shift" rollback). */
  setUpstream(url: string): void {
    const next = parseUpstream(url);
    const old = this.upstream.pool;
    // tunnels to the old upstream hand their next request to the fault path, which uses this pool
    this.upstream = { ...next, pool: makePool(next.origin) };
    // Requests already on their way finish on the old pool; it closes once they have.
    this.retiredPools.add(old);
    old
      .close()
      .catch(() => {})
      .finally(() => this.retiredPools.delete(old));
  }

  get fault(): ProxyFault | null {
    return this.current;
  }

  setFault(fault: ProxyFault | null): void {
    this.current = fault === null ? null : { ...fault };
    this.faultGeneration++;
    this.releaseAll();
  }

  stats(): FaultProxyStats {
    return { ...this.counts };
  }

  /** Stops listening, answers held requests, and closes keep-alive sockets promptly. Idempotent. */
  close(): Promise<void> {
    this.closed ??= this.shutDown();
    return this.closed;
  }

  private async shutDown(): Promise<void> {
    this.closing = true;
    this.releaseAll();
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    for (const tunnel of [...this.tunnels]) tunnel.shutDown();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([serverClosed, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    for (const tunnel of [...this.tunnels]) tunnel.destroy();
    this.server.closeAllConnections();
    await serverClosed;
    await Promise.all([this.upstream.pool, ...this.retiredPools].map((p) => p.destroy().catch(() => {})));
  }

  /** A new connection: a tunnel while no fault is set, else the HTTP server's. */
  private accept(socket: Socket): void {
    const route = this.upstream.route;
    if (this.current !== null || this.closing || route === null) return this.httpConnection.call(this.server, socket);
    this.tunnels.add(new Tunnel(socket, route, this.tunnelHost));
  }

  private releaseAll(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const release of waiters) release();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (this.closing) return this.answerClosing(res);
    const fault = this.current;
    if (fault === null || !faultHits(fault.probability, Math.random())) return this.forward(req, res, null);
    this.counts.faulted++;
    switch (fault.type) {
      case 'errors':
        return this.answerJson(res, fault.status, { error: 'injected fault', status: fault.status }, 'errors');
      case 'reset':
        return resetSocket(req.socket);
      case 'bandwidth':
        return this.forward(req, res, fault.rateKbps);
      case 'latency':
      case 'blackhole': {
        const waitMs = fault.type === 'latency' ? latencyDelayMs(fault.latencyMs, fault.jitterMs, Math.random()) : null;
        const outcome = await this.hold(res, waitMs, true);
        if (outcome === 'gone') return;
        if (this.closing) return this.answerClosing(res);
        return this.forward(req, res, null);
      }
    }
  }

  /**
   * Wait until waitMs has elapsed (null: forever), the fault changes, or the client goes away.
   * One timer and one close listener per held request, both cleaned up on every path.
   */
  private hold(res: http.ServerResponse, waitMs: number | null, counted: boolean): Promise<HoldOutcome> {
    if (res.destroyed) return Promise.resolve('gone');
    return new Promise<HoldOutcome>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (outcome: HoldOutcome): void => {
        clearTimeout(timer);
        res.off('close', onGone);
        this.waiters.delete(onRelease);
        if (counted) this.counts.held--;
        resolve(outcome);
      };
      const onGone = (): void => finish('gone');
      const onRelease = (): void => finish('released');
      if (counted) this.counts.held++;
      this.waiters.add(onRelease);
      res.once('close', onGone);
      if (waitMs !== null) timer = setTimeout(() => finish('elapsed'), waitMs);
    });
  }

  private async forward(req: http.IncomingMessage, res: http.ServerResponse, rateKbps: number | null): Promise<void> {
    this.counts.forwarded++;
    const { pool, pathPrefix } = this.upstream;
    const abort = new AbortController();
    // The client went away before its answer was complete: stop the upstream request too.
    const onClose = (): void => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);
    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await pool.request({
        path: pathPrefix + requestPath(req.url ?? '/'),
        method: req.method ?? 'GET',
        headers: forwardHeaders(req.rawHeaders),
        body: hasBody(req) ? req : null,
        signal: abort.signal,
      });
    } catch (err) {
      res.off('close', onClose);
      if (abort.signal.aborted || res.destroyed) return;
      const code = (err as { code?: string }).code ?? (err as Error).message;
      return this.answerJson(res, 502, { error: 'bad gateway', detail: String(code) });
    }
    if (res.destroyed) {
      upstream.body.destroy();
      return;
    }
    res.writeHead(upstream.statusCode, backwardHeaders(upstream.headers));
    if (rateKbps === null) {
      pipeline(upstream.body, res, () => res.off('close', onClose));
      return;
    }
    try {
      await this.throttle(upstream.body, res, rateKbps);
    } catch {
      res.destroy(); // upstream failed mid-body: the client must not take a truncated body as whole
    } finally {
      res.off('close', onClose);
    }
  }

  /** Stream the body at rateKbps; a fault change lets the rest through at full speed. */
  private async throttle(body: Dispatcher.ResponseData['body'], res: http.ServerResponse, rateKbps: number): Promise<void> {
    const generation = this.faultGeneration;
    const chunkBytes = throttleChunkBytes(rateKbps);
    const startMs = performance.now();
    let sentBytes = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      for (let offset = 0; offset < chunk.length; offset += chunkBytes) {
        const piece = chunk.subarray(offset, offset + chunkBytes);
        if (this.faultGeneration === generation) {
          const waitMs = linkDoneAtMs(startMs, sentBytes + piece.length, rateKbps) - performance.now();
          if (waitMs >= 1 && (await this.hold(res, waitMs, false)) === 'gone') return void body.destroy();
        }
        if (res.destroyed) return void body.destroy();
        sentBytes += piece.length;
        if (!res.write(piece)) await drained(res);
      }
    }
    res.end();
  }

  private answerJson(res: http.ServerResponse, status: number, payload: object, fault?: string): void {
    const body = JSON.stringify(payload);
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (fault !== undefined) headers['x-gameday-fault'] = fault;
    if (this.closing) headers.connection = 'close';
    res.writeHead(status, headers);
    res.end(body);
  }

  private answerClosing(res: http.ServerResponse): void {
    this.answerJson(res, 503, { error: 'fault proxy closing' });
  }
}

/** A request line may carry an absolute URL (forward-proxy style); upstream wants the path. */
function requestPath(url: string): string {
  if (url.startsWith('/')) return url;
  try {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  } catch {
    return '/';
  }
}

function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
