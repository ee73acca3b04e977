// The monitoring stack the tests start: a real Prometheus scrapes a loopback target every second, a
// real Alertmanager delivers a posted alert to a webhook. (The helpers other tests build on.)
import { createServer } from 'node:http';
import { afterAll, expect, it } from 'vitest';
import { listenOnLoopback, type Listening } from '../helpers/loopback.ts';
import {
  describeWith,
  queryProm,
  startAlertmanager,
  startPrometheus,
  startWebhookReceiver,
  type ReceivedAlerts,
  type Running,
} from '../helpers/monitoring.ts';
import { waitUntil } from '../helpers/wait.ts';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describeWith(['prometheus', 'prometheus-alertmanager'], 'the monitoring stack on loopback', () => {
  it('Prometheus scrapes a target within a few seconds', async () => {
    const target: Listening = await listenOnLoopback(createServer((_req, res) => res.end('# TYPE demo_up gauge\ndemo_up 1\n')));
    cleanups.push(target.close);
    const prom: Running = await startPrometheus({ targets: [{ job: 'demo', target: `127.0.0.1:${target.port}` }] });
    cleanups.push(prom.close);
    let value: string | undefined;
    const deadline = Date.now() + 15_000;
    while (value === undefined && Date.now() < deadline) {
      const r = await queryProm(prom.url, 'demo_up{job="demo"}');
      value = r[0]?.value[1];
      if (value === undefined) await new Promise((res) => setTimeout(res, 250));
    }
    expect(value).toBe('1');
  });

  it('Alertmanager delivers a posted alert to the webhook', async () => {
    const hook: ReceivedAlerts = await startWebhookReceiver();
    cleanups.push(hook.close);
    const am = await startAlertmanager({ webhookUrl: hook.url });
    cleanups.push(am.close);
    const res = await fetch(`${am.url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ labels: { alertname: 'GamedayTest', severity: 'info' }, annotations: { summary: 'hello' } }]),
    });
    expect(res.status).toBe(200);
    await waitUntil(() => hook.payloads.some((p) => p.alerts.some((a) => a.labels.alertname === 'GamedayTest')), 15_000, 'alert delivered');
  });
});
