// Reservation throughput of each ledger backend, in the same run: 8 processes contend on one ledger
// (SQLite: one file; PostgreSQL: a throwaway cluster on loopback) for ~5 s, each reserving one
// request at a time as fast as it can (a real controller reserves about once a second). Prints
// reservations/s and the per-reservation p50 and p99, the median of 3 runs per backend, and what
// that means in concurrent experiments. Run: node --import tsx bench/reservations.ts [processes] [seconds]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openLedger, type LedgerTarget } from '../src/budget/open-ledger.ts';
import { startPostgres } from '../test/helpers/postgres.ts';
import { writeResults } from './results.ts';

const SELF = fileURLToPath(import.meta.url);

/** One contender: register, say "ready", on "go <seconds>" reserve until the time is up, print the count. */
async function child(target: LedgerTarget): Promise<void> {
  const ledger = await openLedger(target);
  const handle = await ledger.registerExperiment({
    name: `bench-${process.pid}`,
    experimentCapUsd: 1e6,
    dailyCapUsd: 1e7,
    costPerRequestUsd: 0.001,
  });
  process.stdout.write('ready\n');
  const [, seconds] = (await new Promise<string>((resolve) => createInterface({ input: process.stdin }).once('line', resolve))).split(' ');
  const endMs = Date.now() + Number(seconds) * 1000;
  let granted = 0;
  let reservations = 0;
  const latenciesMs: number[] = [];
  while (Date.now() < endMs) {
    const t = performance.now();
    granted += (await handle.reserve(1)).grantedRequests;
    latenciesMs.push(performance.now() - t);
    reservations++;
  }
  await handle.finish('passed', granted);
  await ledger.close();
  latenciesMs.sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({ reservations, granted, p50Ms: latenciesMs[Math.floor(latenciesMs.length / 2)], p99Ms: latenciesMs[Math.floor(latenciesMs.length * 0.99)] })}\n`,
  );
  process.exit(0);
}

interface RunResult {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** `fresh()` gives a new, empty ledger for each run. */
async function runOnce(fresh: () => Promise<LedgerTarget>, processes: number, seconds: number): Promise<RunResult> {
  const target = await fresh();
  try {
    const kids = Array.from({ length: processes }, () => {
      const proc = spawn(process.execPath, ['--import', 'tsx', SELF, '--child', JSON.stringify(target)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      const lines = createInterface({ input: proc.stdout });
      const next = () => new Promise<string>((resolve) => lines.once('line', resolve));
      return { proc, ready: next(), next };
    });
    await Promise.all(kids.map((k) => k.ready));
    const results = kids.map((k) => k.next());
    for (const k of kids) k.proc.stdin.write(`go ${seconds}\n`);
    const parsed = (await Promise.all(results)).map(
      (l) => JSON.parse(l) as { reservations: number; granted: number; p50Ms: number; p99Ms: number },
    );
    const total = parsed.reduce((s, r) => s + r.reservations, 0);
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    return { perSecond: total / seconds, p50Ms: median(parsed.map((r) => r.p50Ms)), p99Ms: Math.max(...parsed.map((r) => r.p99Ms)) };
  } finally {
    if (target.backend === 'sqlite') rmSync(target.stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const processes = Number(process.argv[2] ?? 8);
  const seconds = Number(process.argv[3] ?? 5);
  const pg = await startPostgres();
  let dbs = 0;
  const backends: Array<[string, () => Promise<LedgerTarget>]> = [
    ['SQLite', async () => ({ backend: 'sqlite', stateDir: mkdtempSync(join(tmpdir(), 'gameday-bench-')) })],
    ['PostgreSQL', async () => ({ backend: 'postgres', url: await pg.createDatabase(`bench_${++dbs}`) })],
  ];
  const medians = new Map<string, RunResult>();
  try {
    const runs = new Map<string, RunResult[]>();
    for (let i = 0; i < 3; i++) {
      // alternate the order, so neither backend always runs on a warmer machine
      for (const [name, fresh] of i % 2 ? [...backends].reverse() : backends) {
        const r = await runOnce(fresh, processes, seconds);
        runs.set(name, [...(runs.get(name) ?? []), r]);
        console.log(
          `run ${i + 1} ${name}: ${r.perSecond.toFixed(0)} reservations/s (per reservation p50 ${r.p50Ms.toFixed(2)} ms, worst p99 ${r.p99Ms.toFixed(2)} ms)`,
        );
      }
    }
    for (const [name, rs] of runs) medians.set(name, [...rs].sort((a, b) => a.perSecond - b.perSecond)[1]);
  } finally {
    await pg.close();
  }
  console.log(`\n${processes} processes on one ledger, median of 3 runs of ${seconds} s each:`);
  for (const [name, m] of medians) {
    // The anchor: a controller reserves about once a second (a second of traffic per chunk).
    console.log(
      `  ${name.padEnd(10)} ${m.perSecond.toFixed(0).padStart(6)} reservations/s  p50 ${m.p50Ms.toFixed(2)} ms  p99 ${m.p99Ms.toFixed(2)} ms  ` +
        `≈ ${Math.floor(m.perSecond)} concurrent experiments at 1 reservation/s each`,
    );
  }
  const [sqlite, postgres] = [medians.get('SQLite')!, medians.get('PostgreSQL')!];
  console.log(`  PostgreSQL ÷ SQLite: ${(postgres.perSecond / sqlite.perSecond).toFixed(2)}× the reservations/s`);
  writeResults('reservations', [
    {
      name: `reservations/s, ${processes} processes, PostgreSQL`,
      value: postgres.perSecond,
      unit: '/s',
      anchor: 'SQLite, same run',
      anchorValue: sqlite.perSecond,
      ratio: postgres.perSecond / sqlite.perSecond,
      goal: 'reported (a controller needs ~1/s)',
    },
  ]);
}

if (process.argv[2] === '--child') await child(JSON.parse(process.argv[3]) as LedgerTarget);
else await main();
