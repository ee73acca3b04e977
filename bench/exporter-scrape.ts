// The cost of one `gameday exporter` scrape (the goal: ≤ 10 ms), on a ledger with a year of history.
// The exporter runs as the real CLI (its own process); so do two anchors, measured in the same
// run: a bare HTTP server answering one line, and prom-client's default metrics alone. Each is
// scraped over one kept-alive connection, as Prometheus does, in alternating rounds; printed: the
// median and p95 latency of a GET and the server's CPU time per scrape (from /proc). Then the
// in-process cost of LedgerExporter.metrics(): with its connection open (nearly every scrape),
// re-opening the same file after a checkpoint changed it, and opening a file it has not checked yet
// (the first scrape, a replaced file: open()'s integrity check, which reads every page).
// Run: node --import tsx bench/exporter-scrape.ts [--experiments 10000] [--scrapes 400]
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { utcDate } from '../src/budget/ledger-store.ts';
import { LEDGER_FILE, Ledger } from '../src/budget/sqlite-ledger.ts';
import { LedgerExporter, LedgerReader } from '../src/telemetry/ledger-exporter.ts';
import { intArg, machineLine, median, ROOT, row } from './lib.ts';
import { writeResults } from './results.ts';

const args = process.argv.slice(2);
const EXPERIMENTS = intArg(args, '--experiments', 10_000);
const SCRAPES = intArg(args, '--scrapes', 400);
const ROUNDS = 8;
const DAY_MS = 86_400_000;
const CLOCK_TICKS = 100; // USER_HZ: /proc/<pid>/stat's utime and stime are in 1/100 s

/** A year of finished experiments (raw rows, one transaction), then today's through the Ledger API. */
async function buildLedger(stateDir: string, nowMs: number): Promise<void> {
  Ledger.open(stateDir).close(); // created and migrated as gameday makes it
  const db = new Database(join(stateDir, LEDGER_FILE));
  const statuses = ['passed', 'passed', 'passed', 'passed', 'breach', 'breach', 'breach', 'refused', 'stopped', 'budget'];
  const insertExp = db.prepare(
    `INSERT INTO experiments (id, name, pid, host, started_ms, ended_ms, phase, status, heartbeat_ms, cost_micros, experiment_cap_micros, daily_cap_micros, settled)
     VALUES (?, ?, 4242, 'bench', ?, ?, 'done', ?, ?, 1000, 100000000, 500000000, 1)`,
  );
  const insertSpend = db.prepare('INSERT INTO spend (experiment_id, day, reserved_micros, spent_micros) VALUES (?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < EXPERIMENTS; i++) {
      const started = nowMs - DAY_MS - Math.floor((i / EXPERIMENTS) * 365 * DAY_MS);
      const spent = 1000 * (100 + (i % 5000));
      const id = `h${i.toString(16).padStart(7, '0')}`;
      insertExp.run(id, `history-${i % 40}`, started, started + 90_000, statuses[i % statuses.length], started + 90_000);
      insertSpend.run(id, utcDate(started), spent, spent);
    }
  })();
  db.close();
  const ledger = Ledger.open(stateDir);
  const spec = { name: 'today', experimentCapUsd: 100, dailyCapUsd: 500, costPerRequestUsd: 0.001 };
  for (let i = 0; i < 20; i++) {
    const h = ledger.registerExperiment(spec);
    await h.reserve(2000);
    await h.finish(i % 3 === 0 ? 'breach' : 'passed', 1500);
  }
  for (let i = 0; i < 2; i++) await ledger.registerExperiment(spec).reserve(1000); // running, holding money
  ledger.close();
}

interface Target {
  name: string;
  url: string;
  child: ChildProcess;
}

/** A child process that prints its /metrics URL on its first line. */
async function startTarget(name: string, argv: string[]): Promise<Target> {
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (l) => /http:\S+\/metrics/.test(l) && resolve(l));
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before it served`)));
  });
  return { name, url: /http:\S+\/metrics/.exec(line)![0], child };
}

const BARE = `require('http').createServer((q, s) => s.end('up 1\\n')).listen(0, '127.0.0.1', function () {
  console.log('http://127.0.0.1:' + this.address().port + '/metrics'); });`;
const PROM_DEFAULT = `const c = require('prom-client'); const r = new c.Registry(); c.collectDefaultMetrics({ register: r });
require('http').createServer(async (q, s) => { const t = await r.metrics(); s.setHeader('content-type', r.contentType); s.end(t); })
  .listen(0, '127.0.0.1', function () { console.log('http://127.0.0.1:' + this.address().port + '/metrics'); });`;

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function get(url: string): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    request(url, { agent }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () =>
        res.statusCode === 200 ? resolve({ ms: performance.now() - started, bytes }) : reject(new Error(`${url}: ${res.statusCode}`)),
      );
    })
      .on('error', reject)
      .end();
  });
}

/** utime + stime of a process, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

async function overHttp(targets: Target[]): Promise<void> {
  const latencies = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const cpu = new Map<string, number>(targets.map((t) => [t.name, 0]));
  const bytes = new Map<string, number>();
  for (const t of targets) for (let i = 0; i < 30; i++) bytes.set(t.name, (await get(t.url)).bytes); // warm-up
  const perRound = Math.ceil(SCRAPES / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    // rotate the order: no target always follows the same one
    for (const t of targets.map((_, i) => targets[(i + round) % targets.length])) {
      const before = cpuMs(t.child.pid!);
      for (let i = 0; i < perRound; i++) latencies.get(t.name)!.push((await get(t.url)).ms);
      cpu.set(t.name, cpu.get(t.name)! + cpuMs(t.child.pid!) - before);
    }
  }
  const widths = [34, 10, 10, 14, 9];
  console.log(`\nOver HTTP, ${perRound * ROUNDS} scrapes each, one kept-alive connection, ${ROUNDS} alternating rounds:`);
  console.log(row(['server', 'median', 'p95', 'CPU/scrape', 'bytes'], widths));
  const bare = median(latencies.get(targets[0].name)!);
  for (const t of targets) {
    const v = [...latencies.get(t.name)!].sort((a, b) => a - b);
    const cpuPer = cpu.get(t.name)! / v.length;
    console.log(
      row(
        [
          t.name,
          `${median(v).toFixed(3)} ms`,
          `${v[Math.floor(v.length * 0.95)].toFixed(3)} ms`,
          `${cpuPer.toFixed(3)} ms`,
          bytes.get(t.name)!,
        ],
        widths,
      ),
    );
  }
  const exporterMedian = median(latencies.get(targets[2].name)!);
  console.log(
    `exporter GET − bare GET (medians): ${(exporterMedian - bare).toFixed(3)} ms; exporter/bare: ${(exporterMedian / bare).toFixed(2)}×`,
  );
  writeResults('exporter-scrape', [
    {
      name: `one \`gameday exporter\` scrape, ${EXPERIMENTS + 22} experiments in the ledger`,
      value: exporterMedian,
      unit: 'ms',
      anchor: 'a bare HTTP server, same run',
      anchorValue: bare,
      ratio: exporterMedian / bare,
      goal: '≤ 10 ms',
    },
  ]);
}

async function inProcess(stateDir: string): Promise<void> {
  const reader = new LedgerReader(stateDir, 500);
  const exporter = new LedgerExporter(reader);
  for (let i = 0; i < 30; i++) await exporter.metrics();
  const warm: number[] = [];
  for (let i = 0; i < SCRAPES; i++) {
    const t = performance.now();
    await exporter.metrics();
    warm.push(performance.now() - t);
  }
  // the same file changed on disk (what a checkpoint does): re-opened with the cheap checks only
  const file = join(stateDir, LEDGER_FILE);
  const afterCheckpoint: number[] = [];
  for (let i = 0; i < 30; i++) {
    utimesSync(file, new Date(), new Date(Date.now() + i * 1000));
    const t = performance.now();
    await exporter.metrics();
    afterCheckpoint.push(performance.now() - t);
  }
  reader.close();
  const cold: number[] = [];
  for (let i = 0; i < 30; i++) {
    const r = new LedgerReader(stateDir, 500);
    const e = new LedgerExporter(r);
    const t = performance.now();
    await e.metrics();
    cold.push(performance.now() - t);
    r.close();
  }
  console.log('\nIn process, LedgerExporter.metrics() (read + render, no HTTP):');
  console.log(`  connection open (every scrape):  median ${median(warm).toFixed(3)} ms over ${warm.length}`);
  console.log(
    `  re-opening it after a checkpoint (same file):  median ${median(afterCheckpoint).toFixed(3)} ms over ${afterCheckpoint.length}`,
  );
  console.log(
    `  opening a file not checked before (first scrape, a replaced file; integrity check): median ${median(cold).toFixed(3)} ms over ${cold.length}`,
  );
}

async function main(): Promise<void> {
  console.log(machineLine());
  const dir = mkdtempSync(join(tmpdir(), 'gameday-bench-exporter-'));
  const stateDir = join(dir, 'state');
  const targets: Target[] = [];
  try {
    await buildLedger(stateDir, Date.now());
    console.log(
      `ledger: ${EXPERIMENTS + 22} experiments over a year (22 today), ${(statSync(join(stateDir, LEDGER_FILE)).size / 1024).toFixed(0)} KiB`,
    );
    targets.push(await startTarget('bare HTTP (anchor)', ['-e', BARE]));
    targets.push(await startTarget('prom-client default metrics (anchor)', ['-e', PROM_DEFAULT]));
    targets.push(await startTarget('gameday exporter', ['bin/gameday.js', 'exporter', '--port', '0', '--state-dir', stateDir]));
    await overHttp(targets);
    await inProcess(stateDir);
  } finally {
    agent.destroy();
    for (const t of targets) t.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
