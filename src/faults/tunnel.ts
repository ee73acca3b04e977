// The fault proxy's pass-through mode: while no fault is set, a client connection is paired with an
// upstream connection of its own and the bytes go across as they came, both ways, except that each
// request head gets the upstream's Host (and the upstream URL's path prefix). Nothing is parsed
// beyond framing (http-framing.ts): where each request and each response ends. That is what lets a
// fault switched on reach the very next request: every request head is checked against the proxy's
// state as it arrives, and one that may not pass (a fault is set, the upstream moved, the proxy is
// closing, or the head is unusual) is not forwarded; the connection waits until the responses
// already on their way have reached the client, then goes, with that request and whatever followed
// it, to the proxy's HTTP server, which applies faults per request. Requests in flight at the switch
// finish untouched; none that arrives after it escapes.
import net from 'node:net';
import type { Socket } from 'node:net';
import { Body, ChunkedBody, headEnd, MAX_HEAD_BYTES, parseRequestHead, parseResponseHead, type RequestHead } from './http-framing.ts';

/** Where pass-through sends requests: one per upstream URL, compared by identity. */
export interface Route {
  host: string;
  port: number;
  /** the Host header the upstream gets */
  hostHeader: string;
  /** prepended to every request target, as on the fault path */
  pathPrefix: string;
}

export interface TunnelHost {
  /** Whether a request whose head has just arrived may pass through to `route`. */
  passes(route: Route): boolean;
  /** A request was forwarded (the proxy's stats). */
  forwarded(): void;
  /** Give the client connection to the HTTP server; what was read from it is back in its buffer. */
  toHttp(socket: Socket): void;
  /** The tunnel is over: closed, or its client handed to the HTTP server. */
  gone(tunnel: Tunnel): void;
}

/** An upstream that goes away before a response began: the client gets what the fault path says. */
const BAD_GATEWAY = (() => {
  const body = JSON.stringify({ error: 'bad gateway', detail: 'upstream closed the connection' });
  return `HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`;
})();

/** A response head bigger than this is not framed any more: it runs until the upstream closes. */
const MAX_RESPONSE_HEAD_BYTES = 65_536;

/** As the fault path's pool: an upstream that does not answer the connection by then is not there. */
const CONNECT_TIMEOUT_MS = 5_000;

/** The upstream connection's read buffer (one per tunnel, more only while the client lags). */
const READ_BUFFER_BYTES = 16_384;

const noop = (): void => {};

export class Tunnel {
  private readonly upstream: Socket;
  private connected = false;
  private readonly connectTimer: NodeJS.Timeout;
  /** the client went to the HTTP server, or both sockets are being destroyed */
  private over = false;
  /** the proxy is closing: end the connection once it is idle */
  private closing = false;
  /** requests forwarded whose final response has not reached the client completely */
  private outstanding = 0;
  /** per outstanding request, whether it was a HEAD (its response has no body) */
  private readonly heads: boolean[] = [];
  /** the client is paused because the upstream's buffer is full */
  private throttledClient = false;

  // request side
  private partialHead: Buffer | null = null;
  private requestBodyLeft = 0;
  private requestChunked = false;
  private readonly requestChunks = new ChunkedBody();
  /** set once a request may not pass: it and everything after it, for the HTTP server */
  private diverted: Buffer | null = null;

  // response side
  private partialResponseHead: Buffer | null = null;
  /** bytes of the current response have been passed to the client */
  private midResponse = false;
  private responseBodyLeft = 0;
  private responseChunked = false;
  private readonly responseChunks = new ChunkedBody();
  private untilClose = false;

  constructor(
    private readonly client: Socket,
    private readonly route: Route,
    private readonly host: TunnelHost,
  ) {
    this.upstream = net.connect({
      host: route.host,
      port: route.port,
      noDelay: true,
      // read into a buffer of our own (no Buffer and no 'data' event per read): a quarter less CPU
      onread: { buffer: this.nextReadBuffer, callback: this.onUpstreamRead },
    });
    this.upstream.on('connect', this.onConnect);
    this.upstream.on('drain', this.onUpstreamDrain);
    this.upstream.on('error', noop); // 'close' follows and says what to do
    this.upstream.on('close', this.onUpstreamClose);
    this.connectTimer = setTimeout(() => this.upstream.destroy(), CONNECT_TIMEOUT_MS);
    client.on('end', this.onClientEnd);
    client.on('drain', this.onClientDrain);
    client.on('error', noop);
    client.on('close', this.onClientClose);
  }

  /** The proxy is closing: close now if idle, else once the responses in flight are through. */
  shutDown(): void {
    this.closing = true;
    if (this.outstanding === 0 && this.partialHead === null && this.diverted === null) this.destroy();
  }

  destroy(): void {
    if (this.over) return;
    this.over = true;
    this.upstream.destroy();
    this.client.destroy();
  }

  // Until the upstream answers the connection, the client's bytes wait in its socket.
  private readonly onConnect = (): void => {
    clearTimeout(this.connectTimer);
    this.connected = true;
    this.client.on('data', this.onClientData);
  };

  private readonly onClientData = (data: Buffer): void => {
    let chunk = data;
    if (this.partialHead !== null) {
      chunk = Buffer.concat([this.partialHead, data]);
      this.partialHead = null;
    }
    const end = chunk.length;
    let pos = 0;
    let corked = false;
    while (pos < end) {
      if (this.requestBodyLeft > 0) {
        const take = Math.min(this.requestBodyLeft, end - pos);
        this.send(chunk.subarray(pos, pos + take));
        this.requestBodyLeft -= take;
        pos += take;
      } else if (this.requestChunked) {
        const next = this.requestChunks.scan(chunk, pos, end);
        if (this.requestChunks.failed) return this.destroy();
        this.send(chunk.subarray(pos, next));
        pos = next;
        if (this.requestChunks.done) this.requestChunked = false;
      } else {
        if (pos > 0 && !corked) {
          // pipelined requests or a body then a head: one write for all of them
          this.upstream.cork();
          corked = true;
        }
        pos = this.forwardHead(chunk, pos, end);
      }
    }
    if (corked) this.upstream.uncork();
  };

  /** At a request head: forward it (rewritten) and return where its body starts, or divert. */
  private forwardHead(chunk: Buffer, from: number, end: number): number {
    let start = from;
    // stray CRLFs between requests (RFC 9112 §2.2) are dropped
    while (start < end && (chunk[start] === 0x0d || chunk[start] === 0x0a)) start++;
    if (start === end) return end;
    const headStop = headEnd(chunk, start, end);
    if (headStop < 0) {
      if (end - start > MAX_HEAD_BYTES || chunk.indexOf('\n\n', start, 'latin1') >= 0) return this.divert(chunk.subarray(start));
      this.partialHead = chunk.subarray(start);
      return end;
    }
    const head = parseRequestHead(chunk, start, headStop);
    if (!head.ok || !this.host.passes(this.route)) return this.divert(chunk.subarray(start));
    this.send(this.rewrite(chunk, start, headStop, head));
    this.host.forwarded();
    this.outstanding++;
    this.heads.push(head.isHead);
    if (head.body === Body.Length) this.requestBodyLeft = head.length;
    else if (head.body === Body.Chunked) {
      this.requestChunked = true;
      this.requestChunks.reset();
    }
    return headStop;
  }

  private rewrite(chunk: Buffer, start: number, stop: number, head: RequestHead): string {
    const { hostHeader, pathPrefix } = this.route;
    const line = chunk.toString('latin1', start, head.targetStart) + pathPrefix;
    if (head.hostStart >= 0)
      return line + chunk.toString('latin1', head.targetStart, head.hostStart) + hostHeader + chunk.toString('latin1', head.hostEnd, stop);
    const afterLine = head.lineEnd + 2;
    return (
      line + chunk.toString('latin1', head.targetStart, afterLine) + `Host: ${hostHeader}\r\n` + chunk.toString('latin1', afterLine, stop)
    );
  }

  private send(data: Buffer | string): void {
    const ok = typeof data === 'string' ? this.upstream.write(data, 'latin1') : this.upstream.write(data);
    if (!ok && !this.throttledClient) {
      this.throttledClient = true;
      this.client.pause();
    }
  }

  /** This request may not pass: stop reading; the HTTP server gets it once the connection is idle. */
  private divert(rest: Buffer): number {
    this.diverted = rest;
    this.client.pause();
    this.client.off('data', this.onClientData);
    if (this.outstanding === 0) this.handOver();
    return Number.POSITIVE_INFINITY;
  }

  private handOver(): void {
    if (this.over) return;
    this.over = true;
    const client = this.client;
    client.off('data', this.onClientData);
    client.off('end', this.onClientEnd);
    client.off('drain', this.onClientDrain);
    client.off('error', noop);
    client.off('close', this.onClientClose);
    clearTimeout(this.connectTimer);
    this.upstream.off('close', this.onUpstreamClose);
    this.upstream.destroy();
    // unshift: the HTTP server reads these bytes before anything still to come
    if (this.diverted !== null && this.diverted.length > 0) client.unshift(this.diverted);
    this.diverted = null;
    this.host.gone(this);
    this.host.toHttp(client);
    client.resume();
  }

  /** The upstream's reads land here; reused while the client's writes complete at once. */
  private readBuffer: Buffer | null = null;
  private readonly nextReadBuffer = (): Buffer => (this.readBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES));

  private readonly onUpstreamRead = (n: number, buf: Uint8Array): boolean => {
    if (!this.over) this.onUpstreamData(buf as Buffer, n);
    return true;
  };

  private onUpstreamData(buf: Buffer, n: number): void {
    const data = buf.subarray(0, n);
    // the bytes go to the client unchanged at once; the walk below only finds where responses end
    if (!this.client.write(data)) this.upstream.pause();
    // queued, not written yet: the queue holds on to this buffer, the next read needs another one
    if (this.client.writableLength > 0) this.readBuffer = null;
    let chunk = data;
    if (this.partialResponseHead !== null) {
      chunk = Buffer.concat([this.partialResponseHead, data]);
      this.partialResponseHead = null;
    }
    const end = chunk.length;
    let pos = 0;
    while (pos < end && !this.untilClose && !this.over) {
      if (this.responseBodyLeft > 0) {
        const take = Math.min(this.responseBodyLeft, end - pos);
        this.responseBodyLeft -= take;
        pos += take;
        if (this.responseBodyLeft === 0) this.responseDone();
      } else if (this.responseChunked) {
        pos = this.responseChunks.scan(chunk, pos, end);
        if (this.responseChunks.failed) return this.destroy();
        if (this.responseChunks.done) {
          this.responseChunked = false;
          this.responseDone();
        }
      } else pos = this.responseHead(chunk, pos, end);
    }
  }

  private responseHead(chunk: Buffer, pos: number, end: number): number {
    // nothing asked for: a confused upstream; the client must not take this as an answer
    if (this.outstanding === 0) {
      this.destroy();
      return end;
    }
    this.midResponse = true;
    const headStop = headEnd(chunk, pos, end);
    if (headStop < 0) {
      if (end - pos > MAX_RESPONSE_HEAD_BYTES) this.untilClose = true;
      else this.partialResponseHead = Buffer.from(chunk.subarray(pos));
      return end;
    }
    const head = parseResponseHead(chunk, pos, headStop, this.heads[0]);
    if (head.informational) return headStop;
    switch (head.body) {
      case Body.None:
        this.responseDone();
        break;
      case Body.Length:
        this.responseBodyLeft = head.length;
        break;
      case Body.Chunked:
        this.responseChunked = true;
        this.responseChunks.reset();
        break;
      case Body.UntilClose:
        this.untilClose = true;
        break;
    }
    return headStop;
  }

  private responseDone(): void {
    this.midResponse = false;
    this.outstanding--;
    this.heads.shift();
    if (this.outstanding > 0) return;
    if (this.diverted !== null) this.handOver();
    else if (this.closing && this.partialHead === null) this.endBoth();
  }

  private endBoth(): void {
    if (this.over) return;
    this.over = true;
    this.upstream.destroy();
    this.client.destroySoon();
  }

  private readonly onUpstreamClose = (): void => {
    clearTimeout(this.connectTimer);
    if (this.over) return;
    // no connection to the upstream: the HTTP server answers (502, as the fault path does)
    if (!this.connected) return this.handOver();
    if (this.outstanding === 0 && this.partialHead !== null) {
      // a request was arriving: the fault path takes it (and reconnects)
      this.diverted = this.partialHead;
      this.partialHead = null;
      return this.handOver();
    }
    this.over = true;
    const client = this.client;
    if (this.untilClose || this.outstanding === 0) client.destroySoon();
    else if (!this.midResponse) {
      client.write(BAD_GATEWAY, 'latin1');
      client.destroySoon();
    } else client.destroy(); // cut mid-response: the client must not take a truncated body as whole
  };

  /** The client half-closed: the upstream gets the FIN too, answers what it has, and closes. */
  private readonly onClientEnd = (): void => {
    if (this.over) return;
    if (this.outstanding === 0) return this.destroy();
    this.upstream.end();
  };

  private readonly onClientClose = (): void => {
    this.over = true;
    this.upstream.destroy();
    this.host.gone(this);
  };

  private readonly onClientDrain = (): void => {
    if (!this.over) this.upstream.resume();
  };

  private readonly onUpstreamDrain = (): void => {
    if (!this.throttledClient) return;
    this.throttledClient = false;
    if (this.diverted === null && !this.over) this.client.resume();
  };
}
