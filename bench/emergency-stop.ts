// Emergency stop, latch commit → fault removed, for 6 real controllers, on each ledger backend:
//   - SQLite: the controllers and `gameday emergency-stop` on one machine; the command signals them
//     (SIGUSR2), and the latch they read each tick is the fallback.
//   - PostgreSQL: the controllers stand in for 3 other machines (GAMEDAY_HOST), so nothing can be
//     signalled: NOTIFY gameday_stop, sent in the latch's transaction, is what stops them.
// Each fault is a command fault whose presence is a marker file (touch / rm), so "removed" is the
// moment the restore command ran, seen by fs.watch. The latch's time is the ledger's own record of
// it (at_ms: the database's clock, on this machine here). Prints median and max per backend.
//
//   node --import tsx bench/emergency-stop.ts [--trials 10]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, watch, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLedger, type LedgerTarget } from '../src/budget/open-ledger.ts';
import { startPostgres } from '../test/helpers/postgres.ts';
import { fmtMs, intArg, machineLine, median, ROOT, runCli } from './lib.ts';
import { writeResults } from './results.ts';

const CONTROLLERS = 6;

/** A target that answers 200 to everything, on loopback. */
async function target(): Promise<{ url: string; close(): void }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

function experiment(dir: string, i: number, targetUrl: string): { file: string; marker: string } {
  const marker = join(dir, `fault-${i}.in`);
  const file = join(dir, `stop-${i}.yaml`);
  writeFileSync(
    file,
    `name: stop-${i}
target: { url: "${targetUrl}" }
traffic: { rps: 20 }
fault: { type: command, inject: [touch, "${marker}"], restore: [rm, -f, "${marker}"] }
schedule: { baseline: 2s, duration: 300s }
# six controllers on two cores slow a loopback target by themselves: this measures the stop, not SLOs
slo: { p95LatencyMs: 10000, availability: 0.5, errorRate: 0.5 }
`,
  );
  return { file, marker };
}

/** Starts a controller and resolves once its fault is in (the marker exists). */
function controller(file: string, marker: string, env: NodeJS.ProcessEnv): { child: ChildProcess; injected: Promise<void> } {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'gameday.js'), 'run', '--experiment', file, '--headless', '--metrics-port', '0'],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const injected = new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (existsSync(marker)) {
        clearInterval(t);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(t);
        reject(new Error(`controller exited ${child.exitCode} before injecting: ${stderr.trim()}`));
      }
    }, 20);
  });
  return { child, injected };
}

/** emergency-stop command started → its last fault removed, per SQLite trial */
const commandToLastOut: number[] = [];
/** the anchor: `node -e 0`, start to exit, with the same controllers running, just before each stop */
const nodeStartMs: number[] = [];

function timeNodeStart(): number {
  const t0 = performance.now();
  spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  return performance.now() - t0;
}

async function trial(
  ledger: LedgerTarget,
  envOf: (i: number) => NodeJS.ProcessEnv,
  stopperEnv: NodeJS.ProcessEnv,
  url: string,
): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-bench-stop-'));
  try {
    const faults = Array.from({ length: CONTROLLERS }, (_, i) => experiment(dir, i, url));
    const runs = faults.map(({ file, marker }, i) => controller(file, marker, envOf(i)));
    await Promise.all(runs.map((r) => r.injected));
    // a trial counts only if every fault is still in when the stop is sent
    for (const { marker } of faults) if (!existsSync(marker)) throw new Error(`a fault came out before the stop (${marker})`);
    const removedAt = new Map<string, number>();
    const watcher = watch(dir, () => {
      const now = Date.now();
      for (const { marker } of faults) if (!removedAt.has(marker) && !existsSync(marker)) removedAt.set(marker, now);
    });
    if (ledger.backend === 'sqlite') nodeStartMs.push(timeNodeStart());
    const commandAt = Date.now();
    const stop = await runCli(['emergency-stop'], 60_000, stopperEnv);
    await Promise.all(runs.map((r) => new Promise((res) => (r.child.exitCode !== null ? res(null) : r.child.once('exit', res)))));
    watcher.close();
    if (stop.code !== 0) throw new Error(`emergency-stop exited ${stop.code}: ${stop.stdout}${stop.stderr}`);
    const store = await openLedger(ledger);
    try {
      const latch = await store.stopLatch();
      await store.clearStopLatch();
      if (ledger.backend === 'sqlite') commandToLastOut.push(Math.max(...removedAt.values()) - commandAt);
      return faults.map(({ marker }) => removedAt.get(marker)! - latch.atMs!);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const trials = intArg(process.argv.slice(2), '--trials', 10);
  console.log(machineLine());
  const t = await target();
  const pg = await startPostgres();
  const root = mkdtempSync(join(tmpdir(), 'gameday-bench-stop-state-'));
  try {
    const pgUrl = await pg.createDatabase('bench_stop');
    const sqliteState = join(root, 'one-machine');
    const backends: Array<{ name: string; ledger: LedgerTarget; envOf: (i: number) => NodeJS.ProcessEnv; stopper: NodeJS.ProcessEnv }> = [
      {
        name: 'SQLite (signal + tick)',
        ledger: { backend: 'sqlite', stateDir: sqliteState },
        envOf: () => ({ GAMEDAY_STATE_DIR: sqliteState }),
        stopper: { GAMEDAY_STATE_DIR: sqliteState },
      },
      {
        name: 'PostgreSQL (NOTIFY)',
        ledger: { backend: 'postgres', url: pgUrl },
        envOf: (i) => ({ GAMEDAY_LEDGER_URL: pgUrl, GAMEDAY_STATE_DIR: join(root, `m${i % 3}`), GAMEDAY_HOST: `machine-${i % 3}` }),
        stopper: { GAMEDAY_LEDGER_URL: pgUrl, GAMEDAY_STATE_DIR: join(root, 'commander'), GAMEDAY_HOST: 'commander' },
      },
    ];
    const all = new Map<string, number[]>();
    for (let n = 1; n <= trials; n++) {
      // alternate which backend goes first, so neither always runs on a warmer machine
      for (const b of n % 2 ? backends : [...backends].reverse()) {
        const delays = await trial(b.ledger, b.envOf, b.stopper, t.url);
        all.set(b.name, [...(all.get(b.name) ?? []), ...delays]);
        console.log(`trial ${n} ${b.name}: ${delays.map((d) => d.toFixed(0)).join(' ')} ms`);
      }
    }
    console.log(`\nlatch commit → fault removed, ${CONTROLLERS} controllers × ${trials} trials (goal: PostgreSQL median ≤ 100 ms)`);
    for (const [name, delays] of all)
      console.log(`  ${name.padEnd(24)} median ${fmtMs(median(delays))}  max ${fmtMs(Math.max(...delays))}`);
    const [sqlite, postgres] = [...all.values()].map((d) => median(d));
    const lastOut = median(commandToLastOut);
    const nodeStart = median(nodeStartMs);
    console.log(
      `  emergency-stop command → last fault removed (SQLite, 6 controllers): median ${fmtMs(lastOut)} (goal ≤ 300 ms); node -e 0 meanwhile: ${fmtMs(nodeStart)} (${(lastOut / nodeStart).toFixed(2)}×)`,
    );
    writeResults('emergency-stop', [
      {
        name: 'latch commit → fault removed, PostgreSQL NOTIFY (6 controllers)',
        value: postgres,
        unit: 'ms',
        anchor: 'SQLite: signal + tick, same run',
        anchorValue: sqlite,
        ratio: postgres / sqlite,
        goal: 'median ≤ 100 ms',
      },
      {
        name: 'emergency-stop command → last fault removed (SQLite, 6 controllers)',
        value: lastOut,
        unit: 'ms',
        anchor: '`node -e 0` start to exit, the same controllers running',
        anchorValue: nodeStart,
        ratio: lastOut / nodeStart,
        goal: 'median ≤ 300 ms',
      },
    ]);
  } finally {
    t.close();
    await pg.close();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
