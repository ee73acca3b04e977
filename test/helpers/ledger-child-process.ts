// Spawning test/helpers/ledger-child.ts and reading its line protocol.
//
// The child runs as plain JavaScript, transpiled once per test run with TypeScript (a dev
// dependency): `node --import tsx` costs ~0.4 s of CPU per process, which for the 50 killed
// controllers of the concurrency test would be most of the file's time on a 2-core machine.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHILD_TS = join(REPO, 'test/helpers/ledger-child.ts');
// Under the repo, so that `import 'better-sqlite3'` resolves to the repo's node_modules.
const OUT_DIR = join(REPO, 'node_modules/.cache/gameday-ledger-child');

let compiled: string | undefined;

/** Transpile the child and every module it reaches by relative import; returns the child's .js path. */
function compileChild(): string {
  if (compiled) return compiled;
  const pending = [CHILD_TS];
  const seen = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(/(?:from|import)\s+['"](\.{1,2}\/[^'"]+\.ts)['"]/g)) pending.push(resolve(dirname(file), m[1]));
    const { outputText } = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        rewriteRelativeImportExtensions: true,
      },
    });
    const out = join(OUT_DIR, relative(REPO, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(out), { recursive: true });
    // write-then-rename: another test process may be reading the same file right now
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, outputText);
    renameSync(tmp, out);
  }
  writeFileSync(join(OUT_DIR, 'package.json'), '{"type":"module"}\n');
  compiled = join(OUT_DIR, relative(REPO, CHILD_TS)).replace(/\.ts$/, '.js');
  return compiled;
}

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
  const proc = spawn(process.execPath, [compileChild(), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<{ prefix: string; resolve: (l: string) => void }> = [];
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  createInterface({ input: proc.stdout }).on('line', (l) => {
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
