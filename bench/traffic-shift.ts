// Breach → the traffic shift effective, seen from outside: the real CLI runs an errors fault on the
// primary (through gameday's fault proxy) behind a real HAProxy, then a real nginx; a poller
// outside gameday asks the load balancer every few milliseconds who answers. The figure is the
// first answer from the standby after the run's breach event (both on this machine's clock), and
// how much of it was the shift step itself. Median of 5 per load balancer.
//
//   node --import tsx bench/traffic-shift.ts [--runs 5]
import { createServer, request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHaproxy } from '../test/helpers/haproxy.ts';
import { freePort } from '../test/helpers/monitoring.ts';
import { startNginx } from '../test/helpers/nginx.ts';
import { fmtMs, intArg, machineLine, median, runCli } from './lib.ts';
import { writeResults } from './results.ts';

async function instance(name: string): Promise<{ url: string; close(): void }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(name));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => server.close() };
}

/** One GET on a fresh connection: the body, or '' on any failure. */
function who(url: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 1_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', () => resolve(''));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Polls `url` until stopped; resolves with when the standby first answered (epoch ms), or null. */
function watchForStandby(url: string): { stop(): Promise<number | null> } {
  let first: number | null = null;
  let running = true;
  const loop = (async () => {
    while (running && first === null) {
      if ((await who(url)) === 'standby') first = Date.now();
      else await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return first;
    },
  };
}

interface Sample {
  breachToStandbyMs: number;
  shiftStepMs: number;
}

async function oneRun(frontendUrl: string, proxyPort: number, primaryUrl: string, rollback: string): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-bench-shift-'));
  try {
    const file = join(dir, 'shift.yaml');
    writeFileSync(
      file,
      `name: bench-shift
target: { url: "${frontendUrl}" }
traffic: { rps: 50 }
fault: { type: errors, status: 503, proxy: { listen: "127.0.0.1:${proxyPort}", upstream: "${primaryUrl}" } }
schedule: { warmup: 1s, baseline: 2s, duration: 30s, recoveryWindow: 2s }
rollback:
${rollback}
`,
    );
    const watch = watchForStandby(frontendUrl);
    const r = await runCli(
      ['run', '--experiment', file, '--headless', '--output', 'json', '--metrics-port', '0', '--state-dir', join(dir, 'state')],
      90_000,
    );
    const firstStandby = await watch.stop();
    const breach = r.events.find((e) => e.type === 'breach');
    const shift = r.events.find((e) => e.type === 'rollback' && e.result === 'ok' && String(e.step).startsWith('traffic-shift'));
    if (r.code !== 3 || !breach || !shift || firstStandby === null) throw new Error(`run exited ${r.code}: ${r.stderr.slice(-500)}`);
    return { breachToStandbyMs: firstStandby - breach.ts, shiftStepMs: Number(shift.durationMs) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const runs = intArg(process.argv.slice(2), '--runs', 5);
  console.log(machineLine());
  const [primary, standby] = await Promise.all([instance('primary'), instance('standby')]);
  const results = new Map<string, Sample[]>();
  try {
    const haproxyPort = await freePort();
    const hap = await startHaproxy({
      servers: { primary: `http://127.0.0.1:${haproxyPort}`, standby: standby.url },
      disabled: ['standby'],
    });
    try {
      const step = `  - { type: traffic-shift, haproxy: { socket: "${hap.socket}", backend: ${hap.backend}, from: primary, to: standby } }`;
      for (let i = 0; i < runs; i++)
        results.set('HAProxy (runtime API)', [
          ...(results.get('HAProxy (runtime API)') ?? []),
          await oneRun(hap.url, haproxyPort, primary.url, step),
        ]);
    } finally {
      await hap.close();
    }
    const nginxPort = await freePort();
    const nginx = await startNginx({ upstreamServers: [`127.0.0.1:${nginxPort}`] });
    try {
      const step =
        `  - type: traffic-shift\n    nginx: { upstreamFile: "${nginx.upstreamFile}", upstream: ${nginx.upstream}, servers: ["${new URL(standby.url).host}"], ` +
        `test: ${JSON.stringify(nginx.test)}, reload: ${JSON.stringify(nginx.reload)} }`;
      for (let i = 0; i < runs; i++) {
        results.set('nginx (include + reload)', [
          ...(results.get('nginx (include + reload)') ?? []),
          await oneRun(nginx.url, nginxPort, primary.url, step),
        ]);
        await new Promise((r) => setTimeout(r, 1_000)); // the restore's reload: its old workers gone before the next run
      }
    } finally {
      await nginx.close();
    }
  } finally {
    primary.close();
    standby.close();
  }
  console.log(`\nbreach → first request answered by the standby, seen from outside (median of ${runs}); the shift step's own time`);
  for (const [name, samples] of results) {
    const b = samples.map((s) => s.breachToStandbyMs);
    console.log(
      `  ${name.padEnd(26)} breach → standby ${fmtMs(median(b))} (${b.map((x) => x.toFixed(0)).join(', ')})  shift step ${fmtMs(median(samples.map((s) => s.shiftStepMs)))}`,
    );
  }
  writeResults(
    'traffic-shift',
    [...results].map(([name, samples]) => ({
      name: `breach → standby answering, ${name}`,
      value: median(samples.map((s) => s.breachToStandbyMs)),
      unit: 'ms',
      anchor: 'the shift step itself',
      anchorValue: median(samples.map((s) => s.shiftStepMs)),
      ratio: median(samples.map((s) => s.breachToStandbyMs)) / median(samples.map((s) => s.shiftStepMs)),
      goal: 'reported',
    })),
  );
}

await main();
