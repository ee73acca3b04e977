// Spawning test/helpers/ledger-child.ts and reading its line protocol.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./ledger-child.ts', import.meta.url));

export interface LedgerChild {
  proc: ChildProcess;
  pid: number;
  lines: string[];
  /** resolves with the first line starting with `prefix` (already seen or to come) */
  line(prefix: string): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

export function spawnLedgerChild(args: string[]): LedgerChild {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<{ prefix: string; resolve: (l: string) => void }> = [];
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters.filter((w) => l.startsWith(w.prefix))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(l);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const line = (prefix: string) =>
    new Promise<string>((resolve, reject) => {
      const seen = lines.find((l) => l.startsWith(prefix));
      if (seen !== undefined) return resolve(seen);
      waiters.push({ prefix, resolve });
      void exited.then(({ code, signal }) => reject(new Error(`child exited (${code ?? signal}) before "${prefix}": ${err}`)));
    });
  return { proc, pid: proc.pid!, lines, line, exited, stderr: () => err };
}
