// Runs the real CLI as a child process (node + tsx loader), as a user or a script would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { GamedayEvent } from '../../src/engine/events.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'gameday.js');
/** The spec's interface: a bash script that passes every argument through to the CLI. */
const SPEC_SCRIPT = join(ROOT, 'scripts', 'chaos-engineering.sh');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  events: GamedayEvent[];
}

export function tempDir(prefix = 'gameday-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** NDJSON lines; a torn last line (the process was killed mid-write) is skipped. */
function parseLine(line: string): GamedayEvent | null {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line) as GamedayEvent;
  } catch {
    return null;
  }
}

function parseEvents(stdout: string): GamedayEvent[] {
  return stdout.split('\n').flatMap((l) => parseLine(l) ?? []);
}

export interface Spawned {
  child: ChildProcess;
  done: Promise<CliResult>;
  /** resolves when an NDJSON event matching `pred` has been printed */
  waitForEvent(pred: (e: GamedayEvent) => boolean, timeoutMs?: number): Promise<GamedayEvent>;
}

export function spawnCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string; viaSpecScript?: boolean } = {},
): Spawned {
  const [program, argv] = opts.viaSpecScript ? ['bash', [SPEC_SCRIPT, ...args]] : [process.execPath, [BIN, ...args]];
  const child = spawn(program, argv, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { pred: (e: GamedayEvent) => boolean; resolve: (e: GamedayEvent) => void }[] = [];
  let pending = '';
  // utf8 decoding across chunks: a '→' split between two reads must not become garbage
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    stdout += text;
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const event = parseLine(line);
      if (!event) continue;
      for (const w of [...waiters])
        if (w.pred(event)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(event);
        }
    }
  });
  child.stderr.on('data', (text: string) => (stderr += text));
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  const done = new Promise<CliResult>((resolveDone) => {
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolveDone({ code, signal, stdout, stderr, events: parseEvents(stdout) });
    });
  });
  return {
    child,
    done,
    waitForEvent: (pred, timeoutMs = 60_000) =>
      new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error(`no matching event within ${timeoutMs}ms; stderr: ${stderr.slice(-500)}`)), timeoutMs);
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(t);
            res(e);
          },
        });
      }),
  };
}

export function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string; viaSpecScript?: boolean } = {},
): Promise<CliResult> {
  return spawnCli(args, opts).done;
}

export function summaryOf(r: CliResult) {
  const s = r.events.find((e) => e.type === 'summary');
  if (!s || s.type !== 'summary')
    throw new Error(`no summary event; exit ${r.code}; stderr: ${r.stderr.slice(-800)}; stdout tail: ${r.stdout.slice(-800)}`);
  return s;
}

/** `gameday run` of `file`, headless NDJSON, no /metrics port (tests run side by side), then `more`. */
export const runJsonArgs = (file: string, ...more: string[]): string[] => [
  'run',
  '--experiment',
  file,
  '--headless',
  '--output',
  'json',
  '--metrics-port',
  '0',
  ...more,
];
