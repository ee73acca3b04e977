// Detection time of an 800 ms latency fault on every dependency call of the demo, at 100 rps.
//
//   node --import tsx bench/detection.ts [--runs 10]
//
// Each run does two things, one after the other:
//  1. the real CLI: `gameday run --experiment <tmp yaml> --headless --output json …` against the
//     embedded demo (baseline 3 s, duration 20 s, recovery window 1 s); summary.detectionMs.
//  2. an in-process replica on identical traffic for two detectors: the demo (startDemo) +
//     TrafficGenerator (MemoryBudget), the same fault via demo.proxy.setFault after a 3 s baseline,
//     and two evaluators watching the same requests:
//       - gameday's: SloWindow 5 s, evaluated every 250 ms with slowInFlightAges (as run.ts does);
//       - k6's threshold cadence (the anchor): a cumulative HdrHistogram of completed requests since
//         the test started, p(95) checked every 2000 ms from the test start, abort when > 500 ms.
//     The k6 ticker's phase against the fault start is arbitrary in real use; besides the live
//     evaluator (ticker aligned to traffic start, fault 3 s in), the replica records the moment C
//     the cumulative p95 crosses 500 ms, and k6's expected detection over a uniformly random
//     ticker phase is (C − fault start) + 1000 ms.
// Chaos Mesh's figure (status checks every 1 s, 3 failures) is a nominal constant, not measured.
import * as hdr from 'hdr-histogram-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBudget } from '../src/budget/budget.ts';
import { startDemo } from '../src/demo/demo-service.ts';
import { findBreaches, type Outcome } from '../src/engine/slis.ts';
import { SloWindow } from '../src/engine/slo-window.ts';
import { TrafficGenerator } from '../src/engine/traffic.ts';
import { fmtMs, intArg, machineLine, median, nowMs, ratio, row, runCli, sleep } from './lib.ts';
import { writeResults } from './results.ts';

const RPS = 100;
const FAULT_LATENCY_MS = 800;
const FAULT_JITTER_MS = 50;
const BASELINE_MS = 3_000;
const P95_SLO_MS = 500;
const WINDOW_MS = 5_000;
const EVALUATE_EVERY_MS = 250;
const MIN_SAMPLES = 20;
const K6_TICK_MS = 2_000;
/** replica: give up on a detector this long after the fault went in */
const REPLICA_CAP_MS = 10_000;
const CHAOS_MESH_NOMINAL_MS = 3 * 1_000;

const EXPERIMENT_YAML = `name: bench-detection
traffic: { rps: ${RPS}, path: / }
fault:
  type: latency
  latency: ${FAULT_LATENCY_MS}ms
  jitter: ${FAULT_JITTER_MS}ms
  probability: 1.0
schedule: { baseline: 3s, duration: 20s, recoveryWindow: 1s }
budget: { budgetUsd: 50 }
rollback:
  - traffic-shift
`;

interface CliFigures {
  detectionMs: number | null;
  /** summary.recoveryMs: trigger → recovery verified (recovery window 1 s) */
  recoveryMs: number | null;
  status: string;
  baselineP95Ms: number | null;
  wallMs: number;
}

async function cliRun(dir: string, n: number): Promise<CliFigures> {
  const experiment = join(dir, 'experiment.yaml');
  writeFileSync(experiment, EXPERIMENT_YAML);
  const stateDir = join(dir, `state-${n}`);
  const t0 = nowMs();
  const r = await runCli(
    ['run', '--experiment', experiment, '--headless', '--output', 'json', '--state-dir', stateDir, '--metrics-port', '0'],
    90_000,
  );
  const wallMs = nowMs() - t0;
  const summary = r.events.find((e) => e.type === 'summary') as
    { status?: string; detectionMs?: number | null; recoveryMs?: number | null } | undefined;
  if (!summary) {
    process.stderr.write(`cli run ${n}: no summary (exit ${r.code}); stderr: ${r.stderr.slice(-600)}\n`);
    return { detectionMs: null, recoveryMs: null, status: `exit ${r.code}`, baselineP95Ms: null, wallMs };
  }
  // "steady state holds: p95 12ms, …": how quiet the machine was during the baseline
  const note = r.events.find((e) => e.type === 'note' && typeof e.text === 'string' && e.text.startsWith('steady state holds')) as
    { text: string } | undefined;
  const m = note?.text.match(/p95 (\d+)ms/);
  return {
    detectionMs: summary.detectionMs ?? null,
    recoveryMs: summary.recoveryMs ?? null,
    status: summary.status ?? '?',
    baselineP95Ms: m ? Number(m[1]) : null,
    wallMs,
  };
}

const US = 1000;
const newHist = () =>
  hdr.build({
    bitBucketSize: 32,
    numberOfSignificantValueDigits: 3,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    autoResize: false,
    useWebAssembly: false,
  });

/** SloWindow that also feeds k6's cumulative view: every completed request since the test started. */
class TeeWindow extends SloWindow {
  readonly cumulative = newHist();
  /** after the fault went in: first completion at which the cumulative p95 exceeded the SLO */
  crossingMs: number | null = null;
  faultStartMs: number | null = null;

  override record(outcome: Outcome, latencyMs: number, atMs: number): void {
    super.record(outcome, latencyMs, atMs);
    this.cumulative.recordValue(Math.max(0, Math.round(latencyMs * US)));
    if (this.faultStartMs !== null && this.crossingMs === null && this.cumulative.getValueAtPercentile(95) / US > P95_SLO_MS) {
      this.crossingMs = atMs;
    }
  }
}

interface ReplicaFigures {
  gamedayMs: number | null;
  k6Ms: number | null;
  /** k6's expected detection over a uniformly random ticker phase: crossing + 1000 ms */
  k6PhaseMeanMs: number | null;
  /** when the cumulative p95 crossed the SLO, after the fault start (k6's best case: a tick right then) */
  k6CrossingMs: number | null;
  baselineP95Ms: number;
}

async function replicaRun(): Promise<ReplicaFigures> {
  const demo = await startDemo();
  const window = new TeeWindow({ windowMs: WINDOW_MS, bucketMs: EVALUATE_EVERY_MS });
  const traffic = new TrafficGenerator({
    targetUrl: demo.targetUrl,
    path: '/',
    rps: RPS,
    timeoutMs: 2_000,
    maxInFlight: 2_000,
    budget: new MemoryBudget({ costPerRequestUsd: 0.001, experimentCapUsd: 100, dayCapUsd: 500 }),
    window,
    now: nowMs,
  });
  const thresholds = { p95LatencyMs: P95_SLO_MS, errorRate: 0.01, availability: 0.99, healthFailures: 3 };
  let gamedayAtMs: number | null = null;
  let k6AtMs: number | null = null;
  let baselineP95Ms = NaN;
  let faultStartMs: number | null = null;

  const startMs = nowMs();
  await traffic.start();
  // gameday's evaluator, as the engine's tick (monitor.ts): window over 5 s plus in-flight requests already slow
  const gameday = setInterval(() => {
    const t = nowMs();
    const slis = window.evaluate(t, traffic.slowInFlightAges(t, P95_SLO_MS), 0);
    if (faultStartMs === null) baselineP95Ms = slis.p95LatencyMs;
    else if (gamedayAtMs === null && findBreaches(slis, thresholds, MIN_SAMPLES).length > 0) gamedayAtMs = t;
  }, EVALUATE_EVERY_MS);
  // k6's: thresholds every 2 s from the test start, over everything completed so far
  const k6 = setInterval(() => {
    const t = nowMs();
    if (
      faultStartMs !== null &&
      k6AtMs === null &&
      window.cumulative.totalCount > 0 &&
      window.cumulative.getValueAtPercentile(95) / US > P95_SLO_MS
    ) {
      k6AtMs = t;
    }
  }, K6_TICK_MS);

  await sleep(BASELINE_MS - (nowMs() - startMs));
  demo.proxy.setFault({ type: 'latency', latencyMs: FAULT_LATENCY_MS, jitterMs: FAULT_JITTER_MS, probability: 1 });
  faultStartMs = nowMs();
  window.faultStartMs = faultStartMs;
  while ((gamedayAtMs === null || k6AtMs === null) && nowMs() - faultStartMs < REPLICA_CAP_MS) await sleep(50);

  clearInterval(gameday);
  clearInterval(k6);
  demo.proxy.setFault(null);
  await traffic.stop();
  await demo.close();
  const since = (t: number | null): number | null => (t === null ? null : t - faultStartMs);
  const crossing = since(window.crossingMs);
  return {
    gamedayMs: since(gamedayAtMs),
    k6Ms: since(k6AtMs),
    k6CrossingMs: crossing,
    k6PhaseMeanMs: crossing === null ? null : crossing + K6_TICK_MS / 2,
    baselineP95Ms,
  };
}

async function main(): Promise<void> {
  const runs = intArg(process.argv.slice(2), '--runs', 10);
  const dir = mkdtempSync(join(tmpdir(), 'gameday-bench-detection-'));
  console.log(
    `# detection: ${FAULT_LATENCY_MS} ms ±${FAULT_JITTER_MS} ms latency on every dependency call, ${RPS} rps, p95 SLO ${P95_SLO_MS} ms, ${runs} runs`,
  );
  console.log(`# ${machineLine()}`);
  console.log('# cli = real `gameday run` (its own process, embedded demo); replica = demo + TrafficGenerator in this process,');
  console.log(
    '# gameday evaluator (5 s window / 250 ms, in-flight slow counted) and k6-style evaluator (cumulative p95 / 2 s) on the same traffic.',
  );
  const W = [4, 10, 11, 12, 12, 12, 11, 12, 13, 12];
  console.log(
    row(
      [
        'run',
        'cli',
        'cli status',
        'cli recovery',
        'cli base p95',
        'replica gd',
        'k6 (live)',
        'k6 crossing',
        'k6 phase-mean',
        'rep base p95',
      ],
      W,
    ),
  );

  const results: { cli: CliFigures; rep: ReplicaFigures }[] = [];
  try {
    for (let i = 1; i <= runs; i++) {
      const cli = await cliRun(dir, i);
      const rep = await replicaRun();
      results.push({ cli, rep });
      console.log(
        row(
          [
            i,
            fmtMs(cli.detectionMs),
            cli.status,
            fmtMs(cli.recoveryMs),
            fmtMs(cli.baselineP95Ms),
            fmtMs(rep.gamedayMs),
            fmtMs(rep.k6Ms),
            fmtMs(rep.k6CrossingMs),
            fmtMs(rep.k6PhaseMeanMs),
            fmtMs(rep.baselineP95Ms),
          ],
          W,
        ),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const cliMed = median(results.map((r) => r.cli.detectionMs));
  const gdMed = median(results.map((r) => r.rep.gamedayMs));
  const k6Med = median(results.map((r) => r.rep.k6Ms));
  const k6PhaseMed = median(results.map((r) => r.rep.k6PhaseMeanMs));
  const missed = results.filter((r) => r.cli.detectionMs === null).length;
  console.log('');
  console.log('## medians');
  console.log(
    `gameday CLI detection            ${fmtMs(cliMed)}${missed ? `   (${missed} run(s) without a detection, left out)` : ''}   goal ≤ 1000 ms: ${cliMed <= 1000 ? 'met' : 'NOT met'}`,
  );
  console.log(`gameday evaluator (replica)      ${fmtMs(gdMed)}`);
  console.log(
    `k6 thresholds (replica, live)    ${fmtMs(k6Med)}   (anchor; ticker aligned to the test start, fault ${BASELINE_MS / 1000} s in)`,
  );
  console.log(`k6 thresholds (random phase)     ${fmtMs(k6PhaseMed)}   (expected over a uniformly random 2 s ticker phase)`);
  console.log(`ratio gameday/k6 (replica, same traffic)   ${ratio(gdMed, k6Med)}   (vs random phase ${ratio(gdMed, k6PhaseMed)})`);
  console.log(`ratio gameday CLI/k6                       ${ratio(cliMed, k6Med)}   (vs random phase ${ratio(cliMed, k6PhaseMed)})`);
  console.log(
    `gameday CLI recovery time (recovery window 1 s)   ${fmtMs(median(results.map((r) => r.cli.recoveryMs)))}   (not a goal of this bench; see bench/README.md)`,
  );
  console.log(`Chaos Mesh nominal (NOT measured: status checks every 1 s, 3 failures): ≥ ${CHAOS_MESH_NOMINAL_MS} ms`);
  writeResults('detection', [
    {
      name: 'breach detection (CLI, 800 ms latency fault)',
      value: cliMed,
      unit: 'ms',
      anchor: 'k6 thresholds, 2 s cadence, same traffic',
      anchorValue: k6Med,
      ratio: cliMed / k6Med,
      goal: '≤ 1000 ms',
    },
  ]);
}

await main();
process.exit(0);
