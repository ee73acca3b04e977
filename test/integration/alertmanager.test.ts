// Alertmanager notifications from a real `gameday run`, delivered by a real Alertmanager (group_wait
// 1s) to a webhook receiver; an Alertmanager URL that accepts connections and never answers does not
// delay the rollback; GamedayRollbackFailed stays firing until `gameday recover` resolves it; and a
// bad alertmanager config is exit 1, by field path.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { GamedayEvent } from '../../src/engine/events.ts';
import { runCli, summaryOf, tempDir, writeFile, type CliResult } from '../helpers/cli.ts';
import { describeWith, startAlertmanager, startWebhookReceiver, type ReceivedAlerts, type Running } from '../helpers/monitoring.ts';
import { useCountingTarget } from '../helpers/target.ts';
import { waitUntil } from '../helpers/wait.ts';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/**
 * The latency template with a slower fault and a 2 s p95 bound: the fault is in for about 2 s before
 * the breach, so Alertmanager's first flush (group_wait 1s) sees GamedayExperimentActive firing.
 * With the template's 800 ms it is resolved within about a second, and Alertmanager, which never
 * sends a resolve for an alert it did not notify firing, may deliver nothing for it at all.
 */
const LATENCY_EXPERIMENT = `name: alerts-latency
traffic: { rps: 50, timeout: 5s }
fault: { type: latency, latency: 2500ms, probability: 1.0 }
schedule: { warmup: 500ms, baseline: 2s, duration: 30s, recoveryWindow: 1s }
slo: { p95LatencyMs: 2000 }
demo: { timeout: 5s }
rollback: [traffic-shift]
`;

const runArgs = (dir: string, file: string) => [
  'run',
  '--experiment',
  file,
  '--duration',
  '5s',
  '--headless',
  '--output',
  'json',
  '--metrics-port',
  '0',
  '--state-dir',
  dir,
];

/** breach event → the fault's removal done (the `remove-fault` rollback step ok), from the NDJSON. */
function breachToRollbackMs(r: CliResult): number {
  const breach = r.events.find((e) => e.type === 'breach');
  const removed = r.events.find((e) => e.type === 'rollback' && e.step === 'remove-fault' && e.result === 'ok');
  if (!breach || !removed) throw new Error(`no breach or no rollback; exit ${r.code}; stderr ${r.stderr.slice(-500)}`);
  return removed.ts - breach.ts;
}

type Delivered = ReceivedAlerts['payloads'][number]['alerts'][number];
const delivered = (hook: ReceivedAlerts, id: string, name: string, status: 'firing' | 'resolved'): Delivered[] =>
  hook.payloads.flatMap((p) => p.alerts).filter((a) => a.labels.experiment_id === id && a.labels.alertname === name && a.status === status);

const notes = (events: GamedayEvent[]) => events.flatMap((e) => (e.type === 'note' ? [e.text] : []));

/** Accepts connections and never answers: the worst Alertmanager there is. */
async function silentServer(): Promise<{ url: string; connections(): number; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => sockets.length,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describeWith(['prometheus-alertmanager'], 'Alertmanager notifications from a real run', () => {
  let hook: ReceivedAlerts;
  let am: Running;
  const stack = async () => {
    if (!am) {
      hook = await startWebhookReceiver();
      cleanups.push(hook.close);
      am = await startAlertmanager({ webhookUrl: hook.url });
      cleanups.push(am.close);
    }
  };
  const figures: { without?: number; with?: number } = {};
  /** The latency run, the Alertmanager(s) named in `env` or in `configText`. */
  const latencyRun = (opts: { env?: NodeJS.ProcessEnv; configText?: string }) => {
    const dir = tempDir();
    const file = writeFile(dir, 'alerts-latency.yaml', LATENCY_EXPERIMENT);
    const config = opts.configText ? ['--config', writeFile(dir, 'gameday.yaml', opts.configText)] : [];
    return runCli([...runArgs(dir, file), ...config], { env: opts.env, timeoutMs: 90_000 });
  };

  it('GamedayExperimentActive firing then resolved, and GamedaySloBreach firing, reach the webhook', async () => {
    await stack();
    const r = await latencyRun({ configText: `alertmanager: { urls: ["${am.url}"], resendEvery: 1s }\n` });
    const s = summaryOf(r);
    expect(r.code, r.stderr).toBe(3);
    expect(s.faultRemoved).toBe(true);
    figures.without = breachToRollbackMs(r);
    const id = s.experimentId;
    await waitUntil(() => delivered(hook, id, 'GamedayExperimentActive', 'resolved').length > 0, 20_000, 'active resolved delivered');
    await waitUntil(() => delivered(hook, id, 'GamedaySloBreach', 'firing').length > 0, 20_000, 'breach delivered');
    const firing = delivered(hook, id, 'GamedayExperimentActive', 'firing');
    expect(firing.length).toBeGreaterThan(0);
    // firing came first: the payload that carried it precedes the one that resolved it
    const order = hook.payloads.flatMap((p) =>
      p.alerts.filter((a) => a.labels.experiment_id === id && a.labels.alertname === 'GamedayExperimentActive'),
    );
    expect(order[0].status).toBe('firing');
    expect(order.at(-1)!.status).toBe('resolved');
    expect(firing[0].labels).toEqual({
      alertname: 'GamedayExperimentActive',
      severity: 'info',
      experiment: 'alerts-latency',
      experiment_id: id,
    });
    const breach = delivered(hook, id, 'GamedaySloBreach', 'firing')[0];
    expect(breach.labels).toMatchObject({
      severity: 'warning',
      experiment: 'alerts-latency',
      slo: expect.stringMatching(/p95LatencyMs|availability|errorRate/),
    });
    expect(Number(breach.annotations[breach.labels.slo.split(',')[0]])).not.toBeNaN();
    expect(notes(r.events).filter((t) => t.startsWith('alertmanager '))).toEqual([]);
  });

  it('an Alertmanager URL that accepts connections and never answers does not delay the rollback', async () => {
    await stack();
    const silent = await silentServer();
    cleanups.push(silent.close);
    // the same run without it: measured by the test above, or here when this test runs alone
    figures.without ??= breachToRollbackMs(await latencyRun({ env: { GAMEDAY_ALERTMANAGER_URL: am.url } }));
    // with credentials: nothing gameday prints or writes may show them
    const secretUrl = silent.url.replace('//', '//gameday:s3cr3t-token@');
    const started = performance.now();
    const r = await latencyRun({ env: { GAMEDAY_ALERTMANAGER_URL: `${secretUrl},${am.url}` } });
    const wallMs = performance.now() - started;
    const s = summaryOf(r);
    expect(r.code, r.stderr).toBe(3);
    expect(s.faultRemoved).toBe(true);
    figures.with = breachToRollbackMs(r);
    expect(silent.connections()).toBeGreaterThan(0);
    // a warning, once, however many posts it swallowed
    const warned = notes(r.events).filter((t) => t.startsWith(`alertmanager ${silent.url}`));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain('no answer within 2000ms');
    const journal = readFileSync(s.journalPath!, 'utf8');
    expect(journal).toContain('gameday:***@127.0.0.1'); // the plan, as the journal records it
    for (const text of [r.stdout, r.stderr, journal]) expect(text).not.toContain('s3cr3t-token');
    // the live Alertmanager is served all the same
    await waitUntil(() => delivered(hook, s.experimentId, 'GamedaySloBreach', 'firing').length > 0, 20_000, 'breach delivered');
    console.log(
      `breach → fault removed: ${figures.without} ms without the silent Alertmanager, ${figures.with} ms with it ` +
        `(run took ${Math.round(wallMs)} ms wall, of which ≤ 2.5 s is the final flush)`,
    );
    expect(figures.with).toBeLessThanOrEqual(figures.without + 250);
  });

  const target = useCountingTarget();

  it('GamedayRollbackFailed stays firing after the run, and `gameday recover` resolves it', async () => {
    await stack();
    const dir = tempDir();
    const file = writeFile(
      dir,
      'restore-fails.yaml',
      `name: restore-fails
target: { url: "${target().url}" }
traffic: { rps: 50 }
fault: { type: command, inject: ["true"], restore: ["false"] }
schedule: { warmup: 0s, baseline: 1s, duration: 1s, recoveryWindow: 500ms }
`,
    );
    const env = { GAMEDAY_ALERTMANAGER_URL: am.url };
    const r = await runCli(['run', '--experiment', file, '--headless', '--output', 'json', '--metrics-port', '0', '--state-dir', dir], {
      env,
      timeoutMs: 90_000,
    });
    const s = summaryOf(r);
    expect(r.code, r.stderr).toBe(6);
    const id = s.experimentId;
    await waitUntil(() => delivered(hook, id, 'GamedayRollbackFailed', 'firing').length > 0, 20_000, 'rollback failed delivered');
    expect(delivered(hook, id, 'GamedayRollbackFailed', 'firing')[0].labels.severity).toBe('critical');
    expect(readdirSync(join(dir, 'alerts'))).toEqual([`${id}.json`]);

    const rec = await runCli(['recover', '--state-dir', dir], { env, timeoutMs: 30_000 });
    expect(rec.code, rec.stderr).toBe(0);
    expect(rec.stdout).toContain(`GamedayRollbackFailed of restore-fails (${id}) resolved in Alertmanager`);
    expect(existsSync(join(dir, 'alerts', `${id}.json`))).toBe(false);
    await waitUntil(() => delivered(hook, id, 'GamedayRollbackFailed', 'resolved').length > 0, 20_000, 'rollback failed resolved');
  });
});

describe('alertmanager config errors: exit 1, by field path, nothing touched', () => {
  it('a bad URL and a bad duration in the config file; a bad URL in the environment', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const config = writeFile(dir, 'gameday.yaml', 'alertmanager: { urls: ["ftp://am:9093"], resendEvery: 10m }\n');
    const r = await runCli(['run', '--config', config, '--headless', '--state-dir', state], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('alertmanager.urls.0: expected an http:// or https:// URL');
    expect(r.stderr).toContain('alertmanager.resendEvery: from 1s to 2m');
    expect(existsSync(state)).toBe(false);

    const e = await runCli(['run', '--headless', '--state-dir', state], {
      env: { GAMEDAY_ALERTMANAGER_URL: 'http://u:s3cr3t-pw@am:9093,am:9093' },
      timeoutMs: 30_000,
    });
    expect(e.code, e.stderr).toBe(1);
    expect(e.stderr).toContain('GAMEDAY_ALERTMANAGER_URL: expected an http:// or https:// URL');
    expect(e.stderr).not.toContain('s3cr3t-pw');
    expect(existsSync(state)).toBe(false);
  });
});
