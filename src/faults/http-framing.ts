// Just enough HTTP/1.1 for the fault proxy's pass-through mode to know where each request and each
// response begins and ends on a connection whose bytes it forwards unparsed: the request head (to
// rewrite Host, and to decide whether pass-through may carry the request at all), Content-Length
// and chunked bodies, and the response head's framing (status, HEAD, Content-Length, chunked,
// until-close). Anything unusual in a request head is refused, so that Node's own HTTP server (the
// proxy's fault path) gets that request instead: the two parsers can never disagree on where a
// request ends. Byte loops over Buffers, no strings except the few values the caller needs.

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const SLASH = 0x2f;

/** The biggest request head pass-through waits for; Node's default maxHeaderSize answers 431 beyond it. */
export const MAX_HEAD_BYTES = 16_384;

/** tchar (RFC 9110 §5.6.2): the bytes of a method or a header name. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** Case-insensitive comparison of buf[start, start + name.length) with a lower-case name. */
function nameIs(buf: Buffer, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if ((buf[start + i] | 0x20) !== name.charCodeAt(i)) return false;
  return true;
}

/** Whether buf holds exactly `ascii` at `at`. */
function bytesAre(buf: Buffer, at: number, ascii: string): boolean {
  for (let i = 0; i < ascii.length; i++) if (buf[at + i] !== ascii.charCodeAt(i)) return false;
  return true;
}

/** A decimal Content-Length, or -1 when it is not one (empty, signs, spaces, too big). */
function decimal(buf: Buffer, start: number, end: number): number {
  if (start === end || end - start > 15) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Whether a Connection value lists nothing but keep-alive and close (so nothing else is hop-by-hop). */
function onlyKeepAliveOrClose(buf: Buffer, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    while (i < end && (buf[i] === SP || buf[i] === HTAB || buf[i] === 0x2c)) i++;
    if (i === end) break;
    let j = i;
    while (j < end && buf[j] !== 0x2c && buf[j] !== SP && buf[j] !== HTAB) j++;
    if (!nameIs(buf, i, j, 'keep-alive') && !nameIs(buf, i, j, 'close')) return false;
    i = j;
  }
  return true;
}

/** Where a head ends (the index after CRLFCRLF) in buf[from, end), or -1. */
export function headEnd(buf: Buffer, from: number, end: number): number {
  const at = buf.indexOf('\r\n\r\n', from, 'latin1');
  return at < 0 || at + 4 > end ? -1 : at + 4;
}

/** How a message's body is framed; UntilClose: the response runs until the upstream closes. */
export const Body = { None: 0, Length: 1, Chunked: 2, UntilClose: 3 } as const;
export type Body = (typeof Body)[keyof typeof Body];

/** What parseRequestHead found; one object reused for every parse (the caller copies what it keeps). */
export interface RequestHead {
  /** false: pass-through must not carry this request (the fault path's HTTP server gets it) */
  ok: boolean;
  /** why not, for tests and debugging */
  refused: string;
  isHead: boolean;
  body: Body;
  length: number;
  /** where the request target starts (it starts with '/') */
  targetStart: number;
  /** the end of the request line, before its CRLF */
  lineEnd: number;
  /** the Host value (OWS trimmed), or -1 when there is none */
  hostStart: number;
  hostEnd: number;
}

const request: RequestHead = {
  ok: false,
  refused: '',
  isHead: false,
  body: Body.None,
  length: 0,
  targetStart: 0,
  lineEnd: 0,
  hostStart: -1,
  hostEnd: -1,
};

function refuse(why: string): RequestHead {
  request.ok = false;
  request.refused = why;
  return request;
}

/** refuse() for the helpers that return a position: always -1. */
function refuseAt(why: string): number {
  refuse(why);
  return -1;
}

// Hop-by-hop request headers (and Expect, which Node's server answers itself): a request that has
// one goes the fault path's way, where they are dropped as before. Keyed by length, then compared.
const REFUSED_HEADERS = new Map<number, string[]>();
for (const name of [
  'te',
  'expect',
  'upgrade',
  'trailer',
  'keep-alive',
  'http2-settings',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
]) {
  REFUSED_HEADERS.set(name.length, [...(REFUSED_HEADERS.get(name.length) ?? []), name]);
}

/**
 * Parse the request head buf[start, end) (end: just after its CRLFCRLF). Strict: an HTTP/1.1
 * request line with an origin-form target, CRLF line ends, token header names, no obs-fold, no
 * control characters, at most one Host, one Content-Length value, Transfer-Encoding exactly
 * "chunked" and never both. Anything else is refused, never guessed at.
 */
export function parseRequestHead(buf: Buffer, start: number, end: number): RequestHead {
  request.isHead = false;
  request.body = Body.None;
  request.length = 0;
  request.hostStart = -1;
  request.hostEnd = -1;
  contentLength = -1;
  chunked = false;
  let p = requestLine(buf, start, end);
  while (p >= 0 && buf[p] !== CR) p = headerField(buf, p, end);
  if (p < 0) return request;
  if (buf[p + 1] !== LF || p + 2 !== end) return refuse('head end');
  if (chunked && contentLength >= 0) return refuse('content-length and chunked');
  if (chunked) request.body = Body.Chunked;
  else if (contentLength > 0) {
    request.body = Body.Length;
    request.length = contentLength;
  }
  request.ok = true;
  request.refused = '';
  return request;
}

// What the header fields of the request head being parsed said so far (one parse at a time).
let contentLength = -1;
let chunked = false;

/** The request line: where the header fields start, or -1 (refused). */
function requestLine(buf: Buffer, start: number, end: number): number {
  let p = start;
  while (p < end && TCHAR[buf[p]] === 1) p++;
  if (p === start || buf[p] !== SP) return refuseAt('method');
  const methodLength = p - start;
  if (methodLength === 7 && nameIs(buf, start, p, 'connect')) return refuseAt('CONNECT');
  request.isHead = methodLength === 4 && bytesAre(buf, start, 'HEAD');
  // target: origin-form only (absolute-form and * go the fault path's way, which handles them)
  p++;
  request.targetStart = p;
  if (buf[p] !== SLASH) return refuseAt('target');
  while (p < end && buf[p] > SP && buf[p] !== 0x7f) p++;
  if (buf[p] !== SP) return refuseAt('target');
  p++;
  // version: HTTP/1.1 only (1.0's keep-alive rules differ)
  if (end - p < 10 || !bytesAre(buf, p, 'HTTP/1.1\r\n')) return refuseAt('version');
  request.lineEnd = p + 8;
  return p + 10;
}

/** One header field line from p: where the next line starts, or -1 (refused). */
function headerField(buf: Buffer, from: number, end: number): number {
  let p = from;
  while (p < end && TCHAR[buf[p]] === 1) p++;
  if (p === from || buf[p] !== COLON) return refuseAt('header name');
  const nameEnd = p;
  p++;
  while (buf[p] === SP || buf[p] === HTAB) p++;
  const valueStart = p;
  let valueEnd = p;
  for (;;) {
    if (p >= end) return refuseAt('truncated');
    const c = buf[p];
    if (c === CR) break;
    if ((c < SP && c !== HTAB) || c === 0x7f) return refuseAt('header value');
    p++;
    if (c !== SP && c !== HTAB) valueEnd = p;
  }
  if (buf[p + 1] !== LF) return refuseAt('bare CR');
  return fieldAllowed(buf, from, nameEnd, valueStart, valueEnd) ? p + 2 : -1;
}

/** Takes in what the framing needs from one field; false: refused. */
function fieldAllowed(buf: Buffer, nameStart: number, nameEnd: number, valueStart: number, valueEnd: number): boolean {
  const nameLength = nameEnd - nameStart;
  switch (nameLength) {
    case 4:
      if (nameIs(buf, nameStart, nameEnd, 'host')) {
        if (request.hostStart >= 0) return refuseAt('two Hosts') >= 0;
        request.hostStart = valueStart;
        request.hostEnd = valueEnd;
      }
      break;
    case 10:
      if (nameIs(buf, nameStart, nameEnd, 'connection') && !onlyKeepAliveOrClose(buf, valueStart, valueEnd))
        return refuseAt('connection') >= 0;
      break;
    case 14:
      if (nameIs(buf, nameStart, nameEnd, 'content-length')) {
        const n = decimal(buf, valueStart, valueEnd);
        if (n < 0 || (contentLength >= 0 && n !== contentLength)) return refuseAt('content-length') >= 0;
        contentLength = n;
      }
      break;
    case 17:
      if (nameIs(buf, nameStart, nameEnd, 'transfer-encoding')) {
        if (chunked || !nameIs(buf, valueStart, valueEnd, 'chunked')) return refuseAt('transfer-encoding') >= 0;
        chunked = true;
      }
      break;
  }
  const refused = REFUSED_HEADERS.get(nameLength);
  if (refused !== undefined) for (const name of refused) if (nameIs(buf, nameStart, nameEnd, name)) return refuseAt(name) >= 0;
  return true;
}

/** What parseResponseHead found; one object reused for every parse. */
export interface ResponseHead {
  status: number;
  /** 1xx other than 101: another head follows for the same request */
  informational: boolean;
  body: Body;
  length: number;
}

const response: ResponseHead = { status: 0, informational: false, body: Body.None, length: 0 };

/**
 * Parse a response head buf[start, end) for its framing (RFC 9112 §6.3). It is forwarded as it is,
 * so the client reads the same bytes; what this cannot frame with certainty runs until close.
 */
export function parseResponseHead(buf: Buffer, start: number, end: number, toHead: boolean): ResponseHead {
  response.informational = false;
  response.length = 0;
  response.status = 0;
  if (end - start < 14 || !bytesAre(buf, start, 'HTTP/1.') || buf[start + 8] !== SP) {
    response.body = Body.UntilClose;
    return response;
  }
  const status = decimal(buf, start + 9, start + 12);
  response.status = status;
  if (status < 100 || status > 999) {
    response.body = Body.UntilClose;
    return response;
  }
  if (status < 200) {
    // 101 Switching Protocols: whatever follows is not HTTP any more
    response.informational = status !== 101;
    response.body = status === 101 ? Body.UntilClose : Body.None;
    return response;
  }
  if (toHead || status === 204 || status === 304) {
    response.body = Body.None;
    return response;
  }
  let contentLength = -1;
  let transferEncoding = false;
  let chunkedLast = false;
  let ambiguous = false;
  let p = buf.indexOf(LF, start) + 1;
  while (p > 0 && p < end - 2) {
    const lineEnd = buf.indexOf(LF, p);
    if (lineEnd < 0 || lineEnd >= end) break;
    const colon = buf.indexOf(COLON, p);
    if (colon > p && colon < lineEnd) {
      const nameLength = colon - p;
      let vs = colon + 1;
      let ve = lineEnd;
      if (buf[ve - 1] === CR) ve--;
      while (vs < ve && (buf[vs] === SP || buf[vs] === HTAB)) vs++;
      while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
      if (nameLength === 14 && nameIs(buf, p, colon, 'content-length')) {
        const n = decimal(buf, vs, ve);
        if (n < 0 || (contentLength >= 0 && n !== contentLength)) ambiguous = true;
        contentLength = n;
      } else if (nameLength === 17 && nameIs(buf, p, colon, 'transfer-encoding')) {
        transferEncoding = true;
        // the last coding decides: "gzip, chunked" is chunked
        let ts = ve;
        while (ts > vs && buf[ts - 1] !== 0x2c && buf[ts - 1] !== SP && buf[ts - 1] !== HTAB) ts--;
        chunkedLast = nameIs(buf, ts, ve, 'chunked');
      }
    }
    p = lineEnd + 1;
  }
  if (transferEncoding) response.body = chunkedLast ? Body.Chunked : Body.UntilClose;
  else if (ambiguous) response.body = Body.UntilClose;
  else if (contentLength > 0) {
    response.body = Body.Length;
    response.length = contentLength;
  } else response.body = contentLength === 0 ? Body.None : Body.UntilClose;
  return response;
}

/** The states of a chunked body's walk. */
const Chunk = {
  Size: 0,
  Extension: 1,
  SizeLf: 2,
  Data: 3,
  DataCr: 4,
  DataLf: 5,
  TrailerStart: 6,
  TrailerLine: 7,
  TrailerLf: 8,
  EndLf: 9,
  Done: 10,
  Error: 11,
} as const;
type Chunk = (typeof Chunk)[keyof typeof Chunk];

/** Walks a chunked body as it streams by, so that the proxy knows where it ends. */
export class ChunkedBody {
  private state: Chunk = Chunk.Size;
  private size = 0;
  private digits = 0;
  private remaining = 0;

  get done(): boolean {
    return this.state === Chunk.Done;
  }

  get failed(): boolean {
    return this.state === Chunk.Error;
  }

  reset(): void {
    this.state = Chunk.Size;
    this.size = 0;
    this.digits = 0;
    this.remaining = 0;
  }

  /** Consume buf[pos, end) up to the end of the body at most; returns where it stopped. */
  scan(buf: Buffer, pos: number, end: number): number {
    let p = pos;
    while (p < end) {
      switch (this.state) {
        case Chunk.Data: {
          const take = Math.min(this.remaining, end - p);
          p += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = Chunk.DataCr;
          break;
        }
        case Chunk.Size: {
          const c = buf[p];
          const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x57 : -1;
          if (d >= 0) {
            if (++this.digits > 12) return this.fail(p);
            this.size = this.size * 16 + d;
          } else if (this.digits === 0) return this.fail(p);
          else if (c === CR) this.state = Chunk.SizeLf;
          else if (c === 0x3b || c === SP || c === HTAB) this.state = Chunk.Extension;
          else return this.fail(p);
          p++;
          break;
        }
        case Chunk.Extension: {
          const c = buf[p];
          if (c === CR) this.state = Chunk.SizeLf;
          else if (c === LF) return this.fail(p);
          p++;
          break;
        }
        case Chunk.SizeLf:
          if (buf[p++] !== LF) return this.fail(p);
          if (this.size === 0) this.state = Chunk.TrailerStart;
          else {
            this.remaining = this.size;
            this.state = Chunk.Data;
          }
          this.size = 0;
          this.digits = 0;
          break;
        case Chunk.DataCr:
          if (buf[p++] !== CR) return this.fail(p);
          this.state = Chunk.DataLf;
          break;
        case Chunk.DataLf:
          if (buf[p++] !== LF) return this.fail(p);
          this.state = Chunk.Size;
          break;
        case Chunk.TrailerStart:
          this.state = buf[p] === CR ? Chunk.EndLf : Chunk.TrailerLine;
          p++;
          break;
        case Chunk.TrailerLine: {
          const c = buf[p++];
          if (c === CR) this.state = Chunk.TrailerLf;
          else if (c === LF) return this.fail(p);
          break;
        }
        case Chunk.TrailerLf:
          if (buf[p++] !== LF) return this.fail(p);
          this.state = Chunk.TrailerStart;
          break;
        case Chunk.EndLf:
          if (buf[p++] !== LF) return this.fail(p);
          this.state = Chunk.Done;
          return p;
        case Chunk.Done:
        case Chunk.Error:
          return p;
      }
    }
    return p;
  }

  private fail(p: number): number {
    this.state = Chunk.Error;
    return p;
  }
}
