// Rollback on real infrastructure, with the real CLI: HAProxy (runtime API) and nginx (an upstream
// include file, nginx -t, reload) in front of a primary and a standby of a real dependency, an
// errors fault on the primary through gameday's fault proxy. A breach drains the primary, recovery
// is verified through the standby, and the run puts the primary back. Then the preflight refusals
// (every rollback step proven possible before the fault goes in) and `gameday drill`.
// pod-restart runs against a STAND-IN kubectl (test/helpers/fake-kubectl.ts): no Kubernetes
// cluster can run on these machines.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { showServersState } from '../../src/rollback/haproxy-runtime.ts';
import { runCli, runJsonArgs, spawnCli, summaryOf, tempDir, writeFile, type Spawned } from '../helpers/cli.ts';
import { installStandInKubectl } from '../helpers/fake-kubectl.ts';
import { startHaproxy, type RunningHaproxy } from '../helpers/haproxy.ts';
import { listenOnLoopback, type Listening } from '../helpers/loopback.ts';
import { freePort } from '../helpers/monitoring.ts';
import { getText, startNginx, type RunningNginx } from '../helpers/nginx.ts';
import { commandFaultExperiment } from '../helpers/experiments.ts';

/** A dependency instance that says who it is and counts what reaches it. */
async function instance(name: string): Promise<Listening & { count(): number }> {
  let n = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/healthz') n++;
    res.writeHead(200, { 'content-type': 'text/plain' }).end(name);
  });
  const l = await listenOnLoopback(server);
  return { ...l, count: () => n };
}

let primary: Awaited<ReturnType<typeof instance>>;
let standby: Awaited<ReturnType<typeof instance>>;
beforeAll(async () => {
  [primary, standby] = await Promise.all([instance('primary'), instance('standby')]);
});
afterAll(async () => Promise.all([primary?.close(), standby?.close()]));

const started: Spawned[] = [];
afterEach(() => {
  for (const s of started.splice(0)) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
});

const runArgs = (file: string, state: string) => runJsonArgs(file, '--state-dir', state);

/** An errors fault on the primary, through gameday's proxy at `proxyPort`, with `rollback` steps. */
function shiftExperiment(
  dir: string,
  targetUrl: string,
  proxyPort: number,
  rollback: string,
  schedule = '{ warmup: 1s, baseline: 2s, duration: 30s, recoveryWindow: 2s }',
) {
  return writeFile(
    dir,
    'shift.yaml',
    `name: shift-on-breach
target: { url: "${targetUrl}" }
traffic: { rps: 50 }
fault:
  type: errors
  status: 503
  proxy: { listen: "127.0.0.1:${proxyPort}", upstream: "${primary.url}" }
schedule: ${schedule}
rollback:
${rollback}
`,
  );
}

async function states(hap: RunningHaproxy): Promise<Record<string, string>> {
  const rows = await showServersState(hap.socket, hap.backend, 2_000);
  return Object.fromEntries(rows.map((r) => [r.server, r.state]));
}

async function until(ok: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('traffic-shift through HAProxy (real haproxy, runtime API)', () => {
  let hap: RunningHaproxy;
  let proxyPort: number;
  beforeAll(async () => {
    proxyPort = await freePort();
    hap = await startHaproxy({ servers: { primary: `http://127.0.0.1:${proxyPort}`, standby: standby.url }, disabled: ['standby'] });
  });
  afterAll(async () => hap?.close());

  const step = () =>
    `  - { type: traffic-shift, haproxy: { socket: "${hap.socket}", backend: ${hap.backend}, from: primary, to: standby } }`;

  it('a breach drains the primary, recovery is verified through the standby (exit 3), and the primary is ready again after', async () => {
    const dir = tempDir();
    const file = shiftExperiment(dir, hap.url, proxyPort, step());
    const standbyBefore = standby.count();
    const r = await runCli(runArgs(file, join(dir, 'state')), { timeoutMs: 90_000 });
    const s = summaryOf(r);
    expect(r.code, r.stderr + JSON.stringify(s)).toBe(3);
    expect(s.recoveryVerified).toBe(true);
    expect(standby.count() - standbyBefore).toBeGreaterThan(20); // the verify window's traffic went to the standby
    const steps = r.events.filter((e) => e.type === 'rollback' && e.result === 'ok').map((e) => (e.type === 'rollback' ? e.step : ''));
    expect(steps).toEqual([
      'remove-fault',
      'traffic-shift haproxy be_app: primary → standby',
      expect.stringMatching(/^undo traffic-shift haproxy/),
    ]);
    expect(r.events.some((e) => e.type === 'phase' && e.phase === 'restore')).toBe(true);
    expect(await states(hap)).toEqual({ primary: 'ready', standby: 'maint' });
  });

  it('a traffic shift as the fault ("what if the primary goes?"): the standby holds (exit 0), and the primary is back after', async () => {
    const dir = tempDir();
    const file = writeFile(
      dir,
      'lose-primary.yaml',
      `name: lose-primary
target: { url: "${hap.url}" }
traffic: { rps: 50 }
fault: { type: traffic-shift, haproxy: { socket: "${hap.socket}", backend: ${hap.backend}, from: primary, to: standby, fromState: maint } }
schedule: { warmup: 1s, baseline: 2s, duration: 2s, recoveryWindow: 1s }
`,
    );
    // the primary must answer during the baseline: a stand-in on the proxy's port (no fault proxy in this run)
    const stand = createServer((_req, res) => res.writeHead(200).end('primary'));
    await new Promise<void>((r) => stand.listen(proxyPort, '127.0.0.1', r));
    try {
      const standbyBefore = standby.count();
      const r = await runCli(runArgs(file, join(dir, 'state')), { timeoutMs: 60_000 });
      expect(r.code, r.stderr + JSON.stringify(summaryOf(r))).toBe(0);
      expect(standby.count() - standbyBefore).toBeGreaterThan(50); // two seconds of 50 rps went to the standby
      expect(r.events.filter((e) => e.type === 'fault').map((e) => (e.type === 'fault' ? e.state : ''))).toEqual(['in', 'out']);
      expect(await states(hap)).toEqual({ primary: 'ready', standby: 'maint' });
    } finally {
      await new Promise((r) => stand.close(r));
    }
  });

  it('a controller SIGKILLed after the shift: its watchdog puts HAProxy back', async () => {
    const dir = tempDir();
    const file = shiftExperiment(dir, hap.url, proxyPort, step(), '{ warmup: 1s, baseline: 2s, duration: 30s, recoveryWindow: 20s }');
    const run = spawnCli(runArgs(file, join(dir, 'state')), { timeoutMs: 90_000 });
    started.push(run);
    await run.waitForEvent((e) => e.type === 'rollback' && e.result === 'ok' && e.step.startsWith('traffic-shift haproxy'), 60_000);
    expect(await states(hap)).toEqual({ primary: 'drain', standby: 'ready' });
    run.child.kill('SIGKILL');
    await run.done;
    await until(async () => (await states(hap)).primary === 'ready', 20_000, 'the watchdog undid the shift');
    expect(await states(hap)).toEqual({ primary: 'ready', standby: 'maint' });
  });
});

describe('traffic-shift through nginx (real nginx, upstream include file, nginx -t, reload)', () => {
  let nginx: RunningNginx;
  let proxyPort: number;
  beforeAll(async () => {
    proxyPort = await freePort();
    nginx = await startNginx({ upstreamServers: [`127.0.0.1:${proxyPort}`] });
  });
  afterAll(async () => nginx?.close());

  /** The run's fault proxy is gone with the run: a stand-in on its port proves nginx routes to the original upstream again. */
  async function expectOriginalUpstream(): Promise<void> {
    const stand = createServer((_req, res) => res.writeHead(200).end('original upstream'));
    await new Promise<void>((r) => stand.listen(proxyPort, '127.0.0.1', r));
    try {
      await until(async () => (await getText(nginx.url)).body === 'original upstream', 5_000, 'nginx back on the original upstream');
    } finally {
      await new Promise((r) => stand.close(r));
    }
  }

  const step = (servers: string) =>
    `  - type: traffic-shift\n    nginx:\n      upstreamFile: "${nginx.upstreamFile}"\n      upstream: ${nginx.upstream}\n      servers: ["${servers}"]\n` +
    `      test: ${JSON.stringify(nginx.test)}\n      reload: ${JSON.stringify(nginx.reload)}`;

  it('a breach shifts the upstream to the standby, recovery verified through it (exit 3), and the file is put back after', async () => {
    const dir = tempDir();
    const before = readFileSync(nginx.upstreamFile);
    const standbyBefore = standby.count();
    const r = await runCli(runArgs(shiftExperiment(dir, nginx.url, proxyPort, step(new URL(standby.url).host)), join(dir, 'state')), {
      timeoutMs: 90_000,
    });
    const s = summaryOf(r);
    expect(r.code, r.stderr + JSON.stringify(s)).toBe(3);
    expect(s.recoveryVerified).toBe(true);
    expect(standby.count() - standbyBefore).toBeGreaterThan(20);
    expect(readFileSync(nginx.upstreamFile).equals(before)).toBe(true);
    await expectOriginalUpstream();
  });

  it('a shift nginx -t rejects: the old file is restored, the run exits 6 loudly', async () => {
    const dir = tempDir();
    const before = readFileSync(nginx.upstreamFile);
    // our schema takes it, nginx does not: port 99999
    const r = await runCli(runArgs(shiftExperiment(dir, nginx.url, proxyPort, step('127.0.0.1:99999')), join(dir, 'state')), {
      timeoutMs: 90_000,
    });
    const s = summaryOf(r);
    expect(r.code, r.stderr).toBe(6);
    expect(s.faultRemoved).toBe(true);
    expect(s.reason).toMatch(/traffic-shift nginx .*nginx -t failed, the previous .* is restored/);
    expect(readFileSync(nginx.upstreamFile).equals(before)).toBe(true);
    await expectOriginalUpstream();
  });
});

describe('every rollback step proven possible at preflight: exit 2, nothing injected, nothing spent', () => {
  const cases: Array<[string, (dir: string) => string, RegExp]> = [
    [
      'a missing HAProxy socket',
      (d) => `  - { type: traffic-shift, haproxy: { socket: "${join(d, 'no.sock')}", backend: be_app, from: primary, to: standby } }`,
      /HAProxy admin socket .*no\.sock does not answer/,
    ],
    [
      'an unwritable nginx include',
      (d) =>
        `  - type: traffic-shift\n    nginx: { upstreamFile: "${join(d, 'missing-dir', 'up.conf')}", upstream: app, servers: ["127.0.0.1:1"] }`,
      /missing-dir/,
    ],
    [
      'a command not found',
      () => '  - { type: command, run: [gameday-no-such-program, --now] }',
      /gameday-no-such-program not found on PATH/,
    ],
    [
      'kubectl auth can-i answering no',
      () => '  - { type: pod-restart, deployment: checkout, namespace: shop }',
      /auth can-i patch deployment\/checkout says no/,
    ],
  ];
  let hap: RunningHaproxy;
  beforeAll(async () => {
    hap = await startHaproxy({ servers: { primary: primary.url, standby: standby.url }, disabled: ['standby'] });
  });
  afterAll(async () => hap?.close());

  it.each([
    ...cases,
    [
      'a server name not in the HAProxy backend',
      () => `  - { type: traffic-shift, haproxy: { socket: "${hap.socket}", backend: be_app, from: primary, to: nope } }`,
      /server nope is not in backend be_app/,
    ] as [string, (dir: string) => string, RegExp],
  ])('%s', async (_name, rollback, why) => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const { file, marker } = commandFaultExperiment({ dir, name: 'never-in', targetUrl: primary.url });
    writeFile(dir, 'never-in.yaml', readFileSync(file, 'utf8') + `rollback:\n${rollback(dir)}\n`);
    const kubectl = installStandInKubectl({ canI: 'no' });
    try {
      const r = await runCli(runArgs(file, state), { env: { GAMEDAY_KUBECTL: kubectl.program }, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(2);
      const refusal = r.events.find((e) => e.type === 'preflight' && !e.ok);
      expect(refusal && refusal.type === 'preflight' ? `${refusal.check}: ${refusal.detail}` : '').toMatch(why);
      expect(existsSync(marker)).toBe(false);
      expect(summaryOf(r).requests).toBe(0);
      const status = JSON.parse((await runCli(['budget-status', '--json', '--state-dir', state])).stdout);
      expect(status.day.spentUsd).toBe(0);
    } finally {
      kubectl.remove();
    }
  });
});

describe('gameday drill: the rollback steps alone', () => {
  let hap: RunningHaproxy;
  let nginx: RunningNginx;
  beforeAll(async () => {
    [hap, nginx] = await Promise.all([
      startHaproxy({ servers: { primary: primary.url, standby: standby.url }, disabled: ['standby'] }),
      startNginx({ upstreamServers: [new URL(primary.url).host] }),
    ]);
  });
  afterAll(async () => Promise.all([hap?.close(), nginx?.close()]));

  it('runs each step (HAProxy, nginx, pod-restart, a command), reports durations, and leaves everything as it found it', async () => {
    const dir = tempDir();
    const kubectl = installStandInKubectl({ canI: 'yes', rollout: 'complete' });
    const before = readFileSync(nginx.upstreamFile);
    const file = writeFile(
      dir,
      'drill.yaml',
      `name: drill-all
target: { url: "${primary.url}" }
fault: { type: command, inject: [true], restore: [true] }
rollback:
  - { type: traffic-shift, haproxy: { socket: "${hap.socket}", backend: be_app, from: primary, to: standby } }
  - type: traffic-shift
    nginx: { upstreamFile: "${nginx.upstreamFile}", upstream: ${nginx.upstream}, servers: ["${new URL(standby.url).host}"], test: ${JSON.stringify(nginx.test)}, reload: ${JSON.stringify(nginx.reload)} }
  - { type: pod-restart, deployment: checkout, namespace: shop }
  - { type: command, run: [true] }
`,
    );
    try {
      const r = await runCli(['drill', file], { env: { GAMEDAY_KUBECTL: kubectl.program }, timeoutMs: 60_000 });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      for (const name of [
        'traffic-shift haproxy be_app: primary → standby',
        'traffic-shift nginx',
        'pod-restart deployment/checkout -n shop',
        'command: true',
      ]) {
        expect(r.stdout).toMatch(new RegExp(`check\\s+ok\\s+\\d+ ms  ${name.replace(/[/]/g, '\\/')}`));
        expect(r.stdout).toMatch(new RegExp(`run\\s+ok\\s+\\d+ ms  ${name.replace(/[/]/g, '\\/')}`));
      }
      expect(r.stdout).toMatch(/undo\s+ok\s+\d+ ms {2}undo traffic-shift haproxy/);
      expect(r.stdout).toMatch(/undo\s+ok\s+\d+ ms {2}undo traffic-shift nginx/);
      expect(r.stdout).toContain('drill: every step worked');
      // as it found it
      expect(await states(hap)).toEqual({ primary: 'ready', standby: 'maint' });
      expect(readFileSync(nginx.upstreamFile).equals(before)).toBe(true);
      expect(kubectl.calls().some((c) => c.includes('restart'))).toBe(true);

      const json = JSON.parse(
        (await runCli(['drill', file, '--json'], { env: { GAMEDAY_KUBECTL: kubectl.program }, timeoutMs: 60_000 })).stdout,
      );
      expect(json.ok).toBe(true);
      expect(json.steps).toHaveLength(4);
      expect(json.undo).toHaveLength(2);
    } finally {
      kubectl.remove();
    }
  });

  it('exits 6 naming the step that failed, and still puts back what the others changed', async () => {
    const dir = tempDir();
    const kubectl = installStandInKubectl({ canI: 'yes', rollout: 'fail' });
    const file = writeFile(
      dir,
      'drill-fail.yaml',
      `name: drill-fail
target: { url: "${primary.url}" }
fault: { type: command, inject: [true], restore: [true] }
rollback:
  - { type: traffic-shift, haproxy: { socket: "${hap.socket}", backend: be_app, from: primary, to: standby } }
  - { type: pod-restart, deployment: checkout, timeout: 5s }
`,
    );
    try {
      const r = await runCli(['drill', file], { env: { GAMEDAY_KUBECTL: kubectl.program }, timeoutMs: 60_000 });
      expect(r.code, r.stdout + r.stderr).toBe(6);
      expect(r.stdout).toMatch(/run\s+FAILED\s+\d+ ms {2}pod-restart deployment\/checkout/);
      expect(r.stdout).toMatch(/drill: 1 step FAILED/);
      expect(await states(hap)).toEqual({ primary: 'ready', standby: 'maint' });
    } finally {
      kubectl.remove();
    }
  });
});
