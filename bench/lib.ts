// Shared bits of the benchmarks: statistics, formatting, the demo in its own process, the CLI.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = resolve(import.meta.dirname, '..');
export const nowMs = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Median of the finite values; NaN when there are none. */
export function median(values: readonly (number | null | undefined)[]): number {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function fmtMs(ms: number | null | undefined): string {
  return typeof ms === 'number' && Number.isFinite(ms) ? `${Math.round(ms)} ms` : '—';
}

export function fmtNum(n: number | null | undefined, digits = 0): string {
  return typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : '—';
}

export function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? (a / b).toFixed(2) : '—';
}

/** A fixed-width table row. */
export function row(cells: readonly (string | number)[], widths: readonly number[]): string {
  return cells.map((c, i) => String(c).padStart(widths[i] ?? 10)).join('  ');
}

export function intArg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(`${name}: expected a positive whole number, got ${args[i + 1]}\n`);
    process.exit(1);
  }
  return n;
}

export function machineLine(): string {
  const c = cpus();
  const la = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  return `${new Date().toISOString()} · node ${process.version} · ${c.length} cores (${c[0]?.model.trim() ?? '?'}) · load avg ${la}`;
}

export interface DemoProcess {
  targetUrl: string;
  proxyUrl: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The embedded demo in its own process (src/demo/serve.ts), so it does not share our event loop. */
export async function spawnDemo(extraArgs: string[] = []): Promise<DemoProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/demo/serve.ts', ...extraArgs], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((res, rej) => {
    const t = setTimeout(() => rej(new Error('demo did not print its URLs within 30 s')), 30_000);
    lines.once('line', (l) => {
      clearTimeout(t);
      res(l);
    });
    child.once('exit', (code) => rej(new Error(`demo exited (${code}) before printing its URLs`)));
  });
  const info = JSON.parse(first) as { targetUrl: string; proxyUrl: string };
  return {
    ...info,
    child,
    stop: () =>
      new Promise<void>((res) => {
        if (child.exitCode !== null) return res();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(kill);
          res();
        });
        child.kill('SIGTERM');
      }),
  };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  events: Array<Record<string, unknown> & { type: string; ts: number }>;
}

/** The real CLI (bin/gameday.js) as a child process; killed after `timeoutMs`. */
export function runCli(args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const child = spawn(process.execPath, ['bin/gameday.js', ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((res) => {
    child.on('close', (code) => {
      clearTimeout(killer);
      const events = stdout.split('\n').flatMap((l) => {
        if (!l.startsWith('{')) return [];
        try {
          return [JSON.parse(l) as CliRun['events'][number]];
        } catch {
          return [];
        }
      });
      res({ code, stdout, stderr, events });
    });
  });
}
