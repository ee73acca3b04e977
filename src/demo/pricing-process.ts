// The demo's primary pricing dependency as a process of its own, for `process-kill` game days: there
// must be a real process to kill and a real restart to bring it back.
//
//   start  launch a detached `serve`, wait until it listens, print {"pid","url"} and exit 0: what a
//          service manager's restart does, so the engine's rollback is an ordinary restart command.
//   serve  listen on --port (0: any), write --pid-file, and exit when the gameday process named by
//          --parent-pid is gone: a killed controller must not leave the demo's dependency behind.
//
// node --import <tsx> src/demo/pricing-process.ts start|serve --port N --host H --pid-file F --parent-pid P
import { spawn } from 'node:child_process';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ROOT_DIR } from '../config/package-root.ts';
import { pidAlive } from '../faults/pid.ts';
import { dependencyServer, listen } from './pricing-server.ts';

/**
 * This script, to run as a process: itself from the sources; bundled (dist/), the entry point that
 * runs it (this module's own import.meta.url is then a shared chunk's, which does nothing run alone).
 */
const SCRIPT = import.meta.url.endsWith('.ts') ? fileURLToPath(import.meta.url) : join(ROOT_DIR, 'dist', 'pricing-process.js');
/** how long `start` waits for `serve` to listen */
const READY_TIMEOUT_MS = 15_000;
const PARENT_POLL_MS = 500;

export interface PricingProcessArgs {
  port: number;
  host: string;
  pidFile: string;
  parentPid: number;
}

/**
 * The argv of `start`, run with this Node: the demo's start and restart command. Compiled (dist/),
 * the script is plain JavaScript; from the sources (a dev checkout) it goes through tsx.
 */
export function pricingStartArgv(args: PricingProcessArgs): string[] {
  const loader = SCRIPT.endsWith('.ts') ? ['--import', tsxLoaderUrl()] : [];
  return [process.execPath, ...loader, SCRIPT, 'start', ...flags(args)];
}

function flags(a: PricingProcessArgs): string[] {
  return ['--port', String(a.port), '--host', a.host, '--pid-file', a.pidFile, '--parent-pid', String(a.parentPid)];
}

/** tsx's ESM loader as a file URL, so the child resolves it from anywhere, not from its cwd. */
function tsxLoaderUrl(): string {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Record<string, unknown> };
  return pathToFileURL(join(dirname(pkgPath), String(pkg.exports['.']))).href;
}

function parse(argv: string[]): { mode: string; args: PricingProcessArgs } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { port: { type: 'string' }, host: { type: 'string' }, 'pid-file': { type: 'string' }, 'parent-pid': { type: 'string' } },
  });
  const port = Number(values.port ?? 0);
  const parentPid = Number(values['parent-pid']);
  const mode = positionals[0] ?? '';
  if (!['start', 'serve'].includes(mode)) throw new Error(`expected start or serve, got "${mode}"`);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port: expected 0-65535, got ${values.port}`);
  if (!Number.isInteger(parentPid) || parentPid <= 0) throw new Error(`--parent-pid: expected a pid, got ${values['parent-pid']}`);
  if (!values['pid-file']) throw new Error('--pid-file is required');
  return { mode, args: { port, host: values.host ?? '127.0.0.1', pidFile: values['pid-file'], parentPid } };
}

async function start(args: PricingProcessArgs): Promise<number> {
  if (!pidAlive(args.parentPid)) {
    // The controller that owned the demo is gone, and the demo with it: nothing to bring back.
    process.stdout.write(`{"skipped":"gameday process ${args.parentPid} is gone"}\n`);
    return 0;
  }
  const child = spawn(process.execPath, [...process.execArgv, SCRIPT, 'serve', ...flags(args)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = await new Promise<string | null>((resolve) => {
    let out = '';
    const timer = setTimeout(() => resolve(null), READY_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(null);
    });
  });
  if (ready === null) {
    child.kill('SIGKILL');
    process.stderr.write(`pricing dependency did not start: ${stderr.trim().slice(-500) || 'no answer'}\n`);
    return 1;
  }
  // Let it go: it must outlive this launcher, as a restarted service outlives `systemctl restart`.
  child.stdout.destroy();
  child.stderr.destroy();
  child.unref();
  process.stdout.write(ready + '\n');
  return 0;
}

async function serve(args: PricingProcessArgs): Promise<void> {
  // The launcher hangs up its end of our pipes once we are ready; later writes must not kill us.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  const server = dependencyServer('primary', () => {});
  const listener = await listen(server, args.host, args.port);
  const tmp = `${args.pidFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${process.pid}\n`);
  renameSync(tmp, args.pidFile);
  const stop = (): void => {
    try {
      if (readFileSync(args.pidFile, 'utf8').trim() === String(process.pid)) rmSync(args.pidFile, { force: true });
    } catch {
      // already gone
    }
    void listener.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  setInterval(() => {
    if (!pidAlive(args.parentPid)) stop();
  }, PARENT_POLL_MS);
  process.stdout.write(JSON.stringify({ pid: process.pid, url: listener.url }) + '\n');
}

if (process.argv[1] === SCRIPT) {
  try {
    const { mode, args } = parse(process.argv.slice(2));
    if (mode === 'start') process.exitCode = await start(args);
    else await serve(args);
  } catch (err) {
    process.stderr.write(`pricing-process: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
