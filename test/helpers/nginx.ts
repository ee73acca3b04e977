// A real nginx (Debian's package) on loopback, started by the test itself: a temp dir as its prefix
// holding the config, the pid file, the error log and every temp path, so that it runs as root or
// not without touching /etc or /var; killed afterwards. A missing binary fails the suite with the
// line that installs it.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe } from 'vitest';
import { freePort } from './monitoring.ts';

/** Where Debian's nginx package puts it (/usr/sbin is not on every user's PATH). */
const NGINX = '/usr/sbin/nginx';

/** A describe() that needs nginx: fails with the install line when it is missing, never skips. */
export function describeWithNginx(name: string, fn: () => void): void {
  describe(name, () => {
    beforeAll(() => {
      try {
        accessSync(NGINX, constants.X_OK);
      } catch {
        throw new Error('nginx not installed: apt-get install nginx');
      }
    });
    fn();
  });
}

export interface RunningNginx {
  /** http://127.0.0.1:<port>, proxying everything to the upstream */
  url: string;
  /** the upstream's name in upstreamFile */
  upstream: string;
  /** the include file holding the upstream block, as a user would hand it to gameday */
  upstreamFile: string;
  /** nginx -t and nginx -s reload for this prefix and config */
  test: string[];
  reload: string[];
  dir: string;
  /** what nginx printed, then its error log */
  log(): string;
  /**
   * Until the workers a reload retired have exited, so that every request gets the new config.
   * Call it once a request was answered by the new config (before that the master may not even
   * have handled the reload's signal, and the one worker left would be the old one).
   */
  settled(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** The upstream file as a user might have written it (a comment, tabs): restores are compared byte for byte. */
function userUpstreamFile(upstream: string, servers: string[]): string {
  return `# ${upstream}: the app servers (edited by hand)\nupstream ${upstream} {\n${servers.map((s) => `\tserver ${s};\n`).join('')}}\n`;
}

function nginxConf(dir: string, port: number, upstream: string): string {
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${join(dir, `${t}_temp`)};`);
  return [
    // As root, nginx drops its workers to www-data (or nobody), who cannot enter the 0700 temp dir
    // that mkdtemp made, nor the temp paths in it: in a test, workers run as root instead. Not as
    // root, the directive would only draw a warning, so it is left out.
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} info;`,
    'events { worker_connections 256; }',
    'http {',
    '    access_log off;',
    ...temps,
    `    include ${join(dir, 'upstream.conf')};`,
    '    server {',
    `        listen 127.0.0.1:${port};`,
    `        location / { proxy_pass http://${upstream}; proxy_next_upstream off; }`,
    '    }',
    '}',
    '',
  ].join('\n');
}

/** GET on a new connection each time: a kept-alive one would stay with a worker the reload retires. */
export function getText(url: string, timeoutMs = 2_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs}ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** nginx in the foreground (so the test owns its master), proxying to `upstreamServers`. */
export async function startNginx(opts: { upstreamServers: string[]; upstream?: string }): Promise<RunningNginx> {
  const upstream = opts.upstream ?? 'gameday_app';
  const dir = mkdtempSync(join(tmpdir(), 'gameday-nginx-'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  const upstreamFile = join(dir, 'upstream.conf');
  writeFileSync(conf, nginxConf(dir, port, upstream));
  writeFileSync(upstreamFile, userUpstreamFile(upstream, opts.upstreamServers));
  const base = [NGINX, '-p', dir, '-c', conf];
  // argv, not a shell: 'daemon off;' is one item
  const child = spawn(NGINX, ['-p', dir, '-c', conf, '-g', 'daemon off;'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const log = (): string => {
    let errorLog = '';
    try {
      errorLog = readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      // not written yet
    }
    return out + errorLog;
  };
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      // TERM: the master stops its workers, then exits; a KILLed master would leave them listening
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitAnswers(url, () => child.exitCode !== null, log);
  } catch (err) {
    await close();
    throw err;
  }
  const settled = async (timeoutMs = 10_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (childrenOf(child.pid ?? -1).length > 1) {
      if (Date.now() > deadline) throw new Error(`nginx's retired workers still run after ${timeoutMs} ms: ${log().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { url, upstream, upstreamFile, test: [...base, '-t'], reload: [...base, '-s', 'reload'], dir, log, settled, close };
}

/** The pids whose parent is `pid`, from /proc (worker_processes 1: more than one is a reload's leftover). */
function childrenOf(pid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Until nginx answers at all (a 502 too: the upstream is the test's business). */
async function waitAnswers(url: string, exited: () => boolean, log: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited()) throw new Error(`nginx exited before it answered: ${log().slice(-2000)}`);
    try {
      await getText(url, 1_000);
      return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`nginx did not answer within ${timeoutMs} ms: ${log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
