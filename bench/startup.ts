// Start-up of the compiled CLI, with hyperfine (Debian package), against `node -e 0` in the same
// run: `--help`, `budget-status` on a ledger with history, and `emergency-stop` with nothing
// running (it opens the ledger, latches, reports). Goals: --help ≤ 2×, the other two ≤ 3×.
//
//   npm run build && node --import tsx bench/startup.ts [--runs 30]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { intArg, machineLine, ROOT } from './lib.ts';
import { writeResults, type BenchResult } from './results.ts';

interface HyperfineResult {
  command: string;
  median: number;
  mean: number;
  min: number;
  max: number;
}

function main(): void {
  const runs = intArg(process.argv.slice(2), '--runs', 30);
  console.log(machineLine());
  const state = mkdtempSync(join(tmpdir(), 'gameday-bench-startup-'));
  const out = join(state, 'hyperfine.json');
  const gameday = `node ${join(ROOT, 'bin', 'gameday.js')}`;
  try {
    // a ledger with history for budget-status to read (a short demo run writes it)
    const seed = spawnSync(
      process.execPath,
      [join(ROOT, 'bin', 'gameday.js'), 'run', '--headless', '--duration', '1s', '--metrics-port', '0', '--state-dir', state],
      {
        encoding: 'utf8',
      },
    );
    if (![0, 2, 3, 4].includes(seed.status ?? -1)) throw new Error(`seeding the ledger failed: ${seed.stderr}`);
    const commands = [
      ['node -e 0', 'node -e 0'],
      ['gameday --help', `${gameday} --help`],
      ['gameday budget-status', `${gameday} budget-status --state-dir ${state}`],
      ['gameday emergency-stop', `${gameday} emergency-stop --state-dir ${state}`],
    ];
    const args = ['--warmup', '3', '--runs', String(runs), '--export-json', out, '--style', 'basic', '-N'];
    for (const [name, cmd] of commands) args.push('-n', name, cmd);
    const hf = spawnSync('hyperfine', args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (hf.status !== 0) throw new Error('hyperfine failed (apt-get install hyperfine)');
    const results = (JSON.parse(readFileSync(out, 'utf8')) as { results: HyperfineResult[] }).results;
    const anchorMs = results[0].median * 1000;
    const goals: Record<string, number> = { 'gameday --help': 2, 'gameday budget-status': 3, 'gameday emergency-stop': 3 };
    const figures: BenchResult[] = [];
    console.log(`\nmedian of ${runs} runs each, against node -e 0 (${anchorMs.toFixed(1)} ms) in the same run:`);
    for (const r of results.slice(1)) {
      const ms = r.median * 1000;
      const ratio = ms / anchorMs;
      console.log(
        `  ${r.command.padEnd(24)} ${ms.toFixed(1).padStart(7)} ms  ${ratio.toFixed(2)}× node -e 0  (goal ≤ ${goals[r.command]}×)`,
      );
      figures.push({
        name: `start-up: ${r.command}`,
        value: ms,
        unit: 'ms',
        anchor: 'node -e 0',
        anchorValue: anchorMs,
        ratio,
        goal: `≤ ${goals[r.command]}×`,
      });
    }
    writeResults('startup', figures);
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

main();
