// process-kill with real processes: the demo's pricing dependency killed and restarted, a target
// frozen with SIGSTOP and thawed on rollback, a missing process refused at preflight, and a watchdog
// that thaws a frozen process when its controller is killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/budget/sqlite-ledger.ts';
import { runCli, spawnCli, summaryOf, tempDir, writeFile } from '../helpers/cli.ts';
import { useCountingTarget } from '../helpers/target.ts';
import { waitUntil } from '../helpers/wait.ts';

const counting = useCountingTarget();
const common = (state: string) => ['--headless', '--output', 'json', '--state-dir', state, '--metrics-port', '0'];

/** pids of the demo pricing processes that belong to gameday process `parentPid` */
function pricingProcesses(parentPid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (
        argv.some((a) => /pricing-process\.(ts|js)$/.test(a)) &&
        argv[argv.indexOf('--parent-pid') + 1] === String(parentPid) &&
        argv.includes('serve')
      ) {
        pids.push(Number(entry));
      }
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** 'T' when stopped, 'S'/'R' when running, null when gone */
function processState(pid: number): string | null {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];
    // A zombie is dead; reaping it is its parent's job (here, an init that may be slow to do it).
    return state === 'Z' ? null : state;
  } catch {
    return null;
  }
}

// Processes this file starts, killed (and thawed first) whatever happens in a test.
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.pid) {
      process.kill(c.pid, 'SIGCONT');
      c.kill('SIGKILL');
    }
  }
});

/** A real HTTP service in its own process that writes its pid file once it listens. */
async function startService(dir: string): Promise<{ url: string; pid: number; pidFile: string }> {
  const pidFile = join(dir, 'service.pid');
  const script = writeFile(
    dir,
    'service.mjs',
    `import http from 'node:http';
import { writeFileSync } from 'node:fs';
const server = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
server.listen(0, '127.0.0.1', () => {
  writeFileSync(process.argv[2], String(process.pid));
  process.stdout.write(server.address().port + '\\n');
});
`,
  );
  const child = spawn(process.execPath, [script, pidFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const port = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, pidFile };
}

describe('process-kill against the embedded demo', () => {
  it('kills the pricing process, breaches, restarts it on rollback, recovers (exit 3), and leaves no process behind', async () => {
    const state = tempDir();
    const run = spawnCli(['run', '--experiment-type', 'process-kill', '--duration', '20s', ...common(state)]);
    const pid = run.child.pid!;
    await run.waitForEvent((e) => e.type === 'phase' && e.phase === 'baseline');
    const before = pricingProcesses(pid);
    expect(before).toHaveLength(1);
    await run.waitForEvent((e) => e.type === 'phase' && e.phase === 'verify');
    const after = pricingProcesses(pid);
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before[0]); // the restart brought up a new process
    expect(processState(before[0])).toBeNull();

    const r = await run.done;
    const s = summaryOf(r);
    expect(r.code, r.stderr).toBe(3);
    expect(s.trigger).toBe('breach');
    expect(s.faultRemoved).toBe(true);
    expect(s.recoveryVerified).toBe(true);
    expect(r.events.some((e) => e.type === 'breach' && e.breaches.some((b) => 'sli' in b && b.sli === 'errorRate'))).toBe(true);
    expect(pricingProcesses(pid)).toEqual([]);
  });

  it('with the cached fallback on, users never notice the outage (exit 0)', async () => {
    const dir = tempDir();
    const file = writeFile(
      dir,
      'pk-fallback.yaml',
      `name: pk-fallback
traffic: { rps: 50 }
fault: { type: process-kill }
schedule: { warmup: 500ms, baseline: 2s, duration: 3s, recoveryWindow: 1s }
demo: { fallback: true }
`,
    );
    const r = await runCli(['run', '--experiment', file, ...common(join(dir, 'state'))]);
    const s = summaryOf(r);
    expect(r.code, r.stderr).toBe(0);
    expect(s.faultRemoved).toBe(true);
    expect(r.events.some((e) => e.type === 'breach')).toBe(false);
  });

  it('a killed controller takes its pricing process with it', async () => {
    const state = tempDir();
    const run = spawnCli(['run', '--experiment-type', 'process-kill', '--duration', '20s', ...common(state)]);
    await run.waitForEvent((e) => e.type === 'phase' && e.phase === 'baseline');
    const [pricing] = pricingProcesses(run.child.pid!);
    run.child.kill('SIGKILL');
    await run.done;
    await waitUntil(() => processState(pricing) === null, 5_000, 'the orphaned pricing process exits');
  });

  it('a frozen (SIGSTOP) pricing process of a killed controller is thawed by the watchdog, then exits', async () => {
    const dir = tempDir();
    const file = writeFile(
      dir,
      'pk-freeze.yaml',
      `name: pk-freeze
traffic: { rps: 20 }
fault: { type: process-kill, signal: SIGSTOP }
slo: { p95LatencyMs: 60000, errorRate: 1, availability: 0 }
schedule: { warmup: 500ms, baseline: 2s, duration: 60s }
`,
    );
    const run = spawnCli(['run', '--experiment', file, ...common(join(dir, 'state'))]);
    await run.waitForEvent((e) => e.type === 'phase' && e.phase === 'observe');
    const [pricing] = pricingProcesses(run.child.pid!);
    await waitUntil(() => processState(pricing) === 'T', 2_000, 'the pricing process is stopped');
    run.child.kill('SIGKILL');
    await run.done;
    await waitUntil(() => processState(pricing) === null, 15_000, 'the watchdog thaws it and it exits');
  });
});

describe('process-kill against a target', () => {
  it('SIGSTOP freezes the service; the breach rolls back with SIGCONT and the service serves again (exit 3)', async () => {
    const dir = tempDir();
    const service = await startService(dir);
    const file = writeFile(
      dir,
      'freeze.yaml',
      `name: freeze
target: { url: "${service.url}", healthPath: /healthz }
traffic: { rps: 50, timeout: 1s }
fault: { type: process-kill, pidFile: "${service.pidFile}", signal: SIGSTOP }
schedule: { warmup: 500ms, baseline: 2s, duration: 20s, recoveryWindow: 1s }
`,
    );
    const r = await runCli(['run', '--experiment', file, ...common(join(dir, 'state'))]);
    const s = summaryOf(r);
    expect(r.code, r.stderr).toBe(3);
    expect(s.faultRemoved).toBe(true);
    expect(s.recoveryVerified).toBe(true);
    expect(s.detectionMs!).toBeLessThan(2_000);
    expect(processState(service.pid)).toMatch(/[SR]/);
    const res = await fetch(service.url);
    expect(res.status).toBe(200);
  });

  it('a process that is not running is refused at preflight: nothing signalled, nothing spent (exit 2)', async () => {
    const target = counting();
    const dir = tempDir();
    const state = join(dir, 'state');
    const file = writeFile(
      dir,
      'gone.yaml',
      `name: gone
target: { url: "${target.url}" }
fault: { type: process-kill, pidFile: "${join(dir, 'nobody.pid')}", restart: [true] }
`,
    );
    const before = target.count();
    const r = await runCli(['run', '--experiment', file, ...common(state)]);
    expect(r.code, r.stderr).toBe(2);
    expect(
      r.events.some((e) => e.type === 'preflight' && e.check === 'fault driver ready' && !e.ok && /nobody\.pid: ENOENT/.test(e.detail)),
    ).toBe(true);
    expect(r.events.some((e) => e.type === 'phase' && e.phase === 'inject')).toBe(false);
    expect(target.count()).toBe(before);
    const ledger = Ledger.open(state);
    try {
      expect(ledger.dayTotals().spentUsd).toBe(0);
    } finally {
      ledger.close();
    }
  });

  it('the watchdog thaws a frozen process when its controller is killed with SIGKILL', async () => {
    const target = counting();
    const dir = tempDir();
    const service = await startService(dir);
    // traffic goes to the counting target, so the frozen process breaches nothing and the fault stays in
    const file = writeFile(
      dir,
      'frozen.yaml',
      `name: frozen
target: { url: "${target.url}" }
traffic: { rps: 20 }
fault: { type: process-kill, pid: ${service.pid}, signal: SIGSTOP }
schedule: { warmup: 500ms, baseline: 2s, duration: 60s }
`,
    );
    const run = spawnCli(['run', '--experiment', file, ...common(join(dir, 'state'))]);
    await run.waitForEvent((e) => e.type === 'phase' && e.phase === 'observe');
    await waitUntil(() => processState(service.pid) === 'T', 2_000, 'the service is stopped');
    run.child.kill('SIGKILL');
    await run.done;
    await waitUntil(() => processState(service.pid) !== 'T', 10_000, 'the watchdog sends SIGCONT');
    expect(processState(service.pid)).toMatch(/[SR]/);
  });
});
