// The framing that pass-through relies on to know where requests and responses end: what it takes
// in, what it refuses (so the fault path's HTTP server gets it), and chunked bodies fed in any split.
import { describe, expect, it } from 'vitest';
import { Body, ChunkedBody, headEnd, parseRequestHead, parseResponseHead } from '../../src/faults/http-framing.ts';

function request(head: string) {
  const buf = Buffer.from(head, 'latin1');
  const end = headEnd(buf, 0, buf.length);
  if (end !== buf.length) throw new Error(`not one whole head: ${JSON.stringify(head)}`);
  const r = parseRequestHead(buf, 0, end);
  const slice = (a: number, b: number) => (a < 0 ? null : buf.toString('latin1', a, b));
  return { ...r, host: slice(r.hostStart, r.hostEnd), target: buf.toString('latin1', r.targetStart, r.lineEnd - 9) };
}

function response(head: string, toHead = false) {
  const buf = Buffer.from(head, 'latin1');
  return { ...parseResponseHead(buf, 0, buf.length, toHead) };
}

describe('request heads', () => {
  it('takes a plain GET, finding the Host value and the target', () => {
    const r = request('GET /a/b?c=1 HTTP/1.1\r\nHost:  proxy:8080 \r\nAccept: */*\r\n\r\n');
    expect(r).toMatchObject({ ok: true, isHead: false, body: Body.None, host: 'proxy:8080', target: '/a/b?c=1' });
  });

  it('frames bodies by Content-Length or chunked', () => {
    expect(request('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n')).toMatchObject({ ok: true, body: Body.Length, length: 12 });
    expect(request('POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n')).toMatchObject({ ok: true, body: Body.None });
    expect(request('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n')).toMatchObject({ ok: true, body: Body.Chunked });
    // the same length twice is one length
    expect(request('PUT / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n')).toMatchObject({
      ok: true,
      body: Body.Length,
      length: 3,
    });
  });

  it('knows HEAD, takes no Host, and keep-alive or close in Connection', () => {
    expect(request('HEAD / HTTP/1.1\r\n\r\n')).toMatchObject({ ok: true, isHead: true, host: null });
    expect(request('GET / HTTP/1.1\r\nConnection: Keep-Alive\r\n\r\n').ok).toBe(true);
    expect(request('GET / HTTP/1.1\r\nConnection: close\r\n\r\n').ok).toBe(true);
  });

  it.each([
    ['HTTP/1.0', 'GET / HTTP/1.0\r\nHost: x\r\n\r\n', 'version'],
    ['absolute-form', 'GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n', 'target'],
    ['asterisk-form', 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n', 'target'],
    ['CONNECT', 'CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n', 'CONNECT'],
    ['two lengths', 'POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n', 'content-length'],
    ['a signed length', 'POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n', 'content-length'],
    ['length and chunked', 'POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', 'content-length and chunked'],
    ['another coding', 'POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 'transfer-encoding'],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 'two Hosts'],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: a\r\n  folded\r\nX: y\r\n\r\n', 'header name'],
    ['a space before the colon', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', 'header name'],
    ['a bare LF in a value', 'GET / HTTP/1.1\r\nX: a\nContent-Length: 5\r\n\r\n', 'header value'],
    ['a bare CR in a value', 'GET / HTTP/1.1\r\nX: a\rb\r\n\r\n', 'bare CR'],
    ['a NUL in a value', 'GET / HTTP/1.1\r\nX: a\u0000\r\n\r\n', 'header value'],
    ['Connection naming a header', 'GET / HTTP/1.1\r\nConnection: close, x-hop\r\n\r\n', 'connection'],
    ['Upgrade', 'GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n', 'upgrade'],
    ['Expect', 'POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n', 'expect'],
    ['TE', 'GET / HTTP/1.1\r\nTE: trailers\r\n\r\n', 'te'],
    ['Keep-Alive', 'GET / HTTP/1.1\r\nKeep-Alive: timeout=5\r\n\r\n', 'keep-alive'],
    ['Proxy-Authorization', 'GET / HTTP/1.1\r\nProxy-Authorization: Basic eA==\r\n\r\n', 'proxy-authorization'],
    ['a space in the target', 'GET /a b HTTP/1.1\r\n\r\n', 'version'],
  ])('refuses %s', (_name, head, why) => {
    expect(request(head)).toMatchObject({ ok: false, refused: why });
  });

  it('finds where a head ends, not before its CRLFCRLF', () => {
    const buf = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\n');
    expect(headEnd(buf, 0, buf.length)).toBe(27);
    expect(headEnd(buf, 27, buf.length)).toBe(-1);
    expect(headEnd(buf, 0, 26)).toBe(-1);
  });
});

describe('response heads', () => {
  it.each([
    ['Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', false, { body: Body.Length, length: 5 }],
    ['Content-Length: 0', 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n', false, { body: Body.None }],
    ['chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', false, { body: Body.Chunked }],
    ['chunked last', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', false, { body: Body.Chunked }],
    ['another last coding', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', false, { body: Body.UntilClose }],
    ['chunked over a length', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', false, { body: Body.Chunked }],
    ['no length', 'HTTP/1.1 200 OK\r\nX: y\r\n\r\n', false, { body: Body.UntilClose }],
    ['two lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', false, { body: Body.UntilClose }],
    ['204', 'HTTP/1.1 204 No Content\r\n\r\n', false, { body: Body.None }],
    ['304', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n', false, { body: Body.None }],
    ['HEAD', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', true, { body: Body.None }],
    ['100 Continue', 'HTTP/1.1 100 Continue\r\n\r\n', false, { informational: true, body: Body.None }],
    ['103 Early Hints', 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n', false, { informational: true }],
    ['101', 'HTTP/1.1 101 Switching Protocols\r\n\r\n', false, { informational: false, body: Body.UntilClose }],
    ['HTTP/1.0', 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n', false, { body: Body.Length, length: 2 }],
    ['garbage', 'SSH-2.0-OpenSSH\r\n\r\n', false, { body: Body.UntilClose }],
  ])('%s', (_name, head, toHead, expected) => {
    expect(response(head, toHead)).toMatchObject(expected);
  });
});

describe('chunked bodies', () => {
  const body = '5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n';
  const next = 'GET /next HTTP/1.1\r\n\r\n';

  it('stops exactly at the end of the body, in one piece', () => {
    const buf = Buffer.from(body + next);
    const c = new ChunkedBody();
    expect(c.scan(buf, 0, buf.length)).toBe(body.length);
    expect(c.done).toBe(true);
  });

  it('gives the same end however the body is split', () => {
    const buf = Buffer.from(body + next);
    for (let size = 1; size <= 7; size++) {
      const c = new ChunkedBody();
      let pos = 0;
      while (!c.done && pos < buf.length) pos = c.scan(buf, pos, Math.min(buf.length, pos + size));
      expect(c.done).toBe(true);
      expect(pos).toBe(body.length);
    }
  });

  it('takes a last chunk without trailers, and is reusable', () => {
    const c = new ChunkedBody();
    const a = Buffer.from('3\r\nabc\r\n0\r\n\r\n');
    expect(c.scan(a, 0, a.length)).toBe(a.length);
    expect(c.done).toBe(true);
    c.reset();
    expect(c.done).toBe(false);
    expect(c.scan(a, 0, a.length)).toBe(a.length);
    expect(c.done).toBe(true);
  });

  it.each([
    ['no size', '\r\nabc\r\n'],
    ['a size that is not hex', 'g\r\n'],
    ['a missing CRLF after data', '3\r\nabcX\r\n'],
    ['a bare LF after the size', '3\nabc\r\n'],
    ['an absurd size', 'fffffffffffffff\r\n'],
  ])('fails on %s', (_name, text) => {
    const c = new ChunkedBody();
    const buf = Buffer.from(text);
    c.scan(buf, 0, buf.length);
    expect(c.failed).toBe(true);
    expect(c.done).toBe(false);
  });
});
