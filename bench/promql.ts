// PromQL guards: how fast a latency breach is caught through Prometheus, against the same fault seen
// by gameday's own traffic (the anchor, same machine, same run); and what one /metrics scrape of a
// run at 1000 rps costs, against a bare request to the same server.
//   node --import tsx bench/promql.ts [--runs 5] [--scrapes 200]
// Needs Debian's prometheus (apt-get install prometheus). Argo Rollouts' and Flagger's analysis
// intervals (a minute by default) are printed as constants, not measured.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startPrometheus, waitForScrapes } from '../test/helpers/monitoring.ts';
import { fmtMs, intArg, machineLine, median, ratio, ROOT, sleep } from './lib.ts';
import { writeResults, type BenchResult } from './results.ts';

const figures: BenchResult[] = [];

const args = process.argv.slice(2);
const RUNS = intArg(args, '--runs', 5);
const SCRAPES = intArg(args, '--scrapes', 200);
const P95 = 'histogram_quantile(0.95, sum by (le) (rate(demo_http_request_duration_seconds_bucket[5s])))';

interface Summary {
  exitCode: number;
  detectionMs: number | null;
  reason: string;
}

/** One `gameday run` through the CLI (NDJSON); its summary, and a callback once it observes. */
function runCli(file: string, stateDir: string, onObserve?: (stop: () => void) => void): Promise<Summary> {
  const bin = join(ROOT, 'bin', 'gameday.js');
  const child = spawn(
    process.execPath,
    [
      bin,
      'run',
      '--experiment',
      file,
      '--headless',
      '--output',
      'json',
      '--state-dir',
      stateDir,
      '--metrics-port',
      onObserve ? '9471' : '0',
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let buf = '';
  let summary: Summary | null = null;
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const e = JSON.parse(line) as { type: string; phase?: string } & Summary;
      if (e.type === 'phase' && e.phase === 'observe') onObserve?.(() => child.kill('SIGTERM'));
      if (e.type === 'summary') summary = e;
    }
  });
  return new Promise((resolve, reject) => child.on('close', () => (summary ? resolve(summary) : reject(new Error('no summary')))));
}

function experiment(
  dir: string,
  name: string,
  o: { demoMetricsPort: number; promUrl?: string; rps?: number; fault?: string; duration?: string },
): string {
  const guard = o.promUrl
    ? `prometheus: { url: "${o.promUrl}", timeout: 1s }\nslo:\n  p95LatencyMs: 60000\n  queryEvery: 500ms\n  queries: [{ name: demo-p95, query: '${P95}', max: 0.5 }]\n`
    : '';
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}\ntraffic: { rps: ${o.rps ?? 100} }\nfault: ${o.fault ?? '{ type: latency, latency: 800ms, jitter: 50ms }'}\n` +
      `schedule: { warmup: 500ms, baseline: 4s, duration: ${o.duration ?? '30s'}, recoveryWindow: 1s }\ndemo: { metricsPort: ${o.demoMetricsPort} }\n${guard}`,
  );
  return file;
}

async function detection(): Promise<void> {
  const demoMetricsPort = await freePort();
  const prom = await startPrometheus({ targets: [{ job: 'demo', target: `127.0.0.1:${demoMetricsPort}` }] });
  try {
    await waitForScrapes(prom.url, 'demo');
    const dir = mkdtempSync(join(tmpdir(), 'gameday-bench-promql-'));
    const own: (number | null)[] = [];
    const promql: (number | null)[] = [];
    console.log('# detection: 800 ms ±50 ms latency on every dependency call of the demo, 100 rps, p95 bound 500 ms');
    console.log(`# PromQL guard: ${P95} > 0.5, Prometheus scrape 1s, queryEvery 500ms; anchor: gameday's own traffic (5 s window, 250 ms)`);
    for (let i = 1; i <= RUNS; i++) {
      // alternate, so that the machine's drift hits both
      const a = await runCli(experiment(dir, `own-${i}`, { demoMetricsPort }), join(dir, `state-own-${i}`));
      const b = await runCli(experiment(dir, `promql-${i}`, { demoMetricsPort, promUrl: prom.url }), join(dir, `state-promql-${i}`));
      own.push(a.exitCode === 3 ? a.detectionMs : null);
      promql.push(b.exitCode === 3 ? b.detectionMs : null);
      console.log(
        `  run ${i}: own traffic ${fmtMs(a.detectionMs)} (exit ${a.exitCode}) · PromQL guard ${fmtMs(b.detectionMs)} (exit ${b.exitCode})`,
      );
    }
    const o = median(own);
    const p = median(promql);
    console.log(`median own traffic: ${fmtMs(o)} · median PromQL guard: ${fmtMs(p)} · ratio PromQL/own ${ratio(p, o)}`);
    console.log('Argo Rollouts / Flagger analysis interval by default (NOT measured): 60000 ms, so a breach is judged up to a minute late');
    figures.push({
      name: 'breach detection through a PromQL guard (Prometheus scrape 1 s, queryEvery 500 ms)',
      value: p,
      unit: 'ms',
      anchor: "gameday's own traffic window, same fault, same run",
      anchorValue: o,
      ratio: p / o,
      goal: 'reported (Argo Rollouts / Flagger: 60 s analysis interval by default)',
    });
  } finally {
    await prom.close();
  }
}

/** GETs a URL n times, one at a time; the median latency in ms. */
async function timeGets(url: string, n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    times.push(performance.now() - t);
  }
  return median(times);
}

async function scrapeCost(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-bench-scrape-'));
  const file = experiment(dir, 'scrape', { demoMetricsPort: 0, rps: 1000, fault: '{ type: latency, latency: 1ms }', duration: '40s' });
  let stop: (() => void) | null = null;
  const run = runCli(file, join(dir, 'state'), (s) => (stop = s));
  while (!stop) await sleep(100);
  await sleep(1000);
  const metrics = await timeGets('http://127.0.0.1:9471/metrics', SCRAPES);
  const bare = await timeGets('http://127.0.0.1:9471/nothing-here', SCRAPES);
  console.log(`# /metrics of a run at 1000 rps (${SCRAPES} scrapes, one at a time, while it observes)`);
  console.log(
    `median scrape: ${metrics.toFixed(2)} ms · same server, a 404 (the anchor: HTTP alone): ${bare.toFixed(2)} ms · scrape − anchor ${(metrics - bare).toFixed(2)} ms`,
  );
  figures.push({
    name: "a run's /metrics scrape at 1000 rps",
    value: metrics,
    unit: 'ms',
    anchor: 'a 404 from the same server (HTTP alone)',
    anchorValue: bare,
    ratio: metrics / bare,
    goal: 'reported',
  });
  (stop as () => void)();
  await run.catch(() => null);
}

console.log(`# bench/promql.ts · ${machineLine()}`);
await detection();
await scrapeCost();
writeResults('promql', figures);
