// Runs a doc block as a reader would, from a checkout: each markdown file gets a fresh working dir
// that looks like one (bin/, scripts/, config/ linked to the repo's, `npx gameday` and `gameday`
// resolving to this repo's bin without the registry) and a state dir of its own. The blocks of one
// file run in order in that dir, so a later block may use what an earlier one wrote (an experiment
// file, a journal, the ledger).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DocBlock } from './doc-blocks.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');

export interface Workspace {
  dir: string;
  env: NodeJS.ProcessEnv;
}

export interface BlockResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** The developer's own gameday and PostgreSQL settings must not reach a block: it sees the defaults. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(GAMEDAY_|PG|XDG_STATE_HOME$|NODE_ENV$)/.test(k)));
}

export function makeWorkspace(prefix = 'gameday-doctest-'): Workspace {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const name of ['bin', 'scripts', 'config']) symlinkSync(join(ROOT, name), join(dir, name));
  const binDir = join(dir, 'node_modules', '.bin');
  mkdirSync(binDir, { recursive: true });
  symlinkSync(join(ROOT, 'bin', 'gameday.js'), join(binDir, 'gameday'));
  const env: NodeJS.ProcessEnv = {
    ...cleanEnv(),
    PATH: `${binDir}:${process.env.PATH ?? ''}`,
    GAMEDAY_STATE_DIR: join(dir, 'state'),
    XDG_STATE_HOME: join(dir, 'xdg-state'),
    CI: 'true',
    NO_COLOR: '1',
    // npx finds gameday in node_modules/.bin; anything else must fail here, not reach the registry
    npm_config_offline: 'true',
    npm_config_update_notifier: 'false',
  };
  return { dir, env };
}

export function hasProgram(name: string): boolean {
  return spawnSync('bash', ['-c', 'command -v "$1"', 'has', name], { stdio: 'ignore' }).status === 0;
}

/** What bash runs for a block. A failing command names its markdown line on stderr. */
function scriptFor(block: DocBlock): string {
  if (block.kind === 'yaml') {
    const name = block.saveAs ?? `doctest-${block.line}.yaml`;
    const write = `cat > '${name}' <<'DOCTEST_EOF'\n${block.body}DOCTEST_EOF\n`;
    // `gameday` rather than `npx gameday`: the same bin, without npx's start-up. A config file is
    // checked as the --config of an experiment that asks nothing of its own (no budget, no SLOs).
    if (!block.config) return `${write}gameday validate '${name}'\n`;
    const experiment = `.doctest-${block.line}-experiment.yaml`;
    return `${write}printf 'name: config-check\\nfault: { type: latency, latency: 1ms }\\n' > '${experiment}'\ngameday validate '${experiment}' --config '${name}'\n`;
  }
  // the trap is line 1, so the block's line k is script line k + 1: markdown line fence + k
  return `trap 'echo "doctest: ${block.file}:$((${block.line} + LINENO - 1)) exited $?" >&2' ERR\n${block.body}`;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

/** Runs one block in the workspace; never throws for the block's own failure. */
export async function runBlock(block: DocBlock, ws: Workspace): Promise<BlockResult> {
  const script = join(ws.dir, `.doctest-${block.line}.sh`);
  writeFileSync(script, scriptFor(block));
  const startedMs = performance.now();
  // its own process group: a timeout, or a background job the block left, is ended with it
  const child = spawn('bash', ['--noprofile', '--norc', '-euo', 'pipefail', script], {
    cwd: ws.dir,
    env: ws.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  let timedOut = false;
  // SIGTERM first: a gameday run rolls back on it; SIGKILL if it has not ended 5 s later
  const term = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid!, 'SIGTERM');
  }, block.timeoutMs);
  const kill = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), block.timeoutMs + 5_000);
  const closed = new Promise<void>((res) => child.on('close', () => res()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('exit', (c, s) => res([c, s])));
  clearTimeout(term);
  clearTimeout(kill);
  // a background job the block left holds its output open: end it, then take what it printed
  killGroup(child.pid!, 'SIGTERM');
  await Promise.race([closed, new Promise((res) => setTimeout(res, 5_000))]);
  return { code, signal, timedOut, stdout, stderr, durationMs: Math.round(performance.now() - startedMs) };
}

const tail = (text: string, lines: number): string => text.trimEnd().split('\n').slice(-lines).join('\n');

/** Why a block's result is not what its marker asks, or null when it is. */
export function blockFailure(block: DocBlock, r: BlockResult): string | null {
  if (!r.timedOut && r.code === block.exit) return null;
  const got = r.timedOut ? `was killed after ${block.timeoutMs / 1000} s` : r.code === null ? `died of ${r.signal}` : `exited ${r.code}`;
  return (
    `${block.file}:${block.line}: the ${block.kind} block ${got}, expected exit ${block.exit}\n` +
    `--- block\n${block.body}--- stdout (last lines)\n${tail(r.stdout, 30)}\n--- stderr (last lines)\n${tail(r.stderr, 30)}`
  );
}
