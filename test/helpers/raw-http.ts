// One TCP connection speaking HTTP/1.1 by hand: requests written exactly as given (pipelined if
// the test wants), answers read back in order. For tests that must know which connection carried
// which request, which no pooling client promises.
import net from 'node:net';
import type { Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  /** lower-case names; a repeated header keeps its last value */
  headers: Record<string, string>;
  body: Buffer;
}

export class RawConnection {
  private buffered = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;
  /** resolves when the proxy (or anyone) closed the connection */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.wake?.();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.ended = true;
        this.wake?.();
        resolve();
      }),
    );
  }

  static open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: hostname, port: Number(port) }, () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** GET (or another body-less method) of `path`, keep-alive. */
  get(path: string, method = 'GET'): void {
    this.send(`${method} ${path} HTTP/1.1\r\nHost: proxy.test\r\n\r\n`);
  }

  /** The next whole answer; `toHead`: it answers a HEAD (no body whatever its headers say). */
  async answer(opts: { toHead?: boolean; timeoutMs?: number } = {}): Promise<RawAnswer> {
    const deadline = Date.now() + (opts.timeoutMs ?? 5_000);
    for (;;) {
      const parsed = parseAnswer(this.buffered, opts.toHead ?? false, this.ended);
      if (parsed !== null) {
        this.buffered = this.buffered.subarray(parsed.used);
        return parsed.answer;
      }
      if (this.ended) throw new Error(`connection closed before a whole answer; had ${JSON.stringify(this.buffered.toString('latin1'))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no whole answer in time; had ${JSON.stringify(this.buffered.toString('latin1').slice(0, 500))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Nothing more arrived than what was read (e.g. no answer to a request that must not get one yet). */
  get unread(): number {
    return this.buffered.length;
  }

  get isClosed(): boolean {
    return this.ended;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function parseAnswer(buf: Buffer, toHead: boolean, ended: boolean): { answer: RawAnswer; used: number } | null {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const lines = buf.toString('latin1', 0, headEnd).split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const start = headEnd + 4;
  if (toHead || status === 204 || status === 304 || (status >= 100 && status < 200)) {
    return { answer: { status, headers, body: Buffer.alloc(0) }, used: start };
  }
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') return dechunk(buf, start, status, headers);
  if (headers['content-length'] !== undefined) {
    const end = start + Number(headers['content-length']);
    if (buf.length < end) return null;
    return { answer: { status, headers, body: Buffer.from(buf.subarray(start, end)) }, used: end };
  }
  return ended ? { answer: { status, headers, body: Buffer.from(buf.subarray(start)) }, used: buf.length } : null;
}

function dechunk(buf: Buffer, from: number, status: number, headers: Record<string, string>): { answer: RawAnswer; used: number } | null {
  const pieces: Buffer[] = [];
  let p = from;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', p);
    if (lineEnd < 0) return null;
    const size = parseInt(buf.toString('latin1', p, lineEnd).split(';')[0], 16);
    if (size === 0) {
      const end = buf.indexOf('\r\n\r\n', lineEnd);
      if (end < 0) return null;
      return { answer: { status, headers, body: Buffer.concat(pieces) }, used: end + 4 };
    }
    if (buf.length < lineEnd + 2 + size + 2) return null;
    pieces.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
    p = lineEnd + 2 + size + 2;
  }
}
