// A small client for HAProxy's runtime API (the "stats socket … level admin"): one command per
// connection, in non-interactive mode, so the answer is everything HAProxy writes before it closes.
// No haproxy CLI tool (socat, hatop) is needed, and the same code talks to a unix or a TCP socket.
import { connect, type Socket } from 'node:net';

/** A server's administrative state, as `set server <b>/<s> state …` takes it. */
export type ServerState = 'ready' | 'drain' | 'maint';

export interface ServerStateRow {
  backend: string;
  server: string;
  address: string;
  /** srv_op_state: 0 stopped (down), 1 starting, 2 running, 3 stopping */
  opState: number;
  /** srv_admin_state: the SRV_ADMF_* bit field */
  adminState: number;
  /** what adminState amounts to */
  state: ServerState;
}

/** An answer of HAProxy's own that says no ("No such server.", "Permission denied"…), not a transport failure. */
export class HaproxyAnswerError extends Error {
  override readonly name = 'HaproxyAnswerError';
}

// SRV_ADMF_MAINT and SRV_ADMF_DRAIN in HAProxy's server-t.h. CMAINT (0x04, "disabled" in the
// config) is left out on purpose, as HAProxy does: it stays set after `set server … state ready`
// although the server is then ready, so counting it would read a ready server as maint.
const ADMIN_MAINT = 0x01 | 0x02 | 0x20; // FMAINT, IMAINT (inherited), RMAINT (address did not resolve)
const ADMIN_DRAIN = 0x08 | 0x10; // FDRAIN, IDRAIN (inherited)
/** the bits `set server` cannot clear: inherited from a tracked server, or from DNS */
export const ADMIN_NOT_OURS = 0x02 | 0x10 | 0x20;

function serverState(adminState: number): ServerState {
  if (adminState & ADMIN_MAINT) return 'maint';
  if (adminState & ADMIN_DRAIN) return 'drain';
  return 'ready';
}

/** A unix path when it starts with / or . (or unix@), else host:port ([v6]:port too). */
function connectTo(socket: string): Socket {
  if (socket.startsWith('/') || socket.startsWith('.')) return connect({ path: socket });
  if (socket.startsWith('unix@')) return connect({ path: socket.slice('unix@'.length) });
  const hostPort = socket.replace(/^ipv[46]@/, '');
  const colon = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(hostPort.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`HAProxy admin socket ${socket}: give a unix socket path (/run/haproxy/admin.sock) or host:port`);
  }
  return connect({ host, port });
}

/**
 * Sends one command and resolves with HAProxy's whole answer (read until it closes the connection),
 * or rejects when the socket does not answer within timeoutMs. The answer may be one of HAProxy's
 * refusals: the callers below know what a good answer looks like.
 */
export function haproxyCommand(socket: string, command: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    // one line is one command: a newline or ; in an argument would smuggle in a second one
    if (/[\r\n;]/.test(command)) throw new Error(`not a single HAProxy command: ${JSON.stringify(command)}`);
    const conn = connectTo(socket);
    const chunks: Buffer[] = [];
    let settled = false;
    const timer = setTimeout(() => {
      conn.destroy();
      fail(new Error(`HAProxy admin socket ${socket} did not answer "${command}" within ${timeoutMs} ms`));
    }, timeoutMs);
    function fail(err: Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    }
    conn.on('data', (d: Buffer) => chunks.push(d));
    conn.on('error', (err) => fail(new Error(`HAProxy admin socket ${socket} does not answer: ${err.message}`)));
    conn.on('close', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    conn.end(`${command}\n`);
  });
}

/** HAProxy's refusal as one line: "Unknown command, but maybe one of…" keeps only its first words. */
function refusal(answer: string): string {
  const first = answer.trim().split('\n')[0] ?? '';
  return first.replace(/, but maybe one of the following.*$/, '') || '(empty answer)';
}

/** A backend or server name goes into a command line as one word: nothing that could split it. */
function assertName(name: string, what: string): void {
  if (!/^[A-Za-z0-9._:-]+$/.test(name)) throw new Error(`${what} ${JSON.stringify(name)}: not a HAProxy name`);
}

/** Parses `show servers state` (format version 1: version line, "# be_id be_name …" header, rows). */
export function parseServersState(answer: string): ServerStateRow[] {
  const lines = answer.split('\n').filter((l) => l.trim() !== '');
  if (!/^\d+$/.test(lines[0]?.trim() ?? '')) throw new HaproxyAnswerError(refusal(answer));
  const header = lines[1]?.replace(/^#\s*/, '').split(/\s+/) ?? [];
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`show servers state: no ${name} column in ${JSON.stringify(lines[1] ?? '')}`);
    return i;
  };
  const [be, srv, addr, op, admin] = ['be_name', 'srv_name', 'srv_addr', 'srv_op_state', 'srv_admin_state'].map(col);
  return lines
    .slice(2)
    .filter((l) => !l.startsWith('#'))
    .map((l) => {
      const f = l.trim().split(/\s+/);
      const adminState = Number(f[admin]);
      return { backend: f[be], server: f[srv], address: f[addr], opState: Number(f[op]), adminState, state: serverState(adminState) };
    });
}

export async function showServersState(socket: string, backend: string, timeoutMs: number): Promise<ServerStateRow[]> {
  assertName(backend, 'backend');
  const rows = parseServersState(await haproxyCommand(socket, `show servers state ${backend}`, timeoutMs));
  return rows.filter((r) => r.backend === backend);
}

export async function setServerState(
  socket: string,
  backend: string,
  server: string,
  state: ServerState,
  timeoutMs: number,
): Promise<void> {
  assertName(backend, 'backend');
  assertName(server, 'server');
  const answer = await haproxyCommand(socket, `set server ${backend}/${server} state ${state}`, timeoutMs);
  // success is an empty answer; anything else is HAProxy saying why not
  if (answer.trim() !== '') throw new HaproxyAnswerError(refusal(answer));
}

/** The socket's level (`show cli level`, HAProxy 2.0 and later): set server needs admin. */
export async function cliLevel(socket: string, timeoutMs: number): Promise<'admin' | 'operator' | 'user'> {
  const answer = (await haproxyCommand(socket, 'show cli level', timeoutMs)).trim();
  if (answer === 'admin' || answer === 'operator' || answer === 'user') return answer;
  throw new HaproxyAnswerError(refusal(answer));
}
