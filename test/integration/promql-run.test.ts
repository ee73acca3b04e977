// PromQL SLO guards end to end, against a real Prometheus (Debian's 2.42) scraping every second:
// the demo API's own metrics drive a guard that rolls a latency fault back; observe-only runs spend
// nothing; a guard that cannot see (Prometheus killed, a series gone, NaN) fails closed; a guard
// that cannot answer at baseline refuses the run; invalid PromQL is a config error.
import { createServer } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { GamedayEvent } from '../../src/engine/events.ts';
import { runCli, spawnCli, summaryOf, tempDir, writeFile, type CliResult } from '../helpers/cli.ts';
import { listenOnLoopback, type Listening } from '../helpers/loopback.ts';
import { describeWith, freePort, startPrometheus, waitForScrapes, type Running } from '../helpers/monitoring.ts';

const P95 = 'histogram_quantile(0.95, sum by (le) (rate(demo_http_request_duration_seconds_bucket[5s])))';

let demoMetricsPort = 0;
let prom: Running;
/** a target whose one metric the tests change: a value, NaN, or gone */
let probe: Listening & { body: string };

beforeAll(async () => {
  demoMetricsPort = await freePort();
  const p = { body: '# TYPE test_probe_value gauge\ntest_probe_value 1\n' } as Listening & { body: string };
  Object.assign(p, await listenOnLoopback(createServer((_req, res) => res.end(p.body))));
  probe = p;
  prom = await startPrometheus({
    targets: [
      { job: 'demo', target: `127.0.0.1:${demoMetricsPort}` },
      { job: 'probe', target: `127.0.0.1:${probe.port}` },
    ],
  });
  await waitForScrapes(prom.url, 'demo');
}, 60_000);

afterAll(async () => {
  await prom?.close();
  await probe?.close();
});

interface ExperimentOpts {
  name: string;
  promUrl: string;
  queries: string;
  rps?: number;
  fault?: string;
  /** built-in SLOs out of the way, so that the guard alone decides */
  builtInsOff?: boolean;
  duration?: string;
}

function experiment(dir: string, o: ExperimentOpts): string {
  return writeFile(
    dir,
    `${o.name}.yaml`,
    `name: ${o.name}
traffic: { rps: ${o.rps ?? 50} }
fault: ${o.fault ?? '{ type: latency, latency: 800ms }'}
schedule: { warmup: 500ms, baseline: 4s, duration: ${o.duration ?? '30s'}, recoveryWindow: 2s }
demo: { metricsPort: ${demoMetricsPort} }
prometheus: { url: "${o.promUrl}", timeout: 1s }
slo:
${o.builtInsOff ? '  p95LatencyMs: 60000\n' : ''}  queryEvery: 500ms
  inconclusiveLimit: 3
  queries:
${o.queries}
`,
  );
}

const runArgs = (file: string, stateDir: string) => [
  'run',
  '--experiment',
  file,
  '--headless',
  '--output',
  'json',
  '--state-dir',
  stateDir,
  '--metrics-port',
  '0',
];
const ts = (r: CliResult, pred: (e: GamedayEvent) => boolean) => r.events.find(pred)?.ts;

describeWith(['prometheus'], 'PromQL SLO guards against a real Prometheus', () => {
  it("the demo's own metrics drive a guard: a latency fault breaches it, rolled back, recovered (exit 3)", async () => {
    const dir = tempDir();
    const file = experiment(dir, {
      name: 'promql-latency',
      promUrl: prom.url,
      builtInsOff: true,
      queries: `    - { name: demo-p95, query: '${P95}', max: 0.5 }`,
    });
    const r = await runCli(runArgs(file, `${dir}/state`), { timeoutMs: 90_000 });
    const s = summaryOf(r);
    expect(r.code, `${s.reason} ${r.stderr}`).toBe(3);
    expect(s).toMatchObject({ status: 'breach', trigger: 'breach', faultRemoved: true, recoveryVerified: true });
    expect(s.reason).toMatch(/SLO breached: demo-p95 0\.\d+ \(max 0\.5\)/);
    // detection: the fault's start to the breach; Prometheus scrapes every 1 s over a 5 s rate window
    console.log(`PromQL guard detection (1 s scrape, rate[5s], queryEvery 500ms): ${s.detectionMs} ms; recovery ${s.recoveryMs} ms`);
    expect(s.detectionMs).toBeLessThan(1_000 + 5_000 + 2_000);
    const tick = [...r.events].reverse().find((e) => e.type === 'tick' && e.guards.length > 0);
    expect(tick?.type === 'tick' && tick.guards[0]).toMatchObject({ name: 'demo-p95', bound: 0.5, kind: 'max' });
  });

  it('observe-only (rps 0): nothing spent, the guard alone rolls the fault back', async () => {
    const dir = tempDir();
    const file = experiment(dir, {
      name: 'promql-observe',
      promUrl: prom.url,
      rps: 0,
      builtInsOff: true,
      queries: `    - { name: demo-p95, query: '${P95}', max: 0.5 }`,
    });
    const run = spawnCli(runArgs(file, `${dir}/state`), { timeoutMs: 90_000 });
    // the service's own users: traffic from outside gameday, to the demo's address once it is known
    const started = await run.waitForEvent((e) => e.type === 'experiment' && e.experiment.targetUrl.startsWith('http'), 30_000);
    const demoUrl = started.type === 'experiment' ? started.experiment.targetUrl.split(' ')[0] : '';
    let users = true;
    const load = (async () => {
      while (users) {
        await Promise.all(
          Array.from({ length: 5 }, () =>
            fetch(`${demoUrl}/`).then(
              (res) => res.arrayBuffer(),
              () => null,
            ),
          ),
        );
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
    const r = await run.done;
    users = false;
    await load;
    const s = summaryOf(r);
    expect(r.code, `${s.reason} ${r.stderr}`).toBe(3);
    expect(s).toMatchObject({ status: 'breach', requests: 0, spentUsd: 0, faultRemoved: true });
    expect(s.reason).toMatch(/demo-p95/);
  });

  it.each([
    ['disappears', '# nothing here any more\n', /\(last: no data: the query returned an empty vector\)/],
    ['reads NaN', '# TYPE test_probe_value gauge\ntest_probe_value NaN\n', /\(last: the value is not a finite number \(NaN or ±Inf\)\)/],
  ])('a guard whose series %s mid-observe fails closed: rolled back, trigger slo-source (exit 3)', async (what, body, last) => {
    probe.body = '# TYPE test_probe_value gauge\ntest_probe_value 1\n';
    const dir = tempDir();
    const file = experiment(dir, {
      name: `promql-${what.replace(' ', '-')}`,
      promUrl: prom.url,
      rps: 20,
      fault: '{ type: latency, latency: 1ms }',
      queries: '    - { name: probe, query: "max(test_probe_value)", max: 10 }',
    });
    const run = spawnCli(runArgs(file, `${dir}/state`), { timeoutMs: 90_000 });
    await run.waitForEvent((e) => e.type === 'phase' && e.phase === 'observe', 60_000);
    probe.body = body;
    const r = await run.done;
    const s = summaryOf(r);
    expect(r.code, `${s.reason} ${r.stderr}`).toBe(3);
    expect(s).toMatchObject({ trigger: 'slo-source', faultRemoved: true });
    expect(s.reason).toMatch(/^SLO source failed: probe cannot see: 3 inconclusive answers in a row /);
    expect(s.reason).toMatch(last);
  });

  it('Prometheus killed mid-observe: inconclusiveLimit answers later the fault is rolled back (slo-source, exit 3)', async () => {
    const own = await startPrometheus({ targets: [{ job: 'demo', target: `127.0.0.1:${demoMetricsPort}` }] });
    try {
      await waitForScrapes(own.url, 'demo');
      const dir = tempDir();
      const file = experiment(dir, {
        name: 'promql-killed',
        promUrl: own.url,
        fault: '{ type: latency, latency: 1ms }',
        queries: `    - { name: demo-p95, query: '${P95}', max: 0.5 }`,
      });
      const run = spawnCli(runArgs(file, `${dir}/state`), { timeoutMs: 90_000 });
      await run.waitForEvent((e) => e.type === 'phase' && e.phase === 'observe', 60_000);
      const killedAt = Date.now();
      own.child.kill('SIGKILL');
      const r = await run.done;
      const s = summaryOf(r);
      expect(r.code, `${s.reason} ${r.stderr}`).toBe(3);
      expect(s.trigger).toBe('slo-source');
      expect(s.reason).toMatch(/demo-p95 cannot see: 3 inconclusive answers in a row \(last: cannot reach Prometheus: ECONNREFUSED\)/);
      // three answers 500 ms apart, then the next tick
      const rolledBackAt = ts(r, (e) => e.type === 'phase' && e.phase === 'rollback')!;
      console.log(`Prometheus killed → rollback: ${rolledBackAt - killedAt} ms (queryEvery 500ms, inconclusiveLimit 3)`);
      expect(rolledBackAt - killedAt).toBeLessThan(5_000);
    } finally {
      await own.close();
    }
  });

  it('a guard that cannot answer at baseline refuses the run: exit 2, nothing injected', async () => {
    const dir = tempDir();
    const file = experiment(dir, {
      name: 'promql-baseline',
      promUrl: prom.url,
      rps: 20,
      queries: '    - { name: missing, query: "max(metric_nobody_exports)", max: 1 }',
    });
    const r = await runCli(runArgs(file, `${dir}/state`), { timeoutMs: 60_000 });
    const s = summaryOf(r);
    expect(r.code, r.stderr).toBe(2);
    expect(s).toMatchObject({ status: 'refused', faultRemoved: true });
    expect(s.reason).toMatch(/^baseline: missing: no data: the query returned an empty vector/);
    expect(r.events.some((e) => e.type === 'fault')).toBe(false);
  });
});
