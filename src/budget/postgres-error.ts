// What a PostgreSQL or network failure means for the user: every one becomes a LedgerError naming
// the ledger by its URL without the password, what failed, and what to do. The password never
// appears: not in the location, and any text from the failure is scrubbed of it.
import { LedgerError } from './ledger-error.ts';

/** Where the ledger is, fit to print, and what to scrub from messages. */
export interface PgTarget {
  /** the URL without its password (user, host, port, database and harmless parameters kept) */
  location: string;
  /** host:port, for "reachable at" */
  endpoint: string;
  /** the password and its encoded form, as they may appear in a message */
  secrets: string[];
}

const SECRET_PARAMS = ['password', 'sslpassword'];

/** Parse the ledger URL without ever echoing it: a bad URL's error would carry the password. */
export function pgTarget(url: string): PgTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LedgerError('(PostgreSQL URL)', 'the URL does not parse', 'Percent-encode @, : and / in the password');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
    throw new LedgerError('(PostgreSQL URL)', `the URL's scheme is ${u.protocol}`, 'Use a postgres:// or postgresql:// URL');
  const secrets = [u.password, safeDecode(u.password), ...SECRET_PARAMS.map((p) => u.searchParams.get(p) ?? '')].filter((s) => s !== '');
  u.password = '';
  for (const p of SECRET_PARAMS) u.searchParams.delete(p);
  const host = u.searchParams.get('host') ?? (u.hostname || process.env.PGHOST || 'localhost');
  const port = u.searchParams.get('port') ?? (u.port || process.env.PGPORT || '5432');
  return { location: u.toString(), endpoint: host.startsWith('/') ? `${host} (port ${port})` : `${host}:${port}`, secrets };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}

type Kind = 'unreachable' | 'auth' | 'no-database' | 'privilege' | 'busy' | 'full' | 'tls' | 'other';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** node-postgres's own words for a connection that failed, timed out or went away */
const NETWORK_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|Client has encountered a connection error|socket hang up|ended unexpectedly/i;

const codeOf = (err: unknown): string => {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : '';
};

function messageOf(err: unknown): string {
  if (err instanceof AggregateError && !err.message) return err.errors.map(messageOf).join('; ');
  return (err as Error)?.message || codeOf(err) || String(err);
}

function kindOf(err: unknown): Kind {
  const code = codeOf(err);
  const message = messageOf(err);
  if (NETWORK_CODES.has(code) || code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code) || NETWORK_MESSAGES.test(message))
    return 'unreachable';
  if (code === '28P01' || code === '28000' || /password|SASL|SCRAM/i.test(message)) return 'auth';
  if (code === '3D000') return 'no-database';
  if (code === '42501') return 'privilege';
  if (['57014', '55P03', '40001', '40P01', '25P03'].includes(code)) return 'busy';
  if (code === '53300' || code === '53100' || code === '53200') return 'full';
  if (/SSL|TLS|certificate/i.test(message)) return 'tls';
  return 'other';
}

/**
 * Worth trying again: the server went away or is restarting, the call timed out, or a transaction
 * lost a race. The ledger's writes are idempotent where they are retried (settle, finish).
 */
export const isTransient = (err: unknown): boolean => {
  const kind = kindOf(err);
  return kind === 'unreachable' || kind === 'busy' || codeOf(err) === '53300';
};

/** Whether a failure says anything about the connection it came from (then that connection is dropped, not reused). */
export const isConnectionFailure = (err: unknown): boolean => kindOf(err) === 'unreachable' || kindOf(err) === 'busy';

function adviceFor(kind: Kind, t: PgTarget): string {
  switch (kind) {
    case 'unreachable':
      return `Check that PostgreSQL is running and reachable at ${t.endpoint}, then retry`;
    case 'auth':
      return "Check the user and password (in the URL, percent-encoded, or PGPASSWORD / ~/.pgpass) and the server's pg_hba.conf";
    case 'no-database':
      return 'Create the database (createdb), or fix its name in the URL';
    case 'privilege':
      return 'Grant the user CREATE on the database (for schema gameday) and use of schema gameday, or let its owner run gameday once';
    case 'busy':
      return 'The ledger was busy (locked or slow) for too long; retry';
    case 'full':
      return 'The server has no room (connections, memory or disk); retry later, or ask its administrator';
    case 'tls':
      return "Check the URL's sslmode and the server's TLS certificate";
    default:
      return "Check the PostgreSQL server's log, then retry";
  }
}

/** Translate a failure while `doing` into what the user should do. LedgerErrors pass through. */
export function pgLedgerError(t: PgTarget, err: unknown, doing: string): LedgerError {
  if (err instanceof LedgerError) return err;
  const code = codeOf(err);
  const problem = scrub(`${doing} failed: ${messageOf(err)}${code && !messageOf(err).includes(code) ? ` (${code})` : ''}`, t.secrets);
  return new LedgerError(t.location, problem, adviceFor(kindOf(err), t), { cause: err });
}
