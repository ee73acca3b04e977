// Runs every benchmark in sequence, each in its own process (so one cannot warm up or slow down the
// other): `npm run bench`. Extra arguments are passed to both (e.g. --runs 5 --reps 2 are each
// ignored by the benchmark that does not know them).
import { spawnSync } from 'node:child_process';
import { ROOT } from './lib.ts';

// [file, whether it takes the shared flags]; reservations.ts takes positional arguments of its own
const BENCHES: [string, boolean][] = [
  ['bench/detection.ts', true],
  ['bench/traffic-rate.ts', true],
  ['bench/reservations.ts', false],
  ['bench/promql.ts', true],
  ['bench/exporter-scrape.ts', false],
  ['bench/emergency-stop.ts', true],
  ['bench/traffic-shift.ts', true],
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
process.exit(failed ? 1 : 0);
