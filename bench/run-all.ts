// Runs every benchmark in sequence, each in its own process (so one cannot warm up or slow down the
// other): `npm run bench`. Extra arguments are passed to both (e.g. --runs 5 --reps 2 are each
// ignored by the benchmark that does not know them). Each writes its figures, anchors and ratios
// into bench/results.json; the table of all of them comes last.
import { spawnSync } from 'node:child_process';
import { ROOT } from './lib.ts';
import { readResults, RESULTS_FILE } from './results.ts';

// [file, whether it takes the shared flags]; reservations.ts takes positional arguments of its own
const BENCHES: [string, boolean][] = [
  ['bench/detection.ts', true],
  ['bench/traffic-rate.ts', true],
  ['bench/reservations.ts', false],
  ['bench/promql.ts', true],
  ['bench/exporter-scrape.ts', false],
  ['bench/emergency-stop.ts', true],
  ['bench/traffic-shift.ts', true],
  ['bench/startup.ts', true],
  ['bench/proxy.ts', true],
];
let failed = 0;
for (const [file, sharedFlags] of BENCHES) {
  console.log(`\n=== ${file} ===`);
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', file, ...(sharedFlags ? process.argv.slice(2) : [])], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  console.log(
    `=== ${file}: ${r.status === 0 ? 'done' : `FAILED (exit ${r.status ?? r.signal})`} in ${((Date.now() - started) / 1000).toFixed(0)} s ===`,
  );
  if (r.status !== 0) failed++;
}

// three significant digits at least: 0.027 ms must not print as 0.0
const num = (x: number, digits = 1): string =>
  Number.isFinite(x) ? (Math.abs(x) < 1 && x !== 0 ? x.toPrecision(3) : x.toFixed(digits)) : '—';
console.log(`\n=== every figure (${RESULTS_FILE}) ===`);
console.log('| figure | value | anchor | anchor value | ratio | goal |\n|---|---|---|---|---|---|');
for (const [bench, { measuredAt, figures }] of Object.entries(readResults())) {
  for (const f of figures) {
    console.log(
      `| ${f.name} (${bench}, ${measuredAt.slice(0, 16)}) | ${num(f.value)} ${f.unit} | ${f.anchor} | ${num(f.anchorValue)} | ${num(f.ratio, 2)} | ${f.goal} |`,
    );
  }
}
process.exit(failed ? 1 : 0);
