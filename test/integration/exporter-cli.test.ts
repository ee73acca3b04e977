// `gameday exporter` through the real CLI, as a long-lived child process: its numbers equal
// `budget-status --json` after real runs of the embedded demo made while it serves, a real
// Prometheus scraping it reports the same day spend, no ledger reads as zero and creates none, a
// port in use is exit 1, a ledger made unreadable mid-life does not end it, signals close it (exit 0).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { BudgetStatus } from '../../src/budget/budget-status.ts';
import { LEDGER_FILE, Ledger } from '../../src/budget/sqlite-ledger.ts';
import { BIN, ROOT, runCli, summaryOf, tempDir, writeFile } from '../helpers/cli.ts';
import { parseExposition } from '../helpers/exposition.ts';
import { listenOnLoopback } from '../helpers/loopback.ts';
import { describeWith, queryProm, startPrometheus, type Running } from '../helpers/monitoring.ts';
import { waitUntil } from '../helpers/wait.ts';

interface Exporter {
  child: ChildProcess;
  url: string;
  /** host:port, for a scrape config */
  target: string;
  stderr(): string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function spawnExporter(args: string[]): { child: ChildProcess; stdout(): string; stderr(): string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, 'exporter', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function startExporter(stateDir: string, extra: string[] = []): Promise<Exporter> {
  const e = spawnExporter(['--port', '0', '--state-dir', stateDir, ...extra]);
  await waitUntil(() => /http:\S+\/metrics/.test(e.stdout()) || e.child.exitCode !== null, 30_000, 'the exporter says where it serves');
  const url = /http:\S+\/metrics/.exec(e.stdout())?.[0];
  if (!url) throw new Error(`exporter did not start: ${e.stderr()}`);
  return { ...e, url, target: new URL(url).host };
}

const scrape = async (url: string): Promise<Map<string, number>> => {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
};

async function budgetStatus(stateDir: string, extra: string[] = []): Promise<BudgetStatus> {
  const r = await runCli(['budget-status', '--json', '--state-dir', stateDir, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as BudgetStatus;
}

/** A short run of the embedded demo (a fault its defences absorb), as the CLI runs it. */
async function realRun(dir: string, stateDir: string): Promise<void> {
  const file = writeFile(
    dir,
    'short.yaml',
    `name: exporter-short
fault: { type: latency, latency: 50ms, probability: 0.1 }
schedule: { warmup: 250ms, baseline: 2s, duration: 1s, recoveryWindow: 500ms }
`,
  );
  const args = ['run', '--experiment', file, '--duration', '1s', '--rps', '20', '--metrics-port', '0', '--output', 'json'];
  const r = await runCli([...args, '--state-dir', stateDir]);
  // absorbed (0); a breach (3) on a machine slow enough to breach would do as well: it spent too
  expect([0, 3], r.stderr).toContain(r.code);
  expect(summaryOf(r).spentUsd).toBeGreaterThan(0);
}

/** The exporter's numbers as budget-status's JSON gives them. */
function expectEqual(m: Map<string, number>, status: BudgetStatus): void {
  expect(m.get('gameday_ledger_up')).toBe(1);
  expect(m.get('gameday_ledger_spent_dollars{scope="day"}')).toBe(status.day.spentUsd);
  expect(m.get('gameday_ledger_limit_dollars{scope="day"}')).toBe(status.day.capUsd);
  expect(m.get('gameday_ledger_reserved_dollars')).toBe(status.day.reservedUsd);
  expect(m.get('gameday_ledger_running_experiments')).toBe(status.running.length);
  expect(m.get('gameday_emergency_stop_latched')).toBe(status.stopLatch.latched ? 1 : 0);
  for (const s of new Set(status.experiments.map((e) => e.status)))
    expect(m.get(`gameday_ledger_experiments_total{status="${s}"}`)).toBe(status.experiments.filter((e) => e.status === s).length);
}

describe('gameday exporter, the real CLI', () => {
  it('equals budget-status --json after real runs made while it serves (they do not wait on it)', async () => {
    const dir = tempDir();
    const stateDir = join(dir, 'state');
    const exporter = await startExporter(stateDir);
    expect((await scrape(exporter.url)).get('gameday_ledger_spent_dollars{scope="day"}')).toBe(0);
    for (let i = 0; i < 3; i++) {
      await realRun(dir, stateDir);
      await scrape(exporter.url); // a scrape between runs: it holds its connection across them
    }
    const status = await budgetStatus(stateDir);
    expect(status.experiments).toHaveLength(3);
    expect(status.day.spentUsd).toBeGreaterThan(0);
    expectEqual(await scrape(exporter.url), status);
    exporter.child.kill('SIGTERM');
    expect(await exporter.exited).toBe(0);
    expect(exporter.stderr()).toContain('SIGTERM: closed');
  });

  it('no ledger: zero spend, the cap from the config, and nothing created', async () => {
    const dir = tempDir();
    const stateDir = join(dir, 'state');
    const config = writeFile(dir, 'gameday.yaml', 'budget: { dailyCapUsd: 42 }\n');
    const exporter = await startExporter(stateDir, ['--config', config]);
    const m = await scrape(exporter.url);
    expect(m.get('gameday_ledger_spent_dollars{scope="day"}')).toBe(0);
    expect(m.get('gameday_ledger_limit_dollars{scope="day"}')).toBe(42);
    expectEqual(m, await budgetStatus(stateDir, ['--config', config]));
    exporter.child.kill('SIGINT');
    expect(await exporter.exited).toBe(0);
    expect(existsSync(stateDir)).toBe(false);
    expect(readdirSync(dir)).toEqual(['gameday.yaml']);
  });

  it('a port in use: exit 1, naming it', async () => {
    const taken = await listenOnLoopback(createServer((_req, res) => res.end()));
    try {
      const e = spawnExporter(['--port', String(taken.port), '--state-dir', join(tempDir(), 'state')]);
      expect(await e.exited).toBe(1);
      expect(e.stderr()).toContain(`127.0.0.1:${taken.port} is in use`);
      const bad = spawnExporter(['--port', '70000', '--state-dir', join(tempDir(), 'state')]);
      expect(await bad.exited).toBe(1);
      expect(bad.stderr()).toContain('--port');
    } finally {
      await taken.close();
    }
  });

  it('a ledger made unreadable mid-life: it keeps serving (up 0, no ledger numbers), and reads it again once repaired', async () => {
    const dir = tempDir();
    const stateDir = join(dir, 'state');
    const w = Ledger.open(stateDir);
    const a = w.registerExperiment({ name: 'x', experimentCapUsd: 10, dailyCapUsd: 20, costPerRequestUsd: 0.001 });
    await a.reserve(500);
    await a.finish('passed', 500);
    w.close();
    const file = join(stateDir, LEDGER_FILE);
    const good = readFileSync(file);
    const exporter = await startExporter(stateDir);
    expect((await scrape(exporter.url)).get('gameday_ledger_spent_dollars{scope="day"}')).toBe(0.5);

    writeFileSync(join(dir, 'garbage'), 'garbage '.repeat(1000));
    renameSync(join(dir, 'garbage'), file);
    for (let i = 0; i < 3; i++) expect(await scrape(exporter.url)).toEqual(new Map([['gameday_ledger_up', 0]]));
    expect(exporter.child.exitCode).toBeNull();
    expect(exporter.stderr()).toMatch(/cannot read the ledger .*not a database/);

    writeFileSync(file, good);
    expect((await scrape(exporter.url)).get('gameday_ledger_spent_dollars{scope="day"}')).toBe(0.5);
    exporter.child.kill('SIGTERM');
    expect(await exporter.exited).toBe(0);
  });
});

/** `read()` until `ok` holds of what it gives, for up to 20 s (Prometheus scrapes each second); the last value. */
async function pollUntil<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  let v = await read();
  while (!ok(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    v = await read();
  }
  return v;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describeWith(['prometheus'], 'gameday exporter scraped by a real Prometheus', () => {
  it('reports the day spend budget-status --json shows, after several runs', async () => {
    const dir = tempDir();
    const stateDir = join(dir, 'state');
    const exporter = await startExporter(stateDir);
    const prom: Running = await startPrometheus({ targets: [{ job: 'gameday-exporter', target: exporter.target }] });
    cleanups.push(prom.close);
    const daySpend = async (): Promise<string | undefined> =>
      (await queryProm(prom.url, 'gameday_ledger_spent_dollars{job="gameday-exporter",scope="day"}'))[0]?.value[1];
    // scraped from before the first run (no ledger yet: $0), through the runs, to after them
    expect(await pollUntil(daySpend, (v) => v === '0')).toBe('0');
    for (let i = 0; i < 2; i++) await realRun(dir, stateDir);
    const status = await budgetStatus(stateDir);
    expect(status.day.spentUsd).toBeGreaterThan(0);
    expect(await pollUntil(daySpend, (v) => v === String(status.day.spentUsd))).toBe(String(status.day.spentUsd));
    const up = await queryProm(prom.url, 'gameday_ledger_up{job="gameday-exporter"}');
    expect(up[0]?.value[1]).toBe('1');
    exporter.child.kill('SIGTERM');
    expect(await exporter.exited).toBe(0);
  });
});
