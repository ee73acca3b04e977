// The HAProxy traffic shift against a real HAProxy in front of two real loopback servers: the
// states read back through the runtime API, and the requests through the frontend, both say where
// the traffic goes.
import { createServer as createHttpServer, get } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { HaproxyShiftSpec } from '../../src/config/schema.ts';
import { haproxyShift, undoHaproxy } from '../../src/rollback/haproxy.ts';
import { parseServersState, setServerState, showServersState } from '../../src/rollback/haproxy-runtime.ts';
import { describeWithHaproxy, startHaproxy, type RunningHaproxy } from '../helpers/haproxy.ts';
import { shifted } from '../helpers/rollback-action.ts';
import { listenOnLoopback, type Listening } from '../helpers/loopback.ts';

/** One request on a fresh connection (no keep-alive: each one is balanced on its own). */
function fetchBody(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, headers: { connection: 'close' }, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(`${res.statusCode === 200 ? '' : `${res.statusCode} `}${body}`));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

async function answers(url: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await fetchBody(url));
  return out;
}

function answering(text: string): Promise<Listening> {
  return listenOnLoopback(createHttpServer((_req, res) => res.end(text)));
}

async function states(socket: string, backend: string): Promise<Record<string, string>> {
  const rows = await showServersState(socket, backend, 2000);
  return Object.fromEntries(rows.map((r) => [r.server, r.state]));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// a real answer of HAProxy 2.6 (columns after srv_admin_state cut short), with admin states that
// cover the bits: 4 is CMAINT alone — "disabled" in the config, then `set server … state ready`
const SHOW_SERVERS_STATE = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight
3 be_app 1 primary 127.0.0.1 2 0 1 1
3 be_app 2 standby 127.0.0.1 0 5 1 1
3 be_app 3 cfg-ready 127.0.0.1 2 4 1 1
3 be_app 4 drained 127.0.0.1 2 8 1 1
3 be_app 5 idrain 127.0.0.1 2 16 1 1
3 be_app 6 no-dns 127.0.0.1 0 32 1 1
3 be_app 7 fqdn-set 127.0.0.1 2 64 1 1
3 be_app 8 tracked-maint 127.0.0.1 0 2 1 1

`;

it('parses show servers state into rows and states as set server takes them', () => {
  const rows = parseServersState(SHOW_SERVERS_STATE);
  expect(rows[0]).toEqual({ backend: 'be_app', server: 'primary', address: '127.0.0.1', opState: 2, adminState: 0, state: 'ready' });
  expect(Object.fromEntries(rows.map((r) => [r.server, r.state]))).toEqual({
    primary: 'ready',
    standby: 'maint',
    'cfg-ready': 'ready',
    drained: 'drain',
    idrain: 'drain',
    'no-dns': 'maint',
    'fqdn-set': 'ready',
    'tracked-maint': 'maint',
  });
  expect(() => parseServersState("Can't find backend.\n\n")).toThrow("Can't find backend.");
  expect(() => parseServersState('Unknown command, but maybe one of the following ones is a better match:\n  help\n')).toThrow(
    /^Unknown command$/,
  );
});

describeWithHaproxy('traffic-shift haproxy', () => {
  let primary: Listening;
  let standby: Listening;
  let hap: RunningHaproxy;
  let spec: HaproxyShiftSpec;

  beforeAll(async () => {
    primary = await answering('primary');
    standby = await answering('standby');
    hap = await startHaproxy({
      servers: { primary: primary.url, standby: standby.url },
      disabled: ['standby'],
      tcpSocket: true,
      userSocket: true,
    });
    spec = { socket: hap.socket, backend: hap.backend, from: 'primary', to: 'standby', fromState: 'drain', timeout: 2000 };
  });

  afterAll(async () => {
    await hap?.close();
    await primary?.close();
    await standby?.close();
  });

  // every test starts from the config's states, whatever the one before did
  afterEach(async () => {
    await setServerState(hap.socket, hap.backend, 'primary', 'ready', 2000);
    await setServerState(hap.socket, hap.backend, 'standby', 'maint', 2000);
  });

  it('names the shift', () => {
    expect(haproxyShift(spec).name).toBe('traffic-shift haproxy be_app: primary → standby');
  });

  it('check passes on the admin socket, unix and TCP', async () => {
    await expect(haproxyShift(spec).check()).resolves.toBeUndefined();
    await expect(haproxyShift({ ...spec, socket: hap.tcpSocket! }).check()).resolves.toBeUndefined();
  });

  it('check says why not: a missing socket, an unknown backend, a server not in the backend, a user-level socket', async () => {
    const missing = join(hap.dir, 'nope.sock');
    await expect(haproxyShift({ ...spec, socket: missing }).check()).rejects.toThrow(
      `HAProxy admin socket ${missing} does not answer: connect ENOENT ${missing}`,
    );
    await expect(haproxyShift({ ...spec, backend: 'be_nope' }).check()).rejects.toThrow(
      `HAProxy at ${hap.socket} has no backend be_nope: Can't find backend.`,
    );
    await expect(haproxyShift({ ...spec, to: 'nope' }).check()).rejects.toThrow(
      'server nope is not in backend be_app (it has: primary, standby)',
    );
    await expect(haproxyShift({ ...spec, socket: hap.userSocket! }).check()).rejects.toThrow(
      `HAProxy admin socket ${hap.userSocket} has level user: set server needs "stats socket … level admin"`,
    );
    await expect(haproxyShift({ ...spec, to: 'primary' }).check()).rejects.toThrow('from and to are the same server');
  });

  it('run readies the standby and drains the primary; undo puts both back', async () => {
    expect(await answers(hap.url, 4)).toEqual(['primary', 'primary', 'primary', 'primary']);
    const logFrom = hap.log().length;
    const record = await shifted(haproxyShift(spec));
    // HAProxy's own log of the shift: the standby up before the primary drains, never no server
    const log = hap.log().slice(logFrom);
    expect(log.indexOf('be_app/standby is UP')).toBeGreaterThanOrEqual(0);
    expect(log.indexOf('be_app/standby is UP')).toBeLessThan(log.indexOf('be_app/primary enters drain state. 1 active'));
    expect(record).toEqual({
      kind: 'haproxy',
      socket: hap.socket,
      timeoutMs: 2000,
      servers: [
        { backend: 'be_app', server: 'primary', state: 'ready' },
        { backend: 'be_app', server: 'standby', state: 'maint' },
      ],
    });
    expect(await states(hap.socket, hap.backend)).toEqual({ primary: 'drain', standby: 'ready' });
    expect(new Set(await answers(hap.url, 20))).toEqual(new Set(['standby']));

    if (record?.kind !== 'haproxy') throw new Error('no haproxy undo record');
    await undoHaproxy(record);
    expect(await states(hap.socket, hap.backend)).toEqual({ primary: 'ready', standby: 'maint' });
    expect(new Set(await answers(hap.url, 20))).toEqual(new Set(['primary']));
    // idempotent: a watchdog may undo what the controller already undid
    await undoHaproxy(record);
    expect(await states(hap.socket, hap.backend)).toEqual({ primary: 'ready', standby: 'maint' });
  });

  it('puts the primary in maintenance when asked, through the TCP admin socket', async () => {
    const record = await shifted(haproxyShift({ ...spec, socket: hap.tcpSocket!, fromState: 'maint' }));
    expect(await states(hap.socket, hap.backend)).toEqual({ primary: 'maint', standby: 'ready' });
    expect(new Set(await answers(hap.url, 10))).toEqual(new Set(['standby']));
    if (record?.kind !== 'haproxy') throw new Error('no haproxy undo record');
    expect(record.socket).toBe(hap.tcpSocket);
    await undoHaproxy(record);
    expect(await states(hap.socket, hap.backend)).toEqual({ primary: 'ready', standby: 'maint' });
    expect(new Set(await answers(hap.url, 10))).toEqual(new Set(['primary']));
  });

  it('run against a server not in the backend changes nothing', async () => {
    await expect(haproxyShift({ ...spec, to: 'nope' }).run()).rejects.toThrow('server nope is not in backend be_app');
    expect(await states(hap.socket, hap.backend)).toEqual({ primary: 'ready', standby: 'maint' });
  });

  it('a socket that accepts but never answers: check and undo reject within the timeout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gameday-mute-'));
    const conns: Socket[] = [];
    const mute: NetServer = createNetServer((c) => conns.push(c));
    const path = join(dir, 'mute.sock');
    await new Promise<void>((r) => mute.listen(path, r));
    try {
      const timeout = 300;
      let t0 = performance.now();
      await expect(haproxyShift({ ...spec, socket: path, timeout }).check()).rejects.toThrow(
        `HAProxy admin socket ${path} did not answer "show cli level" within ${timeout} ms`,
      );
      expect(performance.now() - t0).toBeLessThan(timeout + 250);
      t0 = performance.now();
      const record = {
        kind: 'haproxy' as const,
        socket: path,
        timeoutMs: timeout,
        servers: [{ backend: 'be_app', server: 'primary', state: 'ready' as const }],
      };
      await expect(undoHaproxy(record)).rejects.toThrow(/did not answer "set server be_app\/primary state ready" within \d+ ms/);
      expect(performance.now() - t0).toBeLessThan(timeout + 250);
    } finally {
      conns.forEach((c) => c.destroy());
      await new Promise<void>((r) => mute.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with health checks on, the shift verifies too', async () => {
    const checked = await startHaproxy({
      servers: { primary: primary.url, standby: standby.url },
      disabled: ['standby'],
      healthChecks: true,
    });
    try {
      const record = await shifted(haproxyShift({ ...spec, socket: checked.socket }));
      expect(await states(checked.socket, checked.backend)).toEqual({ primary: 'drain', standby: 'ready' });
      expect(new Set(await answers(checked.url, 10))).toEqual(new Set(['standby']));
      if (record?.kind !== 'haproxy') throw new Error('no haproxy undo record');
      await undoHaproxy(record);
      expect(new Set(await answers(checked.url, 10))).toEqual(new Set(['primary']));
    } finally {
      await checked.close();
    }
  });

  it('times the shift: run() start to the first request the standby answers (median of 5)', async () => {
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      expect(await fetchBody(hap.url)).toBe('primary');
      const t0 = performance.now();
      const running = shifted(haproxyShift(spec));
      let firstStandbyMs = -1;
      while (firstStandbyMs < 0 && performance.now() - t0 < 5000) {
        if ((await fetchBody(hap.url)) === 'standby') firstStandbyMs = performance.now() - t0;
      }
      const record = await running;
      expect(firstStandbyMs).toBeGreaterThanOrEqual(0);
      samples.push(firstStandbyMs);
      if (record?.kind !== 'haproxy') throw new Error('no haproxy undo record');
      await undoHaproxy(record);
    }
    console.log(
      `haproxy shift: run() start → first request answered by the standby: median ${median(samples).toFixed(1)} ms ` +
        `(samples ${samples.map((s) => s.toFixed(1)).join(', ')} ms)`,
    );
  });
});
