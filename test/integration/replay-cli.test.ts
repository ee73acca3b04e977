// `gameday replay` through the real CLI, headless: a real breach run against the embedded demo is
// recorded, then played back as the NDJSON the run printed (same events), at the pace asked for, as
// text where stdout is not a terminal; it opens no ledger and creates nothing; bad input is exit 1
// naming what is wrong, without a stack trace.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GamedayEvent } from '../../src/engine/events.ts';
import { runCli, runJsonArgs, spawnCli, summaryOf, tempDir, writeFile, type CliResult } from '../helpers/cli.ts';

let dir = '';
let journal = '';
let live: CliResult;

beforeAll(async () => {
  dir = tempDir('gameday-replay-cli-');
  journal = join(dir, 'breach.json');
  const file = writeFile(
    dir,
    'breach.yaml',
    `name: replay-breach
traffic: { rps: 100 }
fault: { type: latency, latency: 800ms }
schedule: { baseline: 2s, duration: 60s, recoveryWindow: 1s }
`,
  );
  live = await runCli(runJsonArgs(file, '--journal', journal, '--state-dir', join(dir, 'state')));
  expect(live.code, live.stderr).toBe(3);
}, 90_000);

/** The replay's own environment: no state dir of the test's, a ledger URL nothing answers. */
function isolated() {
  const home = tempDir('gameday-replay-home-');
  return {
    home,
    env: { XDG_STATE_HOME: home, HOME: home, GAMEDAY_STATE_DIR: '', GAMEDAY_LEDGER_URL: 'postgres://nobody@127.0.0.1:1/none' },
  };
}

describe('gameday replay, headless', () => {
  it('--output json prints the events the run printed, in order, the summary last; exit 0 whatever the run ended with', async () => {
    const { home, env } = isolated();
    const r = await runCli(['replay', journal, '--output', 'json', '--speed', '1000'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.events.length).toBeGreaterThan(20);
    expect(r.events).toEqual(live.events);
    expect(summaryOf(r)).toMatchObject({ status: 'breach', exitCode: 3 });
    // read only: no ledger, no state dir, no journal written anywhere
    expect(readdirSync(home)).toEqual([]);
  });

  it('plays at the recorded pace times --speed', async () => {
    const events = live.events;
    const spanMs = events.at(-1)!.ts - events[0].ts;
    expect(spanMs).toBeGreaterThan(2_500);
    const speed = 2;
    const child = spawnCli(['replay', journal, '--output', 'json', '--speed', String(speed)]);
    let firstAt = 0;
    let lastAt = 0;
    child.child.stdout!.on('data', () => {
      lastAt = Date.now();
      firstAt ||= lastAt;
    });
    const r = await child.done;
    expect(r.code, r.stderr).toBe(0);
    const playedMs = lastAt - firstAt;
    const expectedMs = spanMs / speed;
    // timers and a shared machine add a little; never faster than asked
    expect(playedMs).toBeGreaterThan(expectedMs * 0.9);
    expect(playedMs).toBeLessThan(expectedMs * 1.25 + 300);
  });

  it('prints text where stdout is not a terminal and no --output is asked for', async () => {
    const { env } = isolated();
    const r = await runCli(['replay', journal, '--speed', '1000'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/!! SLO breach: p95 latency/);
    expect(r.stdout).toMatch(/result: BREACH \(exit 3\)/);
    expect(r.events).toEqual([]);
  });

  it('a bad --speed is exit 1 naming the flag, nothing played', async () => {
    for (const speed of ['0', '0.05', '1001', 'fast', '-1']) {
      const r = await runCli(['replay', journal, '--output', 'json', '--speed', speed]);
      expect(r.code, `${speed}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(/--speed/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    }
  });

  it('a file that is not a journal, or one without events, is exit 1 with what is wrong', async () => {
    const empty = join(dir, 'empty.json');
    writeFileSync(
      empty,
      `${JSON.stringify({ journal: 'gameday', version: 2, experimentId: 'x1', name: 'n', startedAt: new Date().toISOString(), plan: {} })}\n`,
    );
    const cases: [string, RegExp][] = [
      [join(dir, 'breach.yaml'), /not a gameday journal/],
      [join(dir, 'missing.json'), /file not found/],
      [dir, /directory/],
      [empty, /no events: nothing to replay/],
    ];
    for (const [path, message] of cases) {
      const r = await runCli(['replay', path, '--output', 'json']);
      expect(r.code, `${path}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    }
  });

  it('a reader that goes away ends the replay, exit 0', async () => {
    const child = spawnCli(['replay', journal, '--output', 'json', '--speed', '1']);
    const first: GamedayEvent = await child.waitForEvent(() => true, 15_000);
    expect(first.type).toBe('experiment');
    child.child.stdout!.destroy();
    const r = await child.done;
    expect(r.code, r.stderr).toBe(0);
  });
});
