// A real headless Chromium (Debian's package) for looking at what gameday renders for a browser: a
// screenshot, the DOM after parsing. Each run gets its own throwaway profile and is killed (its whole
// process group) after a timeout. Missing: the suite fails with the line that installs it, as the
// other real-component helpers do (postgres.ts), never a silent skip.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { beforeAll, describe } from 'vitest';

const MISSING = 'chromium not installed: apt-get install chromium';
const NAMES = ['chromium', 'chromium-browser', 'google-chrome'];

function chromiumBinary(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs.filter(Boolean))
    for (const name of NAMES) {
      try {
        accessSync(join(dir, name), constants.X_OK);
        return join(dir, name);
      } catch {
        // not here
      }
    }
  return null;
}

/** A describe() that needs Chromium: when it is missing, every test in it fails naming the package. */
export function describeWithChromium(name: string, fn: () => void): void {
  describe(name, () => {
    beforeAll(() => {
      if (chromiumBinary() === null) throw new Error(MISSING);
    });
    fn();
  });
}

export interface ChromiumResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Chromium headless with `args` (e.g. --screenshot=… or --dump-dom, then a file:// URL). As root it
 * needs --no-sandbox; --disable-dev-shm-usage because a container's /dev/shm is often tiny.
 */
export function runChromium(args: string[], timeoutMs = 60_000): Promise<ChromiumResult> {
  const bin = chromiumBinary();
  if (!bin) return Promise.reject(new Error(MISSING));
  const profile = mkdtempSync(join(tmpdir(), 'gameday-chromium-'));
  const child = spawn(
    bin,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--no-default-browser-check',
      '--hide-scrollbars',
      `--user-data-dir=${profile}`,
      ...args,
    ],
    // its own process group: the timeout kills the renderers and the GPU process too
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: profile } },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout += t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const kill = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(kill, timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      kill(); // a straggler of the group, if any
      rmSync(profile, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    });
  });
}
