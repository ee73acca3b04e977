// A real HAProxy (Debian's package) on loopback, started by the test itself: random ports, an admin
// socket in a temp dir, killed afterwards. A missing binary fails the suite with the line that
// installs it: a traffic shift tested against a fake proves nothing about HAProxy.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { beforeAll, describe } from 'vitest';
import { haproxyCommand } from '../../src/rollback/haproxy-runtime.ts';
import { freePort } from './monitoring.ts';

const MISSING = 'haproxy not installed: apt-get install haproxy';

/** The haproxy binary: on PATH, or in the sbin directories a non-root PATH often leaves out. */
function haproxyBinary(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    try {
      accessSync(join(dir, 'haproxy'), constants.X_OK);
      return join(dir, 'haproxy');
    } catch {
      // not here
    }
  }
  return null;
}

/** A describe() that needs HAProxy: fails with the install line when it is missing, never skips. */
export function describeWithHaproxy(name: string, fn: () => void): void {
  describe(name, () => {
    beforeAll(() => {
      if (!haproxyBinary()) throw new Error(MISSING);
    });
    fn();
  });
}

export interface HaproxyOptions {
  /** server name → its url (http://127.0.0.1:port), in config order */
  servers: Record<string, string>;
  /** servers that start in maintenance (`disabled` in the config) */
  disabled?: string[];
  /** default be_app */
  backend?: string;
  /** a TCP admin socket too (127.0.0.1:<port>), besides the unix one */
  tcpSocket?: boolean;
  /** a unix socket at `level user` too, to prove a step refuses it */
  userSocket?: boolean;
  /** HTTP health checks (GET /) every 200 ms; off by default, so only the test changes a server's state */
  healthChecks?: boolean;
}

export interface RunningHaproxy {
  /** the frontend: http://127.0.0.1:<port> */
  url: string;
  backend: string;
  /** the admin unix socket's path */
  socket: string;
  /** 127.0.0.1:<port>, when asked for */
  tcpSocket?: string;
  /** the level-user unix socket's path, when asked for */
  userSocket?: string;
  dir: string;
  /** everything it printed */
  log(): string;
  close(): Promise<void>;
}

function config(opts: HaproxyOptions, dir: string, port: number, tcpPort: number | null): string {
  const backend = opts.backend ?? 'be_app';
  const servers = Object.entries(opts.servers).map(([name, url]) => {
    const u = new URL(url);
    const extra = [opts.healthChecks ? 'check inter 200ms' : '', opts.disabled?.includes(name) ? 'disabled' : ''].filter(Boolean);
    return `  server ${name} ${u.hostname}:${u.port} ${extra.join(' ')}`.trimEnd();
  });
  return [
    'global',
    `  stats socket ${join(dir, 'admin.sock')} mode 600 level admin`,
    ...(tcpPort ? [`  stats socket ipv4@127.0.0.1:${tcpPort} level admin`] : []),
    ...(opts.userSocket ? [`  stats socket ${join(dir, 'user.sock')} mode 600 level user`] : []),
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 5s',
    '  timeout server 5s',
    'frontend fe',
    `  bind 127.0.0.1:${port}`,
    `  default_backend ${backend}`,
    `backend ${backend}`,
    '  balance roundrobin',
    ...(opts.healthChecks ? ['  option httpchk GET /'] : []),
    ...servers,
    '',
  ].join('\n');
}

/** Until the admin socket answers (HAProxy has parsed its config and listens). */
async function waitReady(socket: string, exited: () => boolean, log: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited()) throw new Error(`haproxy exited before it was ready: ${log().slice(-2000)}`);
    const level = await haproxyCommand(socket, 'show cli level', 1000).catch(() => '');
    if (level.trim() === 'admin') return;
    if (Date.now() > deadline) throw new Error(`haproxy not ready after ${timeoutMs} ms: ${log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `haproxy -f <tmp cfg> -db` (foreground) on loopback, with one frontend to one backend. */
export async function startHaproxy(opts: HaproxyOptions): Promise<RunningHaproxy> {
  const bin = haproxyBinary();
  if (!bin) throw new Error(MISSING);
  const dir = mkdtempSync(join(tmpdir(), 'gameday-haproxy-'));
  const port = await freePort();
  const tcpPort = opts.tcpSocket ? await freePort() : null;
  writeFileSync(join(dir, 'haproxy.cfg'), config(opts, dir, port, tcpPort));
  const child = spawn(bin, ['-f', join(dir, 'haproxy.cfg'), '-db'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let spawnFailed = false;
  child.on('error', (err) => {
    spawnFailed = true;
    out += `${err.message}\n`;
  });
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = () => spawnFailed || child.exitCode !== null || child.signalCode !== null;
  const close = async (): Promise<void> => {
    if (!exited()) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const socket = join(dir, 'admin.sock');
  try {
    await waitReady(socket, exited, () => out);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    backend: opts.backend ?? 'be_app',
    socket,
    ...(tcpPort ? { tcpSocket: `127.0.0.1:${tcpPort}` } : {}),
    ...(opts.userSocket ? { userSocket: join(dir, 'user.sock') } : {}),
    dir,
    log: () => out,
    close,
  };
}
