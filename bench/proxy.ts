// The fault proxy's cost in the request path, against nginx as the anchor, in the same run: a real
// nginx (Debian's package) serves a backend (`return 200 "ok"`) on one port and reverse-proxies to
// it on another (upstream keepalive pool, HTTP/1.1); gameday's FaultProxy, in this process with no
// fault set, proxies to the same backend. wrk drives each:
//
// - throughput: `wrk -t1 -c50 -d5s --latency`, nginx proxy and fault proxy one after the other,
//   the order alternating per round; req/s and p50 of each, the ratio fault proxy / nginx;
// - latency added: `wrk -t1 -c1 -d1s`, direct to the backend, through the fault proxy, through
//   nginx, in cycles of three (order rotating), 5 cycles a round; per cycle p50 through a proxy
//   minus p50 direct. Short cycles because at one connection the p50 swings between ~10 and
//   ~100 µs with the machine's state (an idle vCPU takes tens of µs to wake): a difference is only
//   meaningful between runs next to each other.
//
// Medians over the rounds; the fault proxy's CPU per request from process.cpuUsage() (this process
// does nothing else while wrk runs). Figures to bench/results.json.
//
//   node --import tsx bench/proxy.ts [--rounds 3] [--seconds 5]
//
// Both nginx servers are one nginx worker (worker_processes 1): one event loop, like the fault
// proxy. On 2 cores wrk itself needs most of one: the proxies and the backend share the other,
// so the figures are about CPU per request, and every figure is next to its anchor from the run.
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultProxy } from '../src/faults/proxy.ts';
import { freePort } from '../test/helpers/monitoring.ts';
import { fmtNum, intArg, machineLine, median, nginxConf, row, sleep } from './lib.ts';
import { writeResults, type BenchResult } from './results.ts';

const NGINX = '/usr/sbin/nginx';
const WRK = '/usr/bin/wrk';
const args = process.argv.slice(2);
const ROUNDS = intArg(args, '--rounds', 3);
const SECONDS = intArg(args, '--seconds', 5);
const CONNECTIONS = 50;
const C1_CYCLES = 5;

function need(binary: string, pkg: string): void {
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    process.stderr.write(`${binary} not found: apt-get install ${pkg}\n`);
    process.exit(1);
  }
}

interface Nginx {
  backendUrl: string;
  proxyUrl: string;
  close(): Promise<void>;
}

function proxyConf(dir: string, backendPort: number, proxyPort: number): string {
  return nginxConf(dir, [
    `  upstream backend { server 127.0.0.1:${backendPort}; keepalive 64; }`,
    `  server { listen 127.0.0.1:${backendPort}; location / { return 200 "ok"; } }`,
    `  server {`,
    `    listen 127.0.0.1:${proxyPort};`,
    '    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }',
    '  }',
  ]);
}

function getStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function startNginx(): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-bench-nginx-'));
  const [backendPort, proxyPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, proxyConf(dir, backendPort, proxyPort));
  const child = spawn(NGINX, ['-p', dir, '-c', conf, '-g', 'daemon off;'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM'); // the master stops its worker, then exits
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const nginx = { backendUrl: `http://127.0.0.1:${backendPort}/`, proxyUrl: `http://127.0.0.1:${proxyPort}/`, close };
  for (const deadline = Date.now() + 10_000; ;) {
    try {
      if ((await getStatus(nginx.backendUrl)) === 200 && (await getStatus(nginx.proxyUrl)) === 200) return nginx;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      let log = out;
      try {
        log += readFileSync(join(dir, 'error.log'), 'utf8');
      } catch {
        // no log yet
      }
      await close();
      throw new Error(`nginx did not come up: ${log.slice(-2000)}`);
    }
    await sleep(50);
  }
}

interface WrkRun {
  rps: number;
  p50Ms: number;
  requests: number;
  /** socket errors and non-2xx answers: a run with any is not a clean figure */
  errors: number;
  /** the fault proxy's CPU (this process) per request, µs; null when the target is not ours */
  cpuUsPerRequest: number | null;
}

/** wrk's "1.56ms", "830.00us", "1.02s" in ms. */
function wrkMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return NaN;
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[m[2] as 'us' | 'ms' | 's' | 'm'];
  return Number(m[1]) * scale;
}

function runWrk(url: string, connections: number, seconds: number, ours: boolean): Promise<WrkRun> {
  const cpu0 = process.cpuUsage();
  const argv = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url];
  return new Promise((resolve, reject) => {
    execFile(WRK, argv, { timeout: (seconds + 30) * 1000 }, (err, stdout) => {
      if (err) return reject(new Error(`wrk ${argv.join(' ')}: ${err.message}`));
      const cpu = process.cpuUsage(cpu0);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
      const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
      const p50 = /^\s+50%\s+(\S+)/m.exec(stdout)?.[1] ?? '';
      const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
      const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((a, n) => a + Number(n), 0) : 0);
      resolve({
        rps,
        p50Ms: wrkMs(p50),
        requests,
        errors,
        cpuUsPerRequest: ours && requests > 0 ? (cpu.user + cpu.system) / requests : null,
      });
    });
  });
}

/** One cycle at one connection: p50s next to each other. */
interface Cycle {
  direct: WrkRun;
  gameday: WrkRun;
  nginx: WrkRun;
}

interface Round {
  nginx: WrkRun;
  gameday: WrkRun;
  cycles: Cycle[];
}

async function oneRound(k: number, nginx: Nginx, proxyUrl: string): Promise<Round> {
  const nginxFirst = k % 2 === 0;
  const c50 = async (which: 'nginx' | 'gameday') =>
    which === 'nginx' ? runWrk(nginx.proxyUrl, CONNECTIONS, SECONDS, false) : runWrk(proxyUrl, CONNECTIONS, SECONDS, true);
  const first = nginxFirst ? await c50('nginx') : await c50('gameday');
  const second = nginxFirst ? await c50('gameday') : await c50('nginx');
  const [nginxRun, gamedayRun] = nginxFirst ? [first, second] : [second, first];
  const cycles: Cycle[] = [];
  const order = ['direct', 'gameday', 'nginx'] as const;
  for (let c = 0; c < C1_CYCLES; c++) {
    const one: Partial<Cycle> = {};
    for (let i = 0; i < 3; i++) {
      const which = order[(i + c + k) % 3];
      const url = which === 'direct' ? nginx.backendUrl : which === 'gameday' ? proxyUrl : nginx.proxyUrl;
      one[which] = await runWrk(url, 1, 1, which === 'gameday');
    }
    cycles.push(one as Cycle);
  }
  return { nginx: nginxRun, gameday: gamedayRun, cycles };
}

const added = (c: Cycle, which: 'gameday' | 'nginx'): number => c[which].p50Ms - c.direct.p50Ms;

const round3 = (n: number, digits = 3): number => Math.round(n * 10 ** digits) / 10 ** digits;

function printRound(k: number, r: Round): void {
  const w = [7, 10, 10, 7, 10, 10, 10, 11, 11, 10];
  if (k === 0) {
    console.log(
      row(['round', 'nginx/s', 'gameday/s', 'ratio', 'nginx p50', 'gd p50', 'gd µs/req', 'c1 direct', 'c1 gd +', 'c1 nginx +'], w),
    );
  }
  const runs = [r.nginx, r.gameday, ...r.cycles.flatMap((c) => [c.direct, c.gameday, c.nginx])];
  const errors = runs.reduce((a, x) => a + x.errors, 0);
  console.log(
    row(
      [
        k + 1,
        fmtNum(r.nginx.rps),
        fmtNum(r.gameday.rps),
        fmtNum(r.gameday.rps / r.nginx.rps, 3),
        `${fmtNum(r.nginx.p50Ms, 3)}ms`,
        `${fmtNum(r.gameday.p50Ms, 3)}ms`,
        fmtNum(r.gameday.cpuUsPerRequest, 1),
        `${fmtNum(median(r.cycles.map((c) => c.direct.p50Ms)), 3)}ms`,
        `${fmtNum(median(r.cycles.map((c) => added(c, 'gameday'))), 3)}ms`,
        `${fmtNum(median(r.cycles.map((c) => added(c, 'nginx'))), 3)}ms`,
      ],
      w,
    ) + (errors > 0 ? `   ${errors} errors/non-2xx!` : ''),
  );
}

function summarise(rounds: Round[]): BenchResult[] {
  const med = (pick: (r: Round) => number) => median(rounds.map(pick));
  const nginxRps = med((r) => r.nginx.rps);
  const gamedayRps = med((r) => r.gameday.rps);
  const cycles = rounds.flatMap((r) => r.cycles);
  const direct1 = median(cycles.map((c) => c.direct.p50Ms));
  const gamedayAdded = median(cycles.map((c) => added(c, 'gameday')));
  const nginxAdded = median(cycles.map((c) => added(c, 'nginx')));
  const nginxP50 = med((r) => r.nginx.p50Ms);
  const gamedayP50 = med((r) => r.gameday.p50Ms);
  const anchorNginx = 'nginx reverse proxy to the same backend, same run (1 worker, upstream keepalive)';
  return [
    {
      name: `fault proxy throughput, no fault (wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, median of ${rounds.length})`,
      value: Math.round(gamedayRps),
      unit: 'req/s',
      anchor: anchorNginx,
      anchorValue: Math.round(nginxRps),
      ratio: round3(gamedayRps / nginxRps),
      goal: 'ratio >= 0.5',
    },
    {
      name: `p50 added by the fault proxy at one connection (wrk -t1 -c1 -d1s, median over ${cycles.length} cycles of next-to-each-other runs)`,
      value: round3(gamedayAdded),
      unit: 'ms',
      anchor: 'p50 direct to the backend at one connection, same cycles (median)',
      anchorValue: round3(direct1),
      ratio: round3((direct1 + gamedayAdded) / direct1),
      goal: 'value <= 0.2 ms',
    },
    {
      name: `p50 added by the nginx reverse proxy at one connection (for comparison, same cycles)`,
      value: round3(nginxAdded),
      unit: 'ms',
      anchor: 'p50 direct to the backend at one connection, same cycles (median)',
      anchorValue: round3(direct1),
      ratio: round3((direct1 + nginxAdded) / direct1),
      goal: 'none (reference)',
    },
    {
      name: `fault proxy p50 at ${CONNECTIONS} connections`,
      value: round3(gamedayP50),
      unit: 'ms',
      anchor: `nginx reverse proxy p50 at ${CONNECTIONS} connections, same run`,
      anchorValue: round3(nginxP50),
      ratio: round3(gamedayP50 / nginxP50),
      goal: 'none (reference)',
    },
    {
      name: `fault proxy CPU per request at ${CONNECTIONS} connections (process.cpuUsage)`,
      value: round3(
        med((r) => r.gameday.cpuUsPerRequest ?? NaN),
        1,
      ),
      unit: 'µs',
      anchor: 'none',
      anchorValue: NaN,
      ratio: NaN,
      goal: 'none (reference)',
    },
  ];
}

async function main(): Promise<void> {
  need(NGINX, 'nginx');
  need(WRK, 'wrk');
  console.log(machineLine());
  console.log(`${ROUNDS} rounds of ${SECONDS} s runs; wrk -t1 needs most of a core of its own: on 2 cores the proxies share the other`);
  const nginx = await startNginx();
  const proxy = await FaultProxy.start({ upstreamUrl: nginx.backendUrl.replace(/\/$/, '') });
  try {
    // warm up: JIT, nginx's upstream pool, the fault proxy's tunnels
    for (const url of [nginx.backendUrl, nginx.proxyUrl, `${proxy.url}/`]) await runWrk(url, CONNECTIONS, 2, false);
    const rounds: Round[] = [];
    for (let k = 0; k < ROUNDS; k++) {
      rounds.push(await oneRound(k, nginx, `${proxy.url}/`));
      printRound(k, rounds[k]);
    }
    const results = summarise(rounds);
    console.log('\nmedians:');
    for (const r of results) {
      const anchor = Number.isFinite(r.anchorValue) ? `  vs ${r.anchorValue} (${r.anchor}), ratio ${r.ratio}` : '';
      console.log(`  ${r.name}: ${r.value} ${r.unit}${anchor}  [goal: ${r.goal}]`);
    }
    writeResults('proxy', results);
  } finally {
    await proxy.close();
    await nginx.close();
  }
}

await main();
