// The `traffic-shift` rollback step through HAProxy's runtime API: the standby server is made ready,
// then the primary drained (or put in maintenance), each verified by reading the states back. The
// original states go into the UndoRecord, so the run's end — or a watchdog — can put them back.
import type { HaproxyShiftSpec } from '../config/schema.ts';
import type { RollbackAction, UndoRecord } from './action.ts';
import {
  ADMIN_NOT_OURS,
  cliLevel,
  HaproxyAnswerError,
  setServerState,
  showServersState,
  type ServerState,
  type ServerStateRow,
} from './haproxy-runtime.ts';

type HaproxyUndo = Extract<UndoRecord, { kind: 'haproxy' }>;
type Wanted = HaproxyUndo['servers'][number];

/** How often a read-back that does not show the wanted states yet is retried. */
const READ_BACK_INTERVAL_MS = 50;
/** srv_op_state 0: the server is down (checks), ready or not it takes no traffic */
const OP_STOPPED = 0;

/** One time budget for a whole check, run or undo: each command gets what is left of it. */
function budget(timeoutMs: number): () => number {
  const deadline = performance.now() + timeoutMs;
  return () => Math.max(1, Math.round(deadline - performance.now()));
}

function findServer(rows: ServerStateRow[], backend: string, server: string): ServerStateRow {
  const row = rows.find((r) => r.server === server);
  if (row) return row;
  const has = rows.length ? `it has: ${rows.map((r) => r.server).join(', ')}` : 'it has no servers';
  throw new Error(`server ${server} is not in backend ${backend} (${has})`);
}

/** The backend's servers; HAProxy's "Can't find backend." said as which backend on which socket. */
async function readBackend(socket: string, backend: string, timeoutMs: number): Promise<ServerStateRow[]> {
  try {
    return await showServersState(socket, backend, timeoutMs);
  } catch (err) {
    if (err instanceof HaproxyAnswerError)
      throw new Error(`HAProxy at ${socket} has no backend ${backend}: ${err.message}`, { cause: err });
    throw err;
  }
}

async function setState(socket: string, w: Wanted, timeoutMs: number): Promise<void> {
  try {
    await setServerState(socket, w.backend, w.server, w.state, timeoutMs);
  } catch (err) {
    if (err instanceof HaproxyAnswerError)
      throw new Error(`set server ${w.backend}/${w.server} state ${w.state}: ${err.message}`, { cause: err });
    throw err;
  }
}

function describe(row: ServerStateRow): string {
  return `${row.server} is ${row.state}${row.opState === OP_STOPPED ? ' (down)' : ''}`;
}

/**
 * Reads the states back until every server is as wanted (and up, when `up` says so) or the time is
 * out. set server applies at once; the retry is for what HAProxy does after it (a check, a thread).
 */
async function verify(socket: string, wanted: Wanted[], up: string[], left: () => number): Promise<void> {
  for (;;) {
    const rowsByBackend = new Map<string, ServerStateRow[]>();
    for (const backend of new Set(wanted.map((w) => w.backend))) rowsByBackend.set(backend, await readBackend(socket, backend, left()));
    const rows = wanted.map((w) => findServer(rowsByBackend.get(w.backend) ?? [], w.backend, w.server));
    const wrong = rows.filter((r, i) => r.state !== wanted[i].state || (up.includes(r.server) && r.opState === OP_STOPPED));
    if (wrong.length === 0) return;
    if (left() <= READ_BACK_INTERVAL_MS) {
      const want = wanted.map((w) => `${w.server} ${w.state}`).join(', ');
      throw new Error(`HAProxy at ${socket} did not take the new states (wanted ${want}; ${wrong.map(describe).join(', ')})`);
    }
    await new Promise((r) => setTimeout(r, READ_BACK_INTERVAL_MS));
  }
}

async function check(spec: HaproxyShiftSpec): Promise<void> {
  const left = budget(spec.timeout);
  if (spec.from === spec.to) throw new Error(`traffic-shift haproxy: from and to are the same server (${spec.from})`);
  const level = await cliLevel(spec.socket, left()).catch((err: unknown) => {
    if (err instanceof HaproxyAnswerError)
      throw new Error(`HAProxy admin socket ${spec.socket}: show cli level: ${err.message}`, { cause: err });
    throw err;
  });
  if (level !== 'admin') {
    throw new Error(`HAProxy admin socket ${spec.socket} has level ${level}: set server needs "stats socket … level admin"`);
  }
  const rows = await readBackend(spec.socket, spec.backend, left());
  findServer(rows, spec.backend, spec.from);
  const to = findServer(rows, spec.backend, spec.to);
  // set server only clears what it set: maint inherited from a tracked server or from DNS stays
  if (to.adminState & ADMIN_NOT_OURS) {
    throw new Error(`server ${spec.to} cannot be made ready by set server: its state is inherited (tracked server) or from DNS`);
  }
}

/** Runs `op`; when it fails, puts the servers back as `before` (best effort) and rethrows. */
async function orRestore<T>(record: HaproxyUndo, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    await undoHaproxy(record).catch(() => {});
    throw err;
  }
}

/** The two servers' states as they are now: what undo puts back. */
async function prepare(spec: HaproxyShiftSpec): Promise<HaproxyUndo> {
  const { socket, backend, from, to } = spec;
  const rows = await readBackend(socket, backend, spec.timeout);
  return {
    kind: 'haproxy',
    socket,
    timeoutMs: spec.timeout,
    servers: [from, to].map((server) => ({ backend, server, state: findServer(rows, backend, server).state })),
  };
}

async function run(spec: HaproxyShiftSpec, record: HaproxyUndo): Promise<void> {
  const { socket, backend, from, to, fromState } = spec;
  const left = budget(spec.timeout);
  const readyTo: Wanted = { backend, server: to, state: 'ready' };
  const outFrom: Wanted = { backend, server: from, state: fromState };
  await orRestore(record, async () => {
    // `to` first, and proven up, before `from` goes: the backend is never left without a server
    await setState(socket, readyTo, left());
    await verify(socket, [readyTo], [to], left);
    await setState(socket, outFrom, left());
    await verify(socket, [readyTo, outFrom], [to], left);
  });
}

const ORDER: Record<ServerState, number> = { ready: 0, drain: 1, maint: 2 };

/**
 * Puts each server back in its recorded state, the ready ones first (so the backend keeps a server
 * throughout), and verifies by reading back. Setting a state twice is harmless: idempotent.
 */
export async function undoHaproxy(record: HaproxyUndo): Promise<void> {
  const left = budget(record.timeoutMs);
  const servers = [...record.servers].sort((a, b) => ORDER[a.state] - ORDER[b.state]);
  for (const w of servers) await setState(record.socket, w, left());
  await verify(record.socket, servers, [], left);
}

export function haproxyShift(spec: HaproxyShiftSpec): RollbackAction {
  const s = { ...spec };
  // the states before the first run(): a retry must not take the half-shifted states for the originals
  let before: HaproxyUndo | null = null;
  const prepared = async () => (before ??= await prepare(s));
  return {
    name: `traffic-shift haproxy ${s.backend}: ${s.from} → ${s.to}`,
    check: () => check(s),
    prepare: prepared,
    run: async () => run(s, await prepared()),
  };
}
