// Reservation throughput of the SQLite ledger: 8 processes contend on one ledger for ~5 s, each
// reserving one request at a time as fast as it can (a real controller reserves about once a
// second). Prints reservations/s, the median of 3 runs, and what that means in concurrent
// experiments. Run: node --import tsx bench/reservations.ts [processes] [seconds]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Ledger } from '../src/budget/ledger.ts';

const SELF = fileURLToPath(import.meta.url);

/** One contender: register, say "ready", on "go <seconds>" reserve until the time is up, print the count. */
async function child(stateDir: string): Promise<void> {
  const ledger = Ledger.open(stateDir);
  const handle = ledger.registerExperiment({
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
  ledger.close();
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

async function runOnce(processes: number, seconds: number): Promise<RunResult> {
  const stateDir = mkdtempSync(join(tmpdir(), 'gameday-bench-'));
  try {
    const kids = Array.from({ length: processes }, () => {
      const proc = spawn(process.execPath, ['--import', 'tsx', SELF, '--child', stateDir], { stdio: ['pipe', 'pipe', 'inherit'] });
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
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const processes = Number(process.argv[2] ?? 8);
  const seconds = Number(process.argv[3] ?? 5);
  const runs: RunResult[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await runOnce(processes, seconds);
    runs.push(r);
    console.log(
      `run ${i + 1}: ${r.perSecond.toFixed(0)} reservations/s (per reservation p50 ${r.p50Ms.toFixed(2)} ms, worst p99 ${r.p99Ms.toFixed(2)} ms)`,
    );
  }
  const median = [...runs].sort((a, b) => a.perSecond - b.perSecond)[1];
  console.log(
    `reservations: ${median.perSecond.toFixed(0)}/s across ${processes} processes on one ledger (median of 3 runs of ${seconds} s)`,
  );
  // The anchor: a controller reserves about once a second (a second of traffic per chunk).
  console.log(
    `≈ ${Math.floor(median.perSecond)} concurrent experiments at 1 reservation/s each, ${(median.perSecond / 1).toFixed(0)}× the need of one`,
  );
}

if (process.argv[2] === '--child') await child(process.argv[3]);
else await main();
