// Shared bits of the benchmarks: statistics, formatting, the demo and nginx in their own processes, the CLI.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = resolve(import.meta.dirname, '..');
export const nowMs = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Median of the finite values; NaN when there are none. */
export function median(values: readonly (number | null | undefined)[]): number {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function fmtMs(ms: number | null | undefined): string {
  return typeof ms === 'number' && Number.isFinite(ms) ? `${Math.round(ms)} ms` : '—';
}

export function fmtNum(n: number | null | undefined, digits = 0): string {
  return typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '—';
}

export function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? (a / b).toFixed(2) : '—';
}

/** A fixed-width table row. */
export function row(cells: readonly (string | number)[], widths: readonly number[]): string {
  return cells.map((c, i) => String(c).padStart(widths[i] ?? 10)).join('  ');
}

export function intArg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(`${name}: expected a positive whole number, got ${args[i + 1]}\n`);
    process.exit(1);
  }
  return n;
}

export function machineLine(): string {
  const c = cpus();
  const la = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  return `${new Date().toISOString()} · node ${process.version} · ${c.length} cores (${c[0]?.model.trim() ?? '?'}) · load avg ${la}`;
}

export interface DemoProcess {
  targetUrl: string;
  proxyUrl: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The embedded demo in its own process (src/demo/serve.ts), so it does not share our event loop. */
export async function spawnDemo(extraArgs: string[] = []): Promise<DemoProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/demo/serve.ts', ...extraArgs], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((res, rej) => {
    const t = setTimeout(() => rej(new Error('demo did not print its URLs within 30 s')), 30_000);
    lines.once('line', (l) => {
      clearTimeout(t);
      res(l);
    });
    child.once('exit', (code) => rej(new Error(`demo exited (${code}) before printing its URLs`)));
  });
  const info = JSON.parse(first) as { targetUrl: string; proxyUrl: string };
  return {
    ...info,
    child,
    stop: () =>
      new Promise<void>((res) => {
        if (child.exitCode !== null) return res();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(kill);
          res();
        });
        child.kill('SIGTERM');
      }),
  };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  events: Array<Record<string, unknown> & { type: string; ts: number }>;
}

/** The real CLI (bin/gameday.js) as a child process; killed after `timeoutMs`. */
export function runCli(args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const child = spawn(process.execPath, ['bin/gameday.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((res) => {
    child.on('close', (code) => {
      clearTimeout(killer);
      const events = stdout.split('\n').flatMap((l) => {
        if (!l.startsWith('{')) return [];
        try {
          return [JSON.parse(l) as CliRun['events'][number]];
        } catch {
          return [];
        }
      });
      res({ code, stdout, stderr, events });
    });
  });
}

/** Where Debian's nginx package puts it (/usr/sbin is not on every user's PATH). */
const NGINX = '/usr/sbin/nginx';

export interface NginxProcess {
  /** http://127.0.0.1:<port>: `return 200` on every path */
  url: string;
  /** SIGSTOP / SIGCONT to master and worker at once (its own process group): a stall, as seen from outside */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * A real nginx answering `return 200` (one worker, so it and the client each have a core of the
 * two), in the foreground and in its own process group, with its prefix, pid file, logs and temp
 * paths in a temp dir. Keep-alive connections are not recycled every 1000 requests (nginx's
 * default), so that "connections opened" counts the client's doing only.
 */
/**
 * A one-worker nginx.conf whose pid, logs and temp paths are all in `dir`; `http`: the lines of its
 * http block after those (servers, upstreams).
 */
export function nginxConf(dir: string, http: string[]): string {
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(dir, `${t}_temp`)};`);
  return [
    // as root, workers would drop to www-data, who cannot enter the 0700 temp dir
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    ...temps,
    ...http,
    '}',
    '',
  ].join('\n');
}

export async function spawnNginx(): Promise<NginxProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-bench-nginx-'));
  const port = await freePort();
  const conf = nginxConf(dir, [
    '  keepalive_requests 1000000;',
    '  keepalive_timeout 60s;',
    `  server { listen 127.0.0.1:${port}; location / { return 200; } }`,
  ]);
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const group = (signal: NodeJS.Signals): void => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, signal);
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      group('SIGCONT');
      child.kill('SIGTERM'); // the master stops its worker, then exits
      const kill = setTimeout(() => group('SIGKILL'), 5_000);
      await gone;
      clearTimeout(kill);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null || i > 200) {
      await stop();
      throw new Error(`nginx did not answer on ${url} (is it installed? apt-get install nginx)`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  return { url, pause: () => group('SIGSTOP'), resume: () => group('SIGCONT'), stop };
}
