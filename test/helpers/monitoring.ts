// Real Prometheus and Alertmanager (Debian's packages) on loopback, started by the test itself:
// random ports, temp dirs, killed afterwards. A missing binary fails the suite with the line that
// installs it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe } from 'vitest';
import { listenOnLoopback } from './loopback.ts';

function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

/**
 * A describe() that needs these programs. Like the tmux tests, it fails with the install line when
 * one is missing, rather than skipping: a test that quietly does not run proves nothing (.ci/run
 * installs them; on a developer machine, apt-get install them).
 */
export function describeWith(binaries: string[], name: string, fn: () => void): void {
  describe(name, () => {
    beforeAll(() => {
      const missing = binaries.filter((b) => !hasBinary(b));
      if (missing.length) throw new Error(`${missing.join(', ')} not installed: apt-get install prometheus prometheus-alertmanager`);
    });
    fn();
  });
}

/** A port nothing listens on right now (the kernel's pick, then let go). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function waitReady(url: string, child: ChildProcess, log: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before it was ready: ${log().slice(-2000)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms: ${log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Running {
  url: string;
  child: ChildProcess;
  dir: string;
  /** everything it printed */
  log(): string;
  close(): Promise<void>;
}

function start(cmd: string, args: string[], dir: string, readyUrl: string): Promise<Running> {
  const child = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return waitReady(readyUrl, child, () => out).then(
    () => ({ url: readyUrl.replace(/\/-\/ready$/, ''), child, dir, log: () => out, close }),
    async (err: unknown) => {
      await close();
      throw err;
    },
  );
}

export interface ScrapeTarget {
  job: string;
  /** host:port */
  target: string;
  /** default 1s */
  interval?: string;
  /** default /metrics */
  path?: string;
}

/** Prometheus scraping `targets` (1 s by default), evaluating `ruleFiles`; the lifecycle API is on. */
export async function startPrometheus(opts: {
  targets: ScrapeTarget[];
  ruleFiles?: string[];
  evaluationInterval?: string;
}): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-prometheus-'));
  const port = await freePort();
  const config = [
    'global:',
    '  scrape_interval: 1s',
    `  evaluation_interval: ${opts.evaluationInterval ?? '1s'}`,
    ...(opts.ruleFiles?.length ? ['rule_files:', ...opts.ruleFiles.map((f) => `  - ${JSON.stringify(f)}`)] : []),
    'scrape_configs:',
    ...opts.targets.flatMap((t) => [
      `  - job_name: ${JSON.stringify(t.job)}`,
      `    scrape_interval: ${t.interval ?? '1s'}`,
      `    metrics_path: ${JSON.stringify(t.path ?? '/metrics')}`,
      `    static_configs: [{ targets: [${JSON.stringify(t.target)}] }]`,
    ]),
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config + '\n');
  const args = [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-lifecycle',
    '--log.level=warn',
  ];
  return start('prometheus', args, dir, `http://127.0.0.1:${port}/-/ready`);
}

export interface ReceivedAlerts {
  url: string;
  /** every webhook payload received, in order */
  payloads: Array<{
    status: string;
    alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string> }>;
  }>;
  close(): Promise<void>;
}

/** An Alertmanager webhook receiver: records what Alertmanager delivers. */
export async function startWebhookReceiver(): Promise<ReceivedAlerts> {
  const payloads: ReceivedAlerts['payloads'] = [];
  const server = createHttpServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      try {
        payloads.push(JSON.parse(body));
      } catch {
        // not JSON: not Alertmanager
      }
      res.end('ok');
    });
  });
  const l = await listenOnLoopback(server);
  return { url: l.url, payloads, close: l.close };
}

/** Alertmanager delivering to `webhookUrl`, grouping by alertname with a 1 s group_wait. */
export async function startAlertmanager(opts: { webhookUrl: string; groupWait?: string; repeatInterval?: string }): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-alertmanager-'));
  const port = await freePort();
  const config = [
    'route:',
    '  receiver: webhook',
    "  group_by: ['alertname', 'experiment_id']",
    `  group_wait: ${opts.groupWait ?? '1s'}`,
    '  group_interval: 1s',
    `  repeat_interval: ${opts.repeatInterval ?? '1h'}`,
    'receivers:',
    '  - name: webhook',
    '    webhook_configs:',
    `      - url: ${JSON.stringify(`${opts.webhookUrl}/`)}`,
    '        send_resolved: true',
  ].join('\n');
  writeFileSync(join(dir, 'alertmanager.yml'), config + '\n');
  const args = [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=',
    '--log.level=warn',
  ];
  return start('prometheus-alertmanager', args, dir, `http://127.0.0.1:${port}/-/ready`);
}

/** An instant query against a running Prometheus: the result vector. */
export async function queryProm(
  promUrl: string,
  query: string,
): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as {
    status: string;
    data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  if (body.status !== 'success') throw new Error(`query failed: ${JSON.stringify(body)}`);
  return body.data.result;
}

/**
 * Until Prometheus has tried to scrape `job` at least once (up{job} has a sample, 0 or 1): its
 * discovery hands the targets to the scrape loops only after a few seconds.
 */
export async function waitForScrapes(promUrl: string, job: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await queryProm(promUrl, `up{job=${JSON.stringify(job)}}`)).length === 0) {
    if (Date.now() > deadline) throw new Error(`Prometheus did not scrape ${job} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
